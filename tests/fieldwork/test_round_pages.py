import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fieldwork.models import Quota, Round
from fieldwork.quotas import quota_set
from fieldwork.services import round_close
from tests.base import make_unit
from tests.fieldwork.base import KioskTestCase, full_answers
from units.models import Unit


class RoundPageTests(KioskTestCase):
    def setUp(self):
        self.client.force_login(self.province_admin)

    def test_an_officer_creates_a_draft_round_and_opens_it(self):
        self.client.force_login(self.officer)
        round_close(survey_round=self.round)

        response = self.client.post(reverse("fieldwork:round-list", args=["02212"]), {
            "name": "Quý I/2027", "questionnaire": self.round.questionnaire.pk, "quota_policy": "close",
            "period_start": "2027-01-01", "period_end": "2027-03-31",
        })
        created = Round.objects.get(name="Quý I/2027")
        self.client.post(reverse("fieldwork:round-open", args=[created.pk]))

        self.assertRedirects(response, reverse("fieldwork:round", args=[created.pk]))
        created.refresh_from_db()
        self.assertEqual((created.status, created.quota_policy, created.unit), ("open", "close", self.commune))

    def test_a_period_that_ends_before_it_starts_is_refused(self):
        response = self.client.post(reverse("fieldwork:round-list", args=["08"]), {
            "name": "Sai", "questionnaire": self.round.questionnaire.pk, "quota_policy": "flag",
            "period_start": "2027-03-01", "period_end": "2027-01-01",
        })

        self.assertContains(response, "The end is before the start.")
        self.assertFalse(Round.objects.filter(name="Sai").exists())

    def test_opening_a_second_round_over_the_same_units_says_why_not(self):
        other = Round.objects.create(name="Khác", questionnaire=self.round.questionnaire, unit=self.commune)

        response = self.client.post(reverse("fieldwork:round-open", args=[other.pk]), follow=True)

        self.assertContains(response, "is already open")
        other.refresh_from_db()
        self.assertEqual(other.status, "draft")

    def test_a_closed_round_is_frozen_until_reopened(self):
        self.client.post(reverse("fieldwork:round-close", args=[self.round.pk]), {"confirm": "True"})

        page = self.client.get(reverse("fieldwork:round", args=[self.round.pk]))
        edit = self.client.post(reverse("fieldwork:round", args=[self.round.pk]), {"name": "Đổi tên"})
        self.client.post(reverse("fieldwork:round-reopen", args=[self.round.pk]))

        self.assertContains(page, "frozen")
        self.assertEqual(edit.status_code, 200)
        self.round.refresh_from_db()
        self.assertEqual((self.round.name, self.round.status), ("Quý IV/2026", "open"))

    def test_the_questionnaire_of_an_opened_round_cannot_change(self):
        from questionnaires.models import QuestionnaireVersion

        other_version = QuestionnaireVersion.objects.get(code="sipas-2023-services")
        self.client.post(reverse("fieldwork:round", args=[self.round.pk]), {
            "name": "Quý IV/2026 (sửa)", "questionnaire": other_version.pk, "quota_policy": "flag",
        })

        self.round.refresh_from_db()
        self.assertEqual((self.round.name, self.round.questionnaire.code), ("Quý IV/2026 (sửa)", "sipas-2017"))

    def test_the_round_page_counts_responses(self):
        self.post(self.payload())

        response = self.client.get(reverse("fieldwork:round", args=[self.round.pk]))

        self.assertEqual(response.context["summary"]["total"], 1)

    def test_the_round_page_leads_to_the_rounds_scores(self):
        self.client.force_login(self.officer)

        page = self.client.get(reverse("fieldwork:round", args=[self.round.pk]))
        scores = self.client.get(reverse("scores-round", args=[self.round.pk]))

        self.assertContains(page, f'href="{reverse("scores-round", args=[self.round.pk])}" data-testid="scores-link"')
        self.assertEqual(scores.status_code, 200)

    def test_rounds_of_other_units_are_404(self):
        self.client.force_login(self.officer)
        elsewhere = Round.objects.create(name="Lào Cai", questionnaire=self.round.questionnaire,
                                         unit=self.another_province)

        for name in ("fieldwork:round", "fieldwork:quotas"):
            self.assertEqual(self.client.get(reverse(name, args=[elsewhere.pk])).status_code, 404)
        self.assertEqual(self.client.post(reverse("fieldwork:round-close", args=[elsewhere.pk])).status_code, 404)
        self.assertEqual(self.client.get(reverse("fieldwork:round-list", args=["02230"])).status_code, 404)

    def test_a_commune_officer_sees_a_province_round_but_cannot_change_or_close_it(self):
        self.client.force_login(self.officer)
        quota_set(survey_round=self.round, unit=self.commune, target=5)
        quota_set(survey_round=self.round, unit=self.other_commune, target=5)

        page = self.client.get(reverse("fieldwork:round", args=[self.round.pk]))
        quotas = self.client.get(reverse("fieldwork:quotas", args=[self.round.pk]))
        close = self.client.post(reverse("fieldwork:round-close", args=[self.round.pk]), {"confirm": "True"})
        sampling = self.client.get(reverse("fieldwork:dossier-lists", args=[self.round.pk]))

        self.assertIsNone(page.context["form"])
        self.assertNotContains(page, reverse("fieldwork:round-close", args=[self.round.pk]))
        self.assertEqual([r.quota.unit.code for r in quotas.context["rows"]], ["02212"])
        self.assertEqual((close.status_code, sampling.status_code), (404, 404))
        self.round.refresh_from_db()
        self.assertEqual(self.round.status, "open")

    def test_a_head_cannot_run_rounds(self):
        self.client.force_login(self.head)

        self.assertEqual(self.client.get(reverse("fieldwork:round", args=[self.round.pk])).status_code, 404)


