"""Hostile posts to the two other ways a response comes in: the kiosk's form without JavaScript
and the officers' paper entry page. Never a server error; a response is stored only when the page
says so (a redirect), and then exactly one."""

import uuid

from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from fieldwork.models import (
    Dossier,
    DossierList,
    Exclusion,
    ExclusionLog,
    Kiosk,
    Quota,
    Response,
    Round,
    Sample,
    SampleMember,
)
from fieldwork.responses import response_submit
from fieldwork.sampling import dossier_list_import
from questionnaires.models import QuestionnaireVersion
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


# ---------------------------------------------------------------------------------------------
# Every staff form: never a server error, and nothing stored unless the page says it was.

STAFF_TEXT = st.one_of(
    FORM_TEXT,
    st.sampled_from(["0", "1", "2147483647", "2147483648", "-2147483649", "-0", "1e10", "3.5", "9" * 30,
                     "9" * 5000, "\x01", "a\x1bb", "08\x00", "\u2067x", "\ud7ff", "9999-12-31", "10000-01-01",
                     "2026-12-31", "02212", "08", "land", "E.FIELD", "flag", "close", "on", "unit", "unit_field",
                     "unit,service_field", "none", "0.05"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def snapshot():
    """Everything a staff form may change, as plain values."""
    return {
        "rounds": sorted(Round.objects.values_list("pk", "name", "status", "period_start", "period_end",
                                                   "ask_dossier_code", "quota_policy", "score_over_quota")),
        "kiosks": sorted(Kiosk.objects.values_list("pk", "name", "unit_id", "revoked_at")),
        "quotas": sorted(Quota.objects.values_list("unit_id", "stratum_item", "stratum_value", "target", "policy")),
        "exclusions": (Exclusion.objects.count(), ExclusionLog.objects.count()),
        "dossiers": (DossierList.objects.count(), Dossier.objects.count()),
        "samples": (Sample.objects.count(), SampleMember.objects.count()),
        "responses": Response.objects.count(),
    }


def said_success(answer):
    """The page says it stored something: a redirect without an error message, or the pairing page."""
    if answer.status_code == 200:
        return "fieldwork/kiosk_pairing.html" in [t.name for t in answer.templates]
    return answer.status_code == 302 and all(m.level_tag != "error" for m in get_messages(answer.wsgi_request))


class HostileStaffFormTests(HypothesisTestCase, KioskTestCase):
    """Each staff form is posted with its valid values, some of them replaced by hostile ones."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.response = response_submit(unit=cls.commune, kiosk=cls.kiosk, payload={
            "id": str(uuid.uuid4()), "round": cls.round.pk, "questionnaire": "sipas-2017",
            "submitted_at": timezone.now().isoformat(), "answers": full_answers()}).response
        cls.dossier_list = dossier_list_import(
            survey_round=cls.round, name="Hồ sơ", user=cls.province_officer,
            text="dossier_code,unit_code,service_field,completed_on\n"
                 + "".join(f"HS-{i:04d},02212,land,2026-11-0{1 + i % 9}\n" for i in range(20)))
        version = QuestionnaireVersion.objects.get(code="sipas-2017")
        cls.forms = {
            "round create": (reverse("fieldwork:round-list", args=["08"]), {
                "name": "Đợt 2", "questionnaire": version.pk, "period_start": "2027-01-01",
                "period_end": "2027-03-31", "quota_policy": "flag"}),
            "round edit": (reverse("fieldwork:round", args=[cls.round.pk]), {
                "name": "Quý IV", "period_start": "2026-10-01", "period_end": "2026-12-31", "quota_policy": "close",
                "score_over_quota": "on"}),
            "quota": (reverse("fieldwork:quotas", args=[cls.round.pk]), {
                "unit_code": "02212", "stratum_item": "E.FIELD", "stratum_value": "land", "target": "40",
                "policy": "close"}),
            "allocation save": (reverse("fieldwork:quota-allocate", args=[cls.round.pk]), {
                "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-unit": "02212", "form-0-field": "",
                "form-0-dossiers": "20", "form-0-target": "12"}),
            "kiosk register": (reverse("fieldwork:kiosk-list", args=["02212"]), {"name": "Quầy 2"}),
            "kiosk rename or move": (reverse("fieldwork:kiosk-update", args=[cls.kiosk.pk]), {
                "name": "Quầy một", "unit_code": "02212.TTPV"}),
            "exclusion": (reverse("fieldwork:exclude", args=[cls.round.pk]), {
                "response_id": str(cls.response.pk), "reason": "other", "note": "thử"}),
            "sample draw": (reverse("fieldwork:dossier-list", args=[cls.round.pk, cls.dossier_list.pk]), {
                "size": "5", "strata": "unit", "seed": "7", "min_per_stratum": "1"}),
            "dossier list upload": (reverse("fieldwork:dossier-lists", args=[cls.round.pk]), {"name": "Danh sách 2"}),
        }

    def upload(self):
        """A fresh file for each post (a posted file is read once)."""
        return SimpleUploadedFile("hs.csv", b"dossier_code,unit_code,service_field,completed_on\n"
                                            b"HS-9001,02212,land,2026-11-02\n", content_type="text/csv")

    def post_form(self, name, overrides):
        self.client.force_login(self.province_officer)
        url, data = self.forms[name]
        before = snapshot()

        files = {"file": self.upload()} if name == "dossier list upload" and "file" not in overrides else {}
        answer = self.client.post(url, {**data, **files, **overrides})

        self.assertLess(answer.status_code, 500)
        if not said_success(answer):
            self.assertEqual(snapshot(), before, f"{name} stored something but did not say so")
        return answer

    @HOSTILE
    @given(name=st.sampled_from(["round create", "round edit", "quota", "allocation save", "kiosk register",
                                 "kiosk rename or move", "exclusion", "sample draw", "dossier list upload"]),
           overrides=st.dictionaries(st.sampled_from([
               "name", "questionnaire", "period_start", "period_end", "quota_policy", "score_over_quota",
               "ask_dossier_code", "unit_code", "stratum_item", "stratum_value", "target", "policy",
               "form-TOTAL_FORMS", "form-INITIAL_FORMS", "form-0-unit", "form-0-field", "form-0-dossiers",
               "form-0-target", "response_id", "reason", "note", "size", "strata", "seed", "min_per_stratum",
               "file"]),
               STAFF_TEXT, max_size=3))
    @example(name="quota", overrides={"target": "2147483648"})
    @example(name="quota", overrides={"target": "-1"})
    @example(name="quota", overrides={"stratum_value": "la\x00nd"})
    @example(name="quota", overrides={"unit_code": "02212\x00"})
    @example(name="allocation save", overrides={"form-0-target": "99999999999999999999"})
    @example(name="round create", overrides={"name": "Đợt\x1b2"})
    @example(name="round create", overrides={"period_start": "0001-01-01", "period_end": "9999-12-31"})
    @example(name="round edit", overrides={"name": "\u202eQuý IV"})
    @example(name="kiosk register", overrides={"name": "Quầy\x00"})
    @example(name="kiosk rename or move", overrides={"unit_code": "\x00"})
    @example(name="exclusion", overrides={"note": "x\x00"})
    @example(name="dossier list upload", overrides={"name": "Danh\x00sách"})
    @example(name="sample draw", overrides={"size": "2147483648"})
    @example(name="sample draw", overrides={"seed": "99999999999999999999"})
    def test_every_staff_form_answers_without_a_server_error_and_stores_all_or_nothing(self, name, overrides):
        self.post_form(name, overrides)

    def test_a_nul_in_an_allocation_rows_unit_code_is_not_a_server_error(self):
        self.post_form("allocation save", {"form-0-unit": "02212\x00"})

    def test_more_allocation_rows_announced_than_sent_is_not_a_server_error(self):
        self.post_form("allocation save", {"form-TOTAL_FORMS": "2"})

    @HOSTILE
    @given(overrides=st.dictionaries(st.sampled_from(["by", "total", "e", "minimum", "dossier_list"]), STAFF_TEXT,
                                     max_size=4))
    @example(overrides={"total": "99999999999999999999"})
    @example(overrides={"minimum": "2147483648", "total": "5"})
    @example(overrides={"dossier_list": "99999999999999999999"})
    @example(overrides={"dossier_list": "\x00"})
    def test_the_allocation_helper_proposes_without_a_server_error_and_stores_nothing(self, overrides):
        self.client.force_login(self.province_officer)
        before = snapshot()

        answer = self.client.get(reverse("fieldwork:quota-allocate", args=[self.round.pk]),
                                 {"by": "unit", "total": "10", **overrides})

        self.assertLess(answer.status_code, 500)
        self.assertEqual(snapshot(), before)

    def test_each_staff_form_with_its_valid_values_is_stored_so_the_property_above_tests_something(self):
        for name in self.forms:
            with self.subTest(form=name):
                before = snapshot()

                answer = self.post_form(name, {})

                self.assertTrue(said_success(answer), answer.content[:2000])
                self.assertNotEqual(snapshot(), before)

    def test_a_control_character_in_a_name_is_named_on_the_form(self):
        self.client.force_login(self.province_officer)
        url, data = self.forms["round create"]

        page = self.client.post(url, {**data, "name": "Đợt\x1b2"})

        self.assertContains(page, "Remove the invisible control character U+001B (character 4).")

    def test_a_target_beyond_the_column_is_named_on_the_form(self):
        self.client.force_login(self.province_officer)
        url, data = self.forms["quota"]

        page = self.client.post(url, {**data, "target": "2147483648"})

        self.assertContains(page, "Ensure this value is less than or equal to 2147483647.")
