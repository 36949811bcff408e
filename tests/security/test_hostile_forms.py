"""Hostile posts to the two other ways a response comes in: the kiosk's form without JavaScript
and the officers' paper entry page. Never a server error; a response is stored only when the page
says so (a redirect), and then exactly one."""

import uuid

from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from fieldwork.models import Response
from tests.fieldwork.base import KioskTestCase, full_answers
from tests.security.test_hostile_input import HOSTILE, ITEM_CODES

FORM_TEXT = st.one_of(
    st.text(max_size=30).map(lambda t: "".join(c for c in t if not 0xD800 <= ord(c) <= 0xDFFF)),
    st.sampled_from(["\x00", "4\x00", "\u202e5", "٤", "4.0", "-1", "99999999999999999999", "x" * 5000, "",
                     "2026-02-30", "0001-01-01", "not-a-uuid", str(uuid.uuid4()), "land", "yes", "public_portal"]),
)
FIELDS = st.sampled_from(ITEM_CODES + ["response_id", "started_at", "dossier_code", "unit", "form_date", "form_id",
                                       "csrfmiddlewaretoken", "lang"])


def form_data(overrides):
    data = {code: (";".join(v) if isinstance(v, list) else str(v)) for code, v in full_answers().items()}
    data["E.INFO"] = full_answers()["E.INFO"]  # a multiple choice is a list of values
    data.update(overrides)
    return data


class HostileFormTests(HypothesisTestCase, KioskTestCase):
    @HOSTILE
    @given(overrides=st.dictionaries(FIELDS, FORM_TEXT | st.lists(FORM_TEXT, max_size=3), max_size=4))
    @example(overrides={"started_at": "2026-02-30T10:00:00+07:00"})
    @example(overrides={"dossier_code": "ABC\u200b"})
    @example(overrides={"response_id": "\x00"})
    @example(overrides={"F1.1": ["4", "5"]})
    def test_the_form_without_javascript_stores_once_or_shows_the_form_again(self, overrides):
        self.client.cookies["sipas_kiosk"] = self.token
        before = Response.objects.count()

        page = self.client.post(reverse("fieldwork:kiosk-form"), form_data(overrides))

        self.assertIn(page.status_code, (200, 302))
        self.assertEqual(Response.objects.count(), before + (1 if page.status_code == 302 else 0))

    @HOSTILE
    @given(overrides=st.dictionaries(FIELDS, FORM_TEXT | st.lists(FORM_TEXT, max_size=3), max_size=4))
    @example(overrides={"unit": "\x00"})
    @example(overrides={"form_date": "0001-01-01"})
    @example(overrides={"form_id": "not-a-uuid"})
    def test_the_paper_entry_page_stores_once_or_shows_the_form_again(self, overrides):
        self.client.force_login(self.officer)
        before = Response.objects.count()
        data = form_data({"unit": "02212", "form_date": "2026-11-01", "form_id": str(uuid.uuid4()),
                          **overrides})

        page = self.client.post(reverse("fieldwork:paper-entry", args=[self.round.pk]), data)

        self.assertIn(page.status_code, (200, 302))
        self.assertEqual(Response.objects.count(), before + (1 if page.status_code == 302 else 0))

    def test_the_untouched_forms_are_stored_so_the_properties_above_test_something(self):
        self.client.cookies["sipas_kiosk"] = self.token
        self.assertEqual(self.client.post(reverse("fieldwork:kiosk-form"), form_data({})).status_code, 302)
        self.client.force_login(self.officer)
        paper = self.client.post(reverse("fieldwork:paper-entry", args=[self.round.pk]), form_data(
            {"unit": "02212", "form_date": "2026-11-01", "form_id": str(uuid.uuid4())}))

        self.assertEqual(paper.status_code, 302)
        self.assertEqual(sorted(Response.objects.values_list("channel", flat=True)), [2, 3])  # paper, web form