class QuotaProgressTests(KioskTestCase):
    def setUp(self):
        self.client.force_login(self.province_admin)

    def test_it_shows_target_fill_pace_and_projection(self):
        quota_set(survey_round=self.round, unit=self.commune, target=10)
        for _ in range(3):
            self.post(self.payload())

        rows = self.client.get(reverse("fieldwork:quotas", args=[self.round.pk])).context["rows"]

        row = rows[0]
        self.assertEqual((row.quota.filled, row.recent), (3, 3))
        self.assertAlmostEqual(row.fill_percent, 30.0)
        # Opened today: 3 responses in 1 day, 7 to go → 3 more days.
        self.assertEqual(row.per_day, 3.0)
        self.assertEqual(row.projected, timezone.localdate() + datetime.timedelta(days=3))
        self.assertFalse(row.lagging)

    def test_a_quota_that_will_not_fill_before_the_round_ends_is_lagging(self):
        self.round.period_end = timezone.localdate() + datetime.timedelta(days=1)
        self.round.save()
        quota_set(survey_round=self.round, unit=self.commune, target=100)
        quota_set(survey_round=self.round, unit=self.other_commune, target=5)
        self.post(self.payload())

        rows = {r.quota.unit.code: r for r in self.client.get(
            reverse("fieldwork:quotas", args=[self.round.pk])).context["rows"]}

        self.assertTrue(rows["02212"].lagging)
        self.assertIsNone(rows["02230"].projected)
        self.assertFalse(rows["02230"].lagging)  # silent, but the round opened only today

    def test_a_quota_with_no_responses_lags_once_the_round_has_run_a_day(self):
        Round.objects.filter(pk=self.round.pk).update(opened_at=timezone.now() - datetime.timedelta(days=3))
        self.round.refresh_from_db()
        quota_set(survey_round=self.round, unit=self.other_commune, target=5)

        row = self.client.get(reverse("fieldwork:quotas", args=[self.round.pk])).context["rows"][0]

        self.assertIsNone(row.projected)
        self.assertTrue(row.lagging)

    def test_stratum_quotas_count_their_own_stratum_and_parents_their_sub_units(self):
        land = quota_set(survey_round=self.round, unit=self.province, target=10, stratum_item="E.FIELD",
                         stratum_value="land")
        quota_set(survey_round=self.round, unit=self.province, target=10)
        self.post(self.payload(answers=full_answers(**{"E.FIELD": "land"})))
        self.post(self.payload(answers=full_answers(**{"E.FIELD": "construction"})))

        rows = {r.quota.pk: r for r in selectors_progress(self.round)}

        self.assertEqual(rows[land.pk].recent, 1)
        self.assertEqual([r.recent for r in rows.values() if not r.quota.stratum_item], [2])

    def test_an_officer_sets_a_quota_on_the_page(self):
        response = self.client.post(reverse("fieldwork:quotas", args=[self.round.pk]), {
            "unit_code": "02212", "stratum_item": "D.GENDER", "stratum_value": "female", "target": 25,
            "policy": "close",
        })

        self.assertRedirects(response, reverse("fieldwork:quotas", args=[self.round.pk]))
        self.assertEqual(Quota.objects.get().target, 25)

    def test_a_bad_quota_is_explained(self):
        response = self.client.post(reverse("fieldwork:quotas", args=[self.round.pk]), {
            "unit_code": "02212", "stratum_item": "E.FIELD", "stratum_value": "fishing", "target": 25,
        })

        self.assertContains(response, "&#x27;fishing&#x27; is not an answer to E.FIELD")

    def test_the_page_runs_the_same_queries_for_3_or_30_quotas(self):
        def queries_with(n):
            Quota.objects.all().delete()
            parent = Unit.objects.get(code="02230")
            for i in range(n):
                unit = Unit.objects.filter(code=f"Q{i}").first() or make_unit(f"Q{i}", parent)
                quota_set(survey_round=self.round, unit=unit, target=10)
            with CaptureQueriesContext(connection) as captured:
                self.client.get(reverse("fieldwork:quotas", args=[self.round.pk]))
            return len(captured)

        # session, user, round (+unit, questionnaire), role check, quotas with their units,
        # the grouped count of recent responses, the invitations grouped by unit and stratum (answering
        # at home), the round's units for the unit code field.
        self.assertEqual(queries_with(3), queries_with(30))
        with self.assertNumQueries(8):
            self.client.get(reverse("fieldwork:quotas", args=[self.round.pk]))


