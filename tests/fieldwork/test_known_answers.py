"""Ask only what the person can answer (sipas-2017-r2026): the agency level is filled in from the
response's unit on every channel (kiosk API, the form without JavaScript, paper entry and import),
never asked of the citizen; the results questions are skipped by those who have no result yet."""

import csv
import io
import uuid

from django.urls import reverse
from django.utils import timezone

from fieldwork.models import Quota, Response
from fieldwork.paper import PaperImportError, paper_import_csv, paper_template_csv
from fieldwork.quotas import quota_set
from fieldwork.responses import SubmissionError, response_submit
from fieldwork.services import kiosk_create, kiosk_issue_token, round_close, round_create
from questionnaires.answers import unpack_answers
from tests.base import make_unit
from tests.fieldwork.base import KioskTestCase, full_answers
from units.models import Unit

CODE = "sipas-2017-r2026"
RESULTS = ("F4.1", "F4.2", "F4.3", "F4.G")


def answers(**overrides):
    """A kiosk's complete answers to the revision: no agency level, which the kiosk is not sent."""
    return full_answers(CODE, **{"E.LEVEL": None, **overrides})


class RevisionTestCase(KioskTestCase):
    """The province's round is on the revision; a department and a root unit with no listed level."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        round_close(survey_round=cls.round)
        cls.round = round_create(name="Năm 2026", questionnaire_code=CODE, unit_code="08", open_now=True)
        cls.round.first_opened_at = timezone.now() - timezone.timedelta(days=1)
        cls.round.save(update_fields=["first_opened_at"])
        cls.department = make_unit("08.STP", cls.province, level=Unit.Level.DEPARTMENT, name="Sở Tư pháp")

    def payload(self, **overrides):
        return super().payload(**{"questionnaire": CODE, "answers": answers(), **overrides})

    def stored_answers(self, response_id=None):
        stored = Response.objects.get(pk=response_id) if response_id else Response.objects.get()
        return unpack_answers(stored.questionnaire.parsed, stored.answers, stored.texts)

    def kiosk_token(self, unit):
        kiosk, _ = kiosk_create(unit=unit, name=f"Quầy {unit.code}")
        kiosk.first_paired_at = timezone.now() - timezone.timedelta(days=1)
        kiosk.save(update_fields=["first_paired_at"])
        return kiosk_issue_token(kiosk=kiosk)

    def questionnaire(self, token=None):
        return self.client.get("/api/kiosk/v1/questionnaire",
                               HTTP_AUTHORIZATION=f"Kiosk {token or self.token}").json()

    def submit(self, unit, **overrides):
        """Through the writer as a paper form of the unit would be, with no kiosk."""
        result = response_submit(unit=unit, payload=self.payload(**overrides), channel=Response.Channel.PAPER,
                                 paper_entry=Response.PaperEntry.TYPED)
        return self.stored_answers(result.response_id)


class KioskApiTests(RevisionTestCase):
    def test_the_kiosk_is_not_sent_the_agency_level_and_gets_each_parts_lead(self):
        data = self.questionnaire()

        sections = data["questionnaire"]["sections"]
        codes = [item["code"] for section in sections for item in section["items"]]
        self.assertNotIn("E.LEVEL", codes)
        self.assertEqual(len(codes), 41)
        lead = {s["code"]: s["lead"] for s in sections}
        self.assertEqual(lead["F1"]["vi"], "Ông/Bà hài lòng thế nào về các nội dung sau?")
        self.assertIsNone(lead["G"])

    def test_a_response_without_the_agency_level_is_stored_with_the_level_of_the_kiosks_unit(self):
        answer = self.post(self.payload())

        self.assertEqual(answer.status_code, 201, answer.content)
        self.assertEqual(self.stored_answers(), {**answers(), "E.LEVEL": "commune"})

    def test_the_same_level_from_a_client_is_accepted_and_a_different_one_is_a_400_naming_the_item(self):
        same = self.post(self.payload(answers=answers(**{"E.LEVEL": "commune"})))
        other = self.post(self.payload(answers=answers(**{"E.LEVEL": "province"})))

        self.assertEqual(same.status_code, 201, same.content)
        self.assertEqual(other.status_code, 400)
        self.assertEqual(list(other.json()["errors"]), ["E.LEVEL"])
        self.assertIn("known from the response's unit ('commune')", other.json()["errors"]["E.LEVEL"][0])
        self.assertEqual(Response.objects.count(), 1)

    def test_a_retry_of_a_response_whose_level_was_filled_in_is_recognised(self):
        body = self.payload()

        first, again = self.post(body), self.post(body)

        self.assertEqual((first.status_code, again.status_code), (201, 200))

    def test_each_unit_gets_the_level_of_the_agency_it_is(self):
        self.assertEqual(self.submit(self.commune)["E.LEVEL"], "commune")
        self.assertEqual(self.submit(self.commune_centre)["E.LEVEL"], "commune")  # the commune's one-stop desk
        self.assertEqual(self.submit(self.department)["E.LEVEL"], "province")  # a provincial department
        self.assertEqual(self.submit(self.province)["E.LEVEL"], "province")

    def test_a_kiosk_of_a_centre_gets_the_level_of_its_commune_and_is_not_asked(self):
        token = self.kiosk_token(self.commune_centre)

        codes = [i["code"] for s in self.questionnaire(token)["questionnaire"]["sections"] for i in s["items"]]
        answer = self.post(self.payload(), token=token)

        self.assertNotIn("E.LEVEL", codes)
        self.assertEqual(answer.status_code, 201, answer.content)
        self.assertEqual(self.stored_answers()["E.LEVEL"], "commune")

    def test_where_no_unit_on_the_way_up_has_a_listed_level_the_question_is_asked(self):
        ministry = make_unit("BNV", level=Unit.Level.DEPARTMENT, name="Bộ Nội vụ")
        survey_round = round_create(name="Bộ", questionnaire_code=CODE, unit_code="BNV", open_now=True)
        token = self.kiosk_token(ministry)

        codes = [i["code"] for s in self.questionnaire(token)["questionnaire"]["sections"] for i in s["items"]]
        body = self.payload(round=survey_round.pk)
        missing = self.post(body, token=token)
        given = self.post({**body, "answers": answers(**{"E.LEVEL": "province"})}, token=token)

        self.assertIn("E.LEVEL", codes)
        self.assertEqual(missing.json()["errors"], {"E.LEVEL": ["an answer is required"]})
        self.assertEqual(given.status_code, 201, given.content)

    def test_a_first_round_of_sipas_2017_still_asks_the_agency_level(self):
        round_close(survey_round=self.round)
        round_create(name="Cũ", questionnaire_code="sipas-2017", unit_code="08", open_now=True)

        items = [i["code"] for s in self.questionnaire()["questionnaire"]["sections"] for i in s["items"]]

        self.assertIn("E.LEVEL", items)


class ResultsTests(RevisionTestCase):
    def test_someone_without_a_result_is_not_asked_the_results_questions(self):
        waiting = answers(**{"E.ONTIME": "not_yet", **dict.fromkeys(RESULTS)})

        stored = self.post(self.payload(answers=waiting))
        refused = self.post(self.payload(answers={**waiting, "F4.1": 4}))

        self.assertEqual(stored.status_code, 201, stored.content)
        self.assertFalse(set(RESULTS) & set(self.stored_answers()))
        self.assertEqual(refused.status_code, 400)
        self.assertIn("condition is false", refused.json()["errors"]["F4.1"][0])

    def test_someone_whose_result_came_late_answers_them(self):
        missing = self.post(self.payload(answers=answers(**{"E.ONTIME": "late", "F4.2": None})))

        self.assertEqual(missing.json()["errors"], {"F4.2": ["an answer is required"]})


class QuotaTests(RevisionTestCase):
    def test_a_quota_on_the_agency_level_counts_the_level_filled_in(self):
        quota = quota_set(survey_round=self.round, unit=self.province, target=5, stratum_item="E.LEVEL",
                          stratum_value="commune")

        self.post(self.payload())
        self.submit(self.department)

        quota.refresh_from_db()
        self.assertEqual(quota.filled, 1)

    def test_a_full_closing_quota_on_the_level_closes_the_kiosks_of_that_level_only(self):
        quota_set(survey_round=self.round, unit=self.province, target=1, stratum_item="E.LEVEL",
                  stratum_value="commune", policy=Quota.Policy.CLOSE)
        self.post(self.payload())

        here = self.questionnaire()
        department = self.questionnaire(self.kiosk_token(self.department))

        self.assertTrue(here["quota_full"])
        self.assertIsNone(here["questionnaire"])
        self.assertFalse(department["quota_full"])
        self.assertEqual(department["closed_strata"], [])  # a question it is not asked: nothing to match


class FormWithoutJavaScriptTests(RevisionTestCase):
    def setUp(self):
        self.client.cookies["sipas_kiosk"] = self.token
        self.url = reverse("fieldwork:kiosk-form")

    def test_it_does_not_ask_the_agency_level_and_shows_the_leads(self):
        page = self.client.get(self.url)

        self.assertNotContains(page, 'name="E.LEVEL"')
        self.assertContains(page, 'name="E.FIELD"')
        self.assertContains(page, "Ông/Bà hài lòng thế nào về các nội dung sau?", count=4)
        self.assertNotContains(page, "SIPAS 2017")

    def test_the_results_condition_is_said_once_for_its_part(self):
        page = self.client.get(self.url)

        self.assertContains(page, "Chỉ trả lời nếu Ông/Bà đã chọn “Đúng hẹn hoặc sớm hơn” hoặc “Trễ hẹn”", count=1)

    def test_a_form_sent_without_the_agency_level_is_stored_with_the_units(self):
        data = {code: value for code, value in answers().items()}

        page = self.client.post(self.url, data)

        self.assertEqual(page.status_code, 302)
        stored = Response.objects.get()
        self.assertEqual((stored.channel, self.stored_answers()["E.LEVEL"]), (Response.Channel.WEB, "commune"))


class PaperTests(RevisionTestCase):
    def csv(self, rows, header=None):
        header = header or next(csv.reader(io.StringIO(paper_template_csv(survey_round=self.round))))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n", extrasaction="ignore")
        writer.writeheader()
        for unit_code, row_answers in rows:
            writer.writerow({"unit_code": unit_code, "form_date": timezone.localdate().isoformat(),
                             **{c: ";".join(v) if isinstance(v, list) else v for c, v in row_answers.items()}})
        return out.getvalue()

    def test_an_import_with_the_agency_level_left_empty_fills_it_in_from_each_unit(self):
        text = self.csv([("02212", answers()), ("08.STP", answers()), ("02212.TTPV", answers())])

        result = paper_import_csv(survey_round=self.round, text=text)

        self.assertEqual(result.stored, 3)
        levels = {r.unit.code: self.stored_answers(r.pk)["E.LEVEL"] for r in Response.objects.select_related("unit")}
        self.assertEqual(levels, {"02212": "commune", "08.STP": "province", "02212.TTPV": "commune"})

    def test_a_file_without_the_agency_level_column_imports(self):
        header = [c for c in next(csv.reader(io.StringIO(paper_template_csv(survey_round=self.round))))
                  if c != "E.LEVEL"]

        result = paper_import_csv(survey_round=self.round, text=self.csv([("02212", answers())], header=header))

        self.assertEqual(result.stored, 1)

    def test_a_level_that_is_not_the_units_names_the_line_and_the_item_and_stores_nothing(self):
        text = self.csv([("02212", answers(**{"E.LEVEL": "commune"})), ("02230", answers(**{"E.LEVEL": "province"}))])

        try:
            paper_import_csv(survey_round=self.round, text=text)
        except PaperImportError as exc:
            errors = exc.errors
        else:
            self.fail("the file was imported")

        self.assertEqual(len(errors), 1)
        self.assertIn("line 3, E.LEVEL: is known from the response's unit ('commune')", errors[0])
        self.assertFalse(Response.objects.exists())

    def test_the_template_keeps_the_column_and_the_codebook_says_it_is_filled_in_from_the_unit(self):
        self.client.force_login(self.province_officer)

        header = paper_template_csv(survey_round=self.round)
        codebook = self.client.get(reverse("fieldwork:paper-codebook", args=[self.round.pk]))

        self.assertIn("E.LEVEL", header)
        rows = {r["item_code"]: r for r in csv.DictReader(io.StringIO(codebook.content.decode("utf-8-sig")))}
        self.assertEqual(rows["E.LEVEL"]["required"], "filled in from unit_code")
        self.assertIn("leave empty: filled in from the level of unit_code (province → province; district → "
                      "district; commune → commune; any other level: that of the unit above it)",
                      rows["E.LEVEL"]["allowed_values"])
        self.assertEqual(rows["F4.1"]["asked_only_if"], "E.ONTIME in on_time, late")

    def test_the_entry_page_says_the_level_may_be_left_empty_and_fills_it_in(self):
        self.client.force_login(self.province_officer)
        url = reverse("fieldwork:paper-entry", args=[self.round.pk])
        page = self.client.get(url)
        data = {"unit": "08.STP", "form_date": timezone.localdate().isoformat(),
                "form_id": str(uuid.uuid4()), **answers()}

        self.assertContains(page, "Filled in from the unit the form came from: leave it empty.")
        self.assertEqual(self.client.post(url, data).status_code, 302)
        self.assertEqual(self.stored_answers()["E.LEVEL"], "province")
        wrong = self.client.post(url, {**data, "form_id": str(uuid.uuid4()), "E.LEVEL": "commune"})
        self.assertIn("known from the response's unit ('province')", wrong.context["answers"].errors["E.LEVEL"][0])

    def test_a_paper_form_through_the_writer_with_a_wrong_level_is_refused_naming_it(self):
        with self.assertRaises(SubmissionError) as refused:
            self.submit(self.department, answers=answers(**{"E.LEVEL": "commune"}))

        self.assertEqual((refused.exception.status, list(refused.exception.errors)), (400, ["E.LEVEL"]))
