"""The per-kiosk per-day counter behind the kiosk list's "responses today"."""

import datetime

from django.urls import reverse
from django.utils import timezone

from fieldwork.models import KioskDay, Response
from fieldwork.quotas import quota_set
from fieldwork.selectors import kiosks_with_activity
from fieldwork.services import kiosk_create, kiosk_issue_token
from tests.fieldwork.base import KioskTestCase, full_answers


class KioskDayTests(KioskTestCase):
    def today(self, kiosk=None):
        row = KioskDay.objects.filter(kiosk=kiosk or self.kiosk, day=timezone.localdate()).first()
        return row.responses if row else 0

    def test_each_stored_response_counts_once_for_its_kiosk_and_day(self):
        first, second = self.payload(), self.payload()

        statuses = [self.post(body).status_code for body in (first, second, first)]  # the last one a retry

        self.assertEqual(statuses, [201, 201, 200])
        self.assertEqual(self.today(), 2)

    def test_a_refused_response_counts_nothing(self):
        quota_set(survey_round=self.round, unit=self.commune, target=1, policy="close")
        self.post(self.payload())

        refused = self.post(self.payload())
        invalid = self.post(self.payload(answers=full_answers(**{"F1.1": 9})))

        self.assertEqual((refused.status_code, invalid.status_code), (409, 400))
        self.assertEqual(self.today(), 1)
        self.assertEqual(Response.objects.count(), 1)

    def test_an_over_quota_response_that_is_stored_counts(self):
        quota_set(survey_round=self.round, unit=self.commune, target=1, policy="flag")

        self.post(self.payload())
        self.post(self.payload())

        self.assertEqual(self.today(), 2)

    def test_the_plain_form_counts_too(self):
        self.client.cookies["sipas_kiosk"] = self.token
        page = self.client.get(reverse("fieldwork:kiosk-form"))
        data = {**full_answers(), "response_id": page.context["response_id"], "started_at": page.context["started_at"]}

        self.client.post(reverse("fieldwork:kiosk-form"), data)

        self.assertEqual(self.today(), 1)

    def test_kiosks_are_counted_apart(self):
        other, _ = kiosk_create(unit=self.commune, name="Quầy 2")
        other_token = kiosk_issue_token(kiosk=other)

        self.post(self.payload())
        self.post(self.payload(), token=other_token)
        self.post(self.payload(), token=other_token)

        self.assertEqual((self.today(), self.today(other)), (1, 2))

    def test_the_kiosk_list_reads_the_counter_not_the_responses(self):
        self.post(self.payload())
        KioskDay.objects.create(kiosk=self.kiosk, day=timezone.localdate() - datetime.timedelta(days=1), responses=7)

        # 1 the kiosks with their units, 2 today's counters, 3 the open rounds
        with self.assertNumQueries(3):
            kiosks = kiosks_with_activity(self.province)

        self.assertEqual([k.responses_today for k in kiosks], [1])

    def test_the_kiosk_list_page_shows_the_count(self):
        self.post(self.payload())
        self.post(self.payload())
        self.client.force_login(self.officer)

        kiosks = self.client.get(reverse("fieldwork:kiosk-list", args=["02212"])).context["kiosks"]

        self.assertEqual([k.responses_today for k in kiosks], [2])