def selectors_progress(survey_round):
    from fieldwork.selectors import quota_progress

    return quota_progress(survey_round)


class KioskActivityTests(KioskTestCase):
    def setUp(self):
        self.client.force_login(self.officer)

    def test_the_kiosk_list_shows_responses_today(self):
        self.post(self.payload())
        self.post(self.payload())

        kiosks = self.client.get(reverse("fieldwork:kiosk-list", args=["02212"])).context["kiosks"]

        self.assertEqual([k.responses_today for k in kiosks], [2])

    def test_a_kiosk_silent_for_a_day_during_an_open_round_is_flagged(self):
        self.kiosk.last_seen_at = timezone.now() - datetime.timedelta(days=2)
        self.kiosk.save()

        response = self.client.get(reverse("fieldwork:kiosk-list", args=["02212"]))

        self.assertContains(response, 'data-testid="silent"')

    def test_a_kiosk_is_not_silent_when_no_round_is_open(self):
        self.kiosk.last_seen_at = timezone.now() - datetime.timedelta(days=2)
        self.kiosk.save()
        round_close(survey_round=self.round)

        self.assertNotContains(self.client.get(reverse("fieldwork:kiosk-list", args=["02212"])),
                               'data-testid="silent"')

    def test_an_officer_renames_and_moves_a_kiosk_within_their_units(self):
        centre = Unit.objects.get(code="02212.TTPV")

        self.client.post(reverse("fieldwork:kiosk-update", args=[self.kiosk.pk]),
                         {"name": "Quầy 1 (TTPV)", "unit_code": centre.code})

        self.kiosk.refresh_from_db()
        self.assertEqual((self.kiosk.name, self.kiosk.unit), ("Quầy 1 (TTPV)", centre))

    def test_an_officer_cannot_move_a_kiosk_out_of_their_units(self):
        response = self.client.post(reverse("fieldwork:kiosk-update", args=[self.kiosk.pk]),
                                    {"name": "Quầy 1", "unit_code": "02230"})

        # A form error with the same words as for a code that does not exist: nothing given away.
        self.assertContains(response, "There is no unit with the code “02230” among your units", status_code=400)
        self.kiosk.refresh_from_db()
        self.assertEqual(self.kiosk.unit, self.commune)
