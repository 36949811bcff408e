"""The officers' pages have no dead ends: a mistyped value is a form error that keeps the form, an
action that cannot be taken back asks first, and units merged away before a round are not offered
for it. Their refusals read in the page's language."""

import datetime
import uuid

from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from fieldwork.models import Kiosk, Quota, Response, Round
from fieldwork.paper import PaperImportError, paper_import_csv, paper_submit, paper_template_csv, paper_units
from fieldwork.quotas import quota_recount, quota_set
from fieldwork.sampling import propose_quotas
from fieldwork.services import RoundError, round_open
from tests.base import make_unit
from tests.fieldwork.base import KioskTestCase, full_answers

MERGED_ON = datetime.date(2025, 6, 30)


class MergedUnitTestCase(KioskTestCase):
    """The province round, and a commune merged into 02212 on 30/06/2025, long before it."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.merged = make_unit("02215", cls.province, name="Thị trấn Sơn Dương", valid_to=MERGED_ON,
                               successor=cls.commune)
        cls.round.period_start = timezone.localdate() - datetime.timedelta(days=30)
        cls.round.save(update_fields=["period_start"])

    def setUp(self):
        self.client.force_login(self.province_officer)


class QuotaFormTests(MergedUnitTestCase):
    def test_a_mistyped_unit_code_is_a_form_error_that_keeps_the_form(self):
        response = self.client.post(reverse("fieldwork:quotas", args=[self.round.pk]), {
            "unit_code": "02221", "stratum_item": "E.FIELD", "stratum_value": "land", "target": "40"})

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "There is no unit with the code “02221” among your units")
        self.assertContains(response, 'value="02221"')
        self.assertContains(response, 'value="land"')
        self.assertFalse(Quota.objects.exists())

    def test_a_unit_outside_the_officers_units_reads_the_same_as_an_unknown_one(self):
        self.client.force_login(self.officer)  # of commune 02212 only

        response = self.client.post(reverse("fieldwork:quotas", args=[self.round.pk]),
                                    {"unit_code": "02230", "target": "40"})

        self.assertContains(response, "There is no unit with the code “02230” among your units")

    def test_a_unit_merged_away_before_the_round_gets_no_quota_and_the_form_says_where_its_work_went(self):
        response = self.client.post(reverse("fieldwork:quotas", args=[self.round.pk]),
                                    {"unit_code": "02215", "target": "40"})

        self.assertContains(response, "unit 02215 existed until 30/06/2025, before this round began: its work went "
                                      "to 02212")
        self.assertFalse(Quota.objects.exists())

    def test_the_unit_code_field_offers_the_round_units_that_are_open(self):
        page = self.client.get(reverse("fieldwork:quotas", args=[self.round.pk])).content.decode()

        self.assertIn('list="round-units"', page)
        self.assertIn('<option value="02212">', page)
        self.assertNotIn('<option value="02215">', page)


class ConfirmationTests(MergedUnitTestCase):
    def test_revoking_a_kiosk_asks_first_and_only_the_confirmed_form_revokes(self):
        url = reverse("fieldwork:kiosk-revoke", args=[self.kiosk.pk])

        list_page = self.client.get(reverse("fieldwork:kiosk-list", args=["02212"])).content.decode()
        question = self.client.get(url)
        unconfirmed = self.client.post(url)
        self.kiosk.refresh_from_db()
        still_active = self.kiosk.revoked_at is None
        confirmed = self.client.post(url, {"confirm": "True"})

        self.assertIn(f'href="{url}"', list_page)  # a link to the question, not a button that revokes
        self.assertContains(question, "Revoke kiosk “Quầy 1” of Xã Sơn Dương?")
        self.assertContains(question, "this cannot be undone")
        self.assertEqual(unconfirmed.status_code, 200)
        self.assertTrue(still_active)
        self.assertRedirects(confirmed, reverse("fieldwork:kiosk-list", args=["02212"]))
        self.assertIsNotNone(Kiosk.objects.get(pk=self.kiosk.pk).revoked_at)

    def test_closing_a_round_asks_first_and_says_what_closing_does(self):
        url = reverse("fieldwork:round-close", args=[self.round.pk])

        question = self.client.get(url)
        self.client.post(url)
        self.round.refresh_from_db()
        open_after_unconfirmed = self.round.status
        self.client.post(url, {"confirm": "True"})
        self.round.refresh_from_db()

        self.assertContains(question, "Close the round “Quý IV/2026”?")
        self.assertContains(question, "Kiosks of Tỉnh Tuyên Quang stop taking new responses")
        self.assertEqual(open_after_unconfirmed, Round.Status.OPEN)
        self.assertEqual(self.round.status, Round.Status.CLOSED)

    def test_the_confirmation_pages_read_in_vietnamese(self):
        client = Client()
        client.force_login(self.province_officer)

        page = client.get(reverse("fieldwork:round-close", args=[self.round.pk])).content.decode()

        self.assertIn("Đóng đợt khảo sát “Quý IV/2026”?", page)
        self.assertIn("Hủy, quay lại", page)


class KioskMoveTests(MergedUnitTestCase):
    def test_a_mistyped_unit_code_shows_the_list_again_with_the_kiosk_form_open_as_typed(self):
        response = self.client.post(reverse("fieldwork:kiosk-update", args=[self.kiosk.pk]),
                                    {"name": "Quầy một", "unit_code": "0221"})

        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "There is no unit with the code “0221” among your units", status_code=400)
        self.assertContains(response, "<details class=\"d-inline-block text-start\" open>", status_code=400)
        self.assertContains(response, 'value="Quầy một"', status_code=400)
        self.kiosk.refresh_from_db()
        self.assertEqual((self.kiosk.name, self.kiosk.unit), ("Quầy 1", self.commune))


class RoundUnitsTests(MergedUnitTestCase):
    def test_a_unit_merged_away_before_the_round_is_not_offered_for_a_paper_form(self):
        units = [u.code for u in paper_units(survey_round=self.round, user=self.province_officer)]
        page = self.client.get(reverse("fieldwork:paper-entry", args=[self.round.pk])).content.decode()

        self.assertNotIn("02215", units)
        self.assertIn("02212", units)
        self.assertNotIn("02215 · Thị trấn Sơn Dương", page)

    def test_a_paper_import_names_why_a_merged_unit_cannot_be_used(self):
        header = paper_template_csv(survey_round=self.round).strip().split(",")
        cells = {"unit_code": "02215", "form_date": timezone.localdate().isoformat(), **full_answers()}
        row = [";".join(v) if isinstance(v, list) else str(cells.get(column.strip('"'), "")) for column in header
               for v in [cells.get(column.strip('"'), "")]]
        text = ",".join(header) + "\n" + ",".join(row) + "\n"

        with self.assertRaises(PaperImportError) as raised:
            paper_import_csv(survey_round=self.round, text=text, user=self.province_officer)

        self.assertIn("line 2, unit_code: unit 02215 existed until 30/06/2025, before this round began: its work "
                      "went to 02212", raised.exception.errors)

    def test_the_allocation_helper_proposes_quotas_for_units_open_during_the_round_only(self):
        proposals = propose_quotas(survey_round=self.round, total=90)

        self.assertEqual(sorted(p.unit.code for p in proposals), ["02212", "02230"])

    def test_a_unit_created_after_the_round_ended_is_not_offered_either(self):
        self.round.period_end = timezone.localdate() - datetime.timedelta(days=1)
        self.round.save(update_fields=["period_end"])
        make_unit("02299", self.province, valid_from=timezone.localdate())

        self.assertNotIn("02299", [u.code for u in paper_units(survey_round=self.round, user=None)])


class RefusalLanguageTests(MergedUnitTestCase):
    def test_a_round_refusal_is_worded_when_shown_in_the_language_of_the_moment(self):
        other = Round.objects.create(name="Khác", questionnaire=self.round.questionnaire, unit=self.commune)
        with self.assertRaises(RoundError) as raised:
            round_open(survey_round=other)

        with translation.override("vi"):
            vietnamese = str(raised.exception)
        with translation.override("en"):
            english = str(raised.exception)

        self.assertIn("đang mở cho", vietnamese)
        self.assertIn("is already open for", english)

    def test_opening_a_clashing_round_says_why_in_vietnamese_on_a_vietnamese_page(self):
        other = Round.objects.create(name="Khác", questionnaire=self.round.questionnaire, unit=self.commune)
        client = Client()
        client.force_login(self.province_officer)

        page = client.post(reverse("fieldwork:round-open", args=[other.pk]), follow=True).content.decode()

        self.assertIn("đợt khảo sát “Quý IV/2026”", page)
        self.assertNotIn("close it first", page)

    def test_a_quota_refusal_on_a_vietnamese_page_is_vietnamese(self):
        client = Client()
        client.force_login(self.province_officer)

        answer = client.post(reverse("fieldwork:quotas", args=[self.round.pk]), {
            "unit_code": "02212", "stratum_item": "E.FIELD", "stratum_value": "fishing", "target": "4"})
        page = answer.content.decode()

        self.assertIn("&#x27;fishing&#x27; không phải là câu trả lời của E.FIELD", page)

    def test_an_unknown_response_id_in_the_exclusion_form_is_a_form_error_not_a_404(self):
        response = self.client.post(reverse("fieldwork:exclude", args=[self.round.pk]),
                                    {"response_id": str(uuid.uuid4()), "reason": "test"})

        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "No response of this round among your units has this id", status_code=400)


class OverQuotaTests(MergedUnitTestCase):
    def fill(self, unit, count):
        for _ in range(count):
            paper_submit(survey_round=self.round, unit=unit, form_id=uuid.uuid4(), form_date=timezone.localdate(),
                         answers=full_answers())

    def test_every_quota_a_form_matches_counts_it_over_quota_not_only_the_full_one(self):
        province = quota_set(survey_round=self.round, unit=self.province, target=100)
        centre = quota_set(survey_round=self.round, unit=self.commune_centre, target=1)

        self.fill(self.commune_centre, 3)

        province.refresh_from_db()
        centre.refresh_from_db()
        self.assertEqual((centre.filled, centre.over), (1, 2))
        self.assertEqual((province.filled, province.over), (1, 2))  # the province row shows the 2 left out
        self.assertEqual(Response.objects.filter(over_quota=True).count(), 2)

    def test_the_recount_rebuilds_the_over_quota_counts_too(self):
        province = quota_set(survey_round=self.round, unit=self.province, target=100)
        quota_set(survey_round=self.round, unit=self.commune_centre, target=1)
        self.fill(self.commune_centre, 3)
        Quota.objects.update(over=0)

        quota_recount(survey_round=self.round)

        province.refresh_from_db()
        self.assertEqual((province.filled, province.over), (1, 2))

    def test_the_progress_page_shows_the_count_and_what_it_means(self):
        quota_set(survey_round=self.round, unit=self.province, target=100)
        quota_set(survey_round=self.round, unit=self.commune_centre, target=1)
        self.fill(self.commune_centre, 3)

        page = self.client.get(reverse("fieldwork:quotas", args=[self.round.pk])).content.decode()

        self.assertIn("They are kept but left out of the scores.", page)
        self.assertEqual(page.count('aria-label="Filled, '), 2)



class VietnameseFormatTests(MergedUnitTestCase):
    def test_numbers_on_a_vietnamese_page_are_grouped_and_identifiers_are_not(self):
        quota = quota_set(survey_round=self.round, unit=self.province, target=1930)
        client = Client()
        client.force_login(self.province_officer)

        page = client.get(reverse("fieldwork:quotas", args=[self.round.pk])).content.decode()

        self.assertIn('<td class="num">1.930</td>', page)
        self.assertIn(f'data-quota="{quota.pk}"', page)

    def test_dates_are_day_first_with_slashes_in_both_languages(self):
        from django.utils import formats

        day = datetime.date(2026, 12, 6)
        for language in ("vi", "en"):
            with translation.override(language):
                self.assertEqual(formats.date_format(day, "SHORT_DATE_FORMAT"), "06/12/2026")

    def test_a_date_field_shows_its_value_as_the_browser_date_input_reads_it(self):
        self.round.period_end = datetime.date(2026, 12, 31)
        self.round.save(update_fields=["period_end"])
        client = Client()
        client.force_login(self.province_officer)

        page = client.get(reverse("fieldwork:round", args=[self.round.pk])).content.decode()

        self.assertIn('type="date" name="period_end" value="2026-12-31"', page)


class RadioErrorLayoutTests(MergedUnitTestCase):
    def test_a_missing_answer_is_said_once_below_the_row_of_options_not_inside_the_last_one(self):
        client = Client()
        client.force_login(self.province_officer)
        answers = full_answers(**{"G.0": None})
        data = {"unit": "02212", "form_date": timezone.localdate().isoformat(), "form_id": str(uuid.uuid4()),
                **{code: value for code, value in answers.items()}}

        page = client.post(reverse("fieldwork:paper-entry", args=[self.round.pk]), data).content.decode()

        block = page[page.index('id="div_id_G.0"'):]
        block = block[:block.index('id="div_id_', 10)] if 'id="div_id_' in block[10:] else block
        options, _, after = block.partition('<div id="id_G.0_error" class="invalid-feedback d-block">')
        self.assertIn("câu này cần có câu trả lời", after)
        self.assertEqual(options.count('class="form-check"'), 5)
        self.assertNotIn("invalid-feedback", options)
