import csv
import datetime
import io
import tempfile
import uuid
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from fieldwork.models import PaperImportJob, Response
from fieldwork.paper import PaperImportError, paper_import_csv, paper_template_csv
from fieldwork.services import round_close, round_create
from questionnaires.answers import unpack_answers
from tests.fieldwork.base import KioskTestCase, full_answers

TODAY = timezone.localdate


def cell(value):
    return ";".join(value) if isinstance(value, list) else str(value)


def form_row(unit_code="02212", form_date=None, form_id="", **answers):
    return {"unit_code": unit_code, "form_date": (form_date or TODAY()).isoformat(), "form_id": form_id,
            **{code: cell(value) for code, value in answers.items()}}


class PaperTestCase(KioskTestCase):
    def urls(self):
        return [reverse(f"fieldwork:paper-{name}", args=[self.round.pk])
                for name in ("entry", "import", "template", "codebook")]

    def csv(self, rows, delimiter=","):
        """A file in the shape of the round's template, one row per dict."""
        header = next(csv.reader(io.StringIO(paper_template_csv(survey_round=self.round))))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=header, delimiter=delimiter, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()

    def import_rows(self, rows, **kwargs):
        return paper_import_csv(survey_round=self.round, text=self.csv(rows), **kwargs)

    def import_errors(self, text):
        with pytest.raises(PaperImportError) as caught:
            paper_import_csv(survey_round=self.round, text=text)
        return caught.value.errors


class PaperEntryTests(PaperTestCase):
    def setUp(self):
        self.client.force_login(self.province_officer)
        self.url = reverse("fieldwork:paper-entry", args=[self.round.pk])

    def entry(self, **overrides):
        page = self.client.get(self.url)
        data = {"unit": "02212", "form_date": TODAY().isoformat(),
                "form_id": page.context["entry"].initial["form_id"], **full_answers()}
        data.update(overrides)
        return data

    def test_the_page_shows_the_questionnaire_with_todays_date_and_a_fresh_form_id(self):
        first, second = self.client.get(self.url), self.client.get(self.url)

        self.assertContains(first, 'name="F3.2"')
        self.assertContains(first, f'value="{TODAY().isoformat()}"')
        self.assertNotEqual(first.context["entry"].initial["form_id"], second.context["entry"].initial["form_id"])

    def test_an_entered_form_is_stored_as_a_paper_response_of_the_chosen_unit_and_date(self):
        day = TODAY() - datetime.timedelta(days=3)

        self.client.post(self.url, self.entry(unit="02230", form_date=day.isoformat()))

        stored = Response.objects.get()
        self.assertEqual((stored.channel, stored.kiosk), (Response.Channel.PAPER, None))
        self.assertEqual(stored.unit, self.other_commune)
        self.assertIsNone(stored.started_at)
        self.assertEqual(timezone.localtime(stored.submitted_at), timezone.make_aware(
            datetime.datetime.combine(day, datetime.time.min)))
        self.assertEqual(unpack_answers(stored.questionnaire.parsed, stored.answers, stored.texts), full_answers())

    def test_after_saving_it_says_so_and_shows_an_empty_form_for_the_same_unit_and_date_with_the_count(self):
        data = self.entry()

        page = self.client.post(self.url, data, follow=True)

        self.assertContains(page, "Paper form stored")
        self.assertContains(page, "1 paper form entered for this round today")
        self.assertEqual(page.context["entry"].initial["unit"], "02212")
        self.assertNotEqual(page.context["entry"].initial["form_id"], data["form_id"])
        self.assertFalse(page.context["answers"].is_bound)

    def test_a_double_submit_stores_once(self):
        data = self.entry()

        self.client.post(self.url, data)
        again = self.client.post(self.url, data, follow=True)

        self.assertEqual(Response.objects.count(), 1)
        self.assertContains(again, "already stored")
        self.assertContains(again, "1 paper form entered for this round today")

    def test_a_form_with_a_missing_answer_shows_the_error_and_stores_nothing(self):
        page = self.client.post(self.url, self.entry(**{"F3.2": ""}))

        self.assertContains(page, "an answer is required")
        self.assertFalse(Response.objects.exists())

    def test_a_form_without_a_unit_shows_the_answers_mistakes_at_the_same_time(self):
        page = self.client.post(self.url, self.entry(unit="", **{"F3.2": ""}))

        self.assertTrue(page.context["entry"].errors["unit"])
        self.assertEqual(page.context["answers"].errors["F3.2"], ["an answer is required"])
        self.assertFalse(Response.objects.exists())

    def test_a_draft_round_takes_no_paper_forms(self):
        draft = round_create(name="Sau", questionnaire_code="sipas-2017", unit_code="08")
        url = reverse("fieldwork:paper-entry", args=[draft.pk])

        self.assertContains(self.client.get(url), "has not been opened yet")
        with pytest.raises(PaperImportError) as caught:
            paper_import_csv(survey_round=draft, text=self.csv([form_row(**full_answers())]))
        self.assertEqual(caught.value.errors,
                         [f"round {draft.pk} has not been opened: paper forms can be entered once it is open"])

    def test_a_closed_round_takes_no_paper_forms_until_it_is_reopened(self):
        data = self.entry()
        closed = round_close(survey_round=self.round)

        page = self.client.post(self.url, data)

        self.assertContains(page, "This round is closed")
        self.assertFalse(Response.objects.exists())
        with pytest.raises(PaperImportError) as caught:
            paper_import_csv(survey_round=closed, text=self.csv([form_row(**full_answers())]))
        self.assertEqual(caught.value.errors, [f"round {self.round.pk} is closed: reopen it to enter more paper forms"])

    def test_a_date_in_the_future_is_refused(self):
        tomorrow = TODAY() + datetime.timedelta(days=1)

        page = self.client.post(self.url, self.entry(form_date=tomorrow.isoformat()))

        self.assertContains(page, "is in the future")
        self.assertFalse(Response.objects.exists())

    def test_a_unit_outside_the_round_cannot_be_chosen(self):
        page = self.client.post(self.url, self.entry(unit="10"))

        self.assertNotContains(page, 'value="10"')
        self.assertTrue(page.context["entry"].errors["unit"])
        self.assertFalse(Response.objects.exists())


class PaperAccessTests(PaperTestCase):
    def test_an_officer_of_another_province_gets_404_on_every_paper_page(self):
        self.client.force_login(self.far_officer)

        for url in self.urls():
            self.assertEqual(self.client.get(url).status_code, 404, url)
        self.assertEqual(self.client.post(self.urls()[0], {"unit": "02212"}).status_code, 404)

    def test_a_head_without_a_fieldwork_role_gets_404(self):
        self.client.force_login(self.province_head)

        for url in self.urls():
            self.assertEqual(self.client.get(url).status_code, 404, url)

    def test_a_commune_officer_enters_forms_of_their_commune_in_a_province_round(self):
        self.client.force_login(self.officer)

        page = self.client.get(self.urls()[0])

        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "02212")
        self.assertNotContains(page, "02230")  # another commune of the round: not theirs

    def test_someone_logged_out_is_sent_to_the_login_page(self):
        self.assertEqual(self.client.get(self.urls()[0]).status_code, 302)


class PaperImportTests(PaperTestCase):
    def test_the_import_stores_every_row_as_a_paper_response(self):
        rows = [form_row(**full_answers()), form_row("02230", **full_answers(**{"G.0": 2})),
                form_row("02212.TTPV", **full_answers(**{"F5.0": "yes", "F5.1": 3, "F5.2": 4, "F5.3": 0,
                                                          "F5.4": 5, "F5.G": 4, "C.COMMENT": "Nhanh, gọn"}))]

        result = self.import_rows(rows)

        self.assertEqual((result.stored, result.already_stored), (3, 0))
        stored = Response.objects.filter(channel=Response.Channel.PAPER, kiosk=None)
        self.assertEqual(sorted(r.unit.code for r in stored), ["02212", "02212.TTPV", "02230"])
        comment = stored.get(unit=self.commune_centre)
        self.assertEqual(comment.texts, {"C.COMMENT": "Nhanh, gọn"})

    def test_importing_the_same_file_again_stores_nothing_new(self):
        rows = [form_row(**full_answers()), form_row(form_id=str(uuid.uuid4()), **full_answers(**{"G.0": 1}))]
        self.import_rows(rows)

        again = self.import_rows(rows)

        self.assertEqual((again.stored, again.already_stored), (0, 2))
        self.assertEqual(Response.objects.count(), 2)

    def test_identical_rows_are_different_forms_and_a_reimport_still_stores_nothing_new(self):
        rows = [form_row(**full_answers()), form_row(**full_answers())]

        first = self.import_rows(rows)
        again = self.import_rows(list(reversed(rows)))

        self.assertEqual((first.stored, again.stored, again.already_stored), (2, 0, 2))

    def test_a_file_with_bad_rows_reports_every_bad_line_with_item_and_message_and_stores_nothing(self):
        rows = [form_row(**full_answers()),  # line 2: fine, but not stored either
                form_row(**full_answers(**{"F3.2": 7, "E.FIELD": "fishing"})),  # line 3
                form_row(**full_answers(**{"F1.1": ""})),  # line 4
                form_row(**full_answers()),
                form_row(**full_answers(**{"E.INFO": ["media", "tv"], "E.EXTRA_PAY": "maybe", "F5.1": 4}))]

        errors = self.import_errors(self.csv(rows))

        self.assertEqual(errors, [
            "line 3, E.FIELD: 'fishing' is not an option: use one of land, environment, driving_licence, transport, "
            "construction, planning, culture, sport_tourism, crops, livestock, judicial_records, legal_aid, "
            "business_registration, justice, labour_social, other",
            "line 3, F3.2: must be one of 1, 2, 3, 4, 5",
            "line 4, F1.1: an answer is required",
            "line 6, E.EXTRA_PAY: must be 'yes' or 'no'",
            "line 6, E.INFO: tv not an option: use commune_officials, public_portal, posted_at_office, media, "
            "relatives_friends, other",
            "line 6, F5.1: this item is not asked given the earlier answers (its condition is false)",
        ])
        self.assertFalse(Response.objects.exists())

    def test_an_unknown_column_is_named_and_nothing_is_stored(self):
        text = self.csv([form_row(**full_answers())]).replace("C.COMMENT", "C.REMARK", 1)

        errors = self.import_errors(text)

        self.assertEqual(len(errors), 1)
        self.assertIn("line 1: unknown column(s): C.REMARK", errors[0])
        self.assertFalse(Response.objects.exists())

    def test_a_missing_column_for_a_required_item_is_named(self):
        text = "unit_code,form_date,F1.1\r\n02212,2026-01-05,4\r\n"

        errors = self.import_errors(text)

        self.assertIn("line 1: missing column(s): E.FIELD, E.LEVEL", errors[0])

    def test_a_unit_outside_the_round_and_an_unknown_unit_are_errors_naming_the_line(self):
        rows = [form_row(**full_answers()), form_row("10", **full_answers()), form_row("99999", **full_answers())]

        errors = self.import_errors(self.csv(rows))

        self.assertEqual(errors, [
            "line 3, unit_code: unit '10' is outside the round's area (Tỉnh Tuyên Quang (08))",
            "line 4, unit_code: unknown unit code '99999'",
        ])
        self.assertFalse(Response.objects.exists())

    def test_a_unit_code_whose_leading_zero_excel_dropped_is_the_unit_it_was(self):
        # Excel opens the template's 02212 as the number 2212 and saves it so; "8" is the province (08),
        # which forms are entered for too; "212" is no unit once zeros are put back.
        rows = [form_row("2212", **full_answers()), form_row("8", **full_answers()), form_row("212", **full_answers())]

        errors = self.import_errors(self.csv(rows))

        self.assertEqual(errors, ["line 4, unit_code: unknown unit code '212'"])
        result = self.import_rows([form_row("2212", **full_answers()), form_row("02212", **full_answers())])
        self.assertEqual(result.stored, 2)
        self.assertEqual(set(Response.objects.values_list("unit__code", flat=True)), {"02212"})

    def test_bad_dates_and_form_ids_are_errors_naming_the_line(self):
        future = TODAY() + datetime.timedelta(days=2)
        rows = [form_row(**full_answers()), form_row(**full_answers()), form_row(**full_answers())]
        rows[0]["form_date"] = "23/11/2026"
        rows[1]["form_id"] = "not-a-uuid"
        rows[2]["form_date"] = future.isoformat()

        errors = self.import_errors(self.csv(rows))

        self.assertEqual(errors, [
            "line 2, form_date: '23/11/2026' is not a date in the form YYYY-MM-DD",
            "line 3, form_id: 'not-a-uuid' is not a UUID (leave it empty to let the import make one)",
            f"line 4, form_date: {future.isoformat()} is in the future",
        ])

    def test_a_form_id_given_twice_in_a_file_is_an_error(self):
        form_id = str(uuid.uuid4())

        errors = self.import_errors(self.csv([form_row(form_id=form_id, **full_answers()),
                                              form_row(form_id=form_id, **full_answers(**{"G.0": 1}))]))

        self.assertEqual(errors, [f"line 3, form_id: {form_id} is also on line 2"])

    def test_a_stored_form_id_with_different_content_is_a_conflict(self):
        form_id = str(uuid.uuid4())
        self.import_rows([form_row(form_id=form_id, **full_answers())])

        errors = self.import_errors(self.csv([form_row(form_id=form_id, **full_answers(**{"G.0": 1}))]))

        self.assertEqual(errors, [
            "line 2, form_id: a different response with this id was already received (differs in answers)"
        ])

    def test_a_semicolon_separated_file_saved_by_a_vietnamese_excel_imports(self):
        rows = [form_row(**full_answers(**{"E.INFO": ["media", "public_portal"]}))]

        result = paper_import_csv(survey_round=self.round, text=self.csv(rows, delimiter=";"))

        self.assertEqual(result.stored, 1)
        stored = Response.objects.get()
        answers = unpack_answers(stored.questionnaire.parsed, stored.answers, stored.texts)
        self.assertEqual(answers["E.INFO"], ["public_portal", "media"])

    def test_an_empty_file_and_a_header_without_rows_are_refused(self):
        self.assertEqual(self.import_errors(""),
                         ["line 1: the file is empty: it needs the header row of the round's template"])
        self.assertEqual(self.import_errors(self.csv([])), ["line 2: the file has a header but no paper forms"])


class PaperCommandTests(PaperTestCase):
    def setUp(self):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.tmp = Path(directory.name)

    def write(self, rows):
        path = self.tmp / "forms.csv"
        path.write_text(self.csv(rows), encoding="utf-8-sig")
        return path

    def test_the_command_prints_how_many_were_stored_and_already_stored(self):
        path = self.write([form_row(**full_answers()), form_row("02230", **full_answers())])
        first, second = io.StringIO(), io.StringIO()

        call_command("import_paper", "--round", str(self.round.pk), str(path), stdout=first)
        call_command("import_paper", "--round", str(self.round.pk), str(path), stdout=second)

        self.assertEqual(first.getvalue().strip(), "2 stored, 0 already stored")
        self.assertEqual(second.getvalue().strip(), "0 stored, 2 already stored")

    def test_the_command_prints_every_error_and_exits_with_an_error_storing_nothing(self):
        path = self.write([form_row(**full_answers(**{"F3.2": 9})), form_row("10", **full_answers())])
        err = io.StringIO()

        with pytest.raises(CommandError, match="rejected with 2 error"):
            call_command("import_paper", "--round", str(self.round.pk), str(path), stderr=err)

        self.assertEqual(err.getvalue().splitlines(), [
            f"{path}: line 2, F3.2: must be one of 1, 2, 3, 4, 5",
            f"{path}: line 3, unit_code: unit '10' is outside the round's area (Tỉnh Tuyên Quang (08))",
        ])
        self.assertFalse(Response.objects.exists())

    def test_the_command_names_an_unknown_round_and_a_file_that_is_not_utf8(self):
        path = self.tmp / "latin1.csv"
        path.write_bytes("unit_code,form_date\r\nSơn,2026-01-01\r\n".encode("utf-16"))

        with pytest.raises(CommandError, match="unknown round 999999"):
            call_command("import_paper", "--round", "999999", str(path))
        with pytest.raises(CommandError, match="rejected with 1 error"):
            call_command("import_paper", "--round", str(self.round.pk), str(path), stderr=io.StringIO())


class PaperUploadPageTests(PaperTestCase):
    def setUp(self):
        self.client.force_login(self.province_officer)
        self.url = reverse("fieldwork:paper-import", args=[self.round.pk])

    def upload(self, text):
        return self.client.post(self.url, {"file": SimpleUploadedFile("forms.csv", ("\ufeff" + text).encode())},
                                follow=True)

    def test_the_upload_page_imports_a_file_and_says_how_many_were_stored(self):
        page = self.upload(self.csv([form_row(**full_answers()), form_row(**full_answers(**{"G.0": 5}))]))

        self.assertContains(page, "2 paper forms stored, 0 already stored before")
        self.assertEqual(Response.objects.filter(channel=Response.Channel.PAPER).count(), 2)

    def test_the_upload_page_lists_every_error_and_stores_nothing(self):
        page = self.upload(self.csv([form_row(**full_answers()), form_row(**full_answers(**{"F3.2": 6})),
                                     form_row("99999", **full_answers())]))

        self.assertContains(page, "nothing was stored")
        self.assertContains(page, "<li>line 3, F3.2: must be one of 1, 2, 3, 4, 5</li>", html=True)
        self.assertContains(page, "<li>line 4, unit_code: unknown unit code &#x27;99999&#x27;</li>", html=True)
        self.assertFalse(Response.objects.exists())

    def test_a_file_over_the_limit_becomes_a_background_job(self):
        with override_settings(PAPER_UPLOAD_MAX_ROWS=2):
            page = self.upload(self.csv([form_row(**full_answers())] * 3))

        job = PaperImportJob.objects.get()
        self.assertRedirects(page, reverse("fieldwork:paper-import-job", args=[self.round.pk, job.pk]))
        self.assertContains(page, "The file of 3 paper forms is being imported in the background")
        self.assertFalse(Response.objects.exists())  # tests/fieldwork/test_paper_jobs.py runs the worker


class PaperTemplateTests(PaperTestCase):
    def setUp(self):
        self.client.force_login(self.province_officer)

    def test_the_template_header_is_the_fixed_columns_then_every_item_code_in_questionnaire_order(self):
        response = self.client.get(reverse("fieldwork:paper-template", args=[self.round.pk]))

        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        self.assertIn("attachment", response["Content-Disposition"])
        self.assertTrue(response.content.startswith(b"\xef\xbb\xbf"))  # the BOM Excel needs
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
        self.assertEqual(len(rows), 1)
        item_codes = self.round.questionnaire.item_codes
        self.assertEqual(rows[0], ["unit_code", "form_date", "form_id"] + item_codes)

    def test_a_filled_template_imports(self):
        template = self.client.get(reverse("fieldwork:paper-template", args=[self.round.pk])).content.decode("utf-8")
        header = next(csv.reader(io.StringIO(template.removeprefix("\ufeff"))))
        cells = form_row(**full_answers(**{"X.EXPECT": ["shorten_time", "more_online"], "D.AGE": "26-35"}))
        filled = template + ",".join(cells.get(code, "") for code in header) + "\r\n"

        result = paper_import_csv(survey_round=self.round, text=filled)

        self.assertEqual(result.stored, 1)
        stored = Response.objects.get()
        self.assertEqual(unpack_answers(stored.questionnaire.parsed, stored.answers, stored.texts),
                         full_answers(**{"X.EXPECT": ["shorten_time", "more_online"], "D.AGE": "26-35"}))

    def test_the_codebook_gives_each_column_its_vietnamese_question_kind_and_allowed_values(self):
        response = self.client.get(reverse("fieldwork:paper-codebook", args=[self.round.pk]))

        self.assertTrue(response.content.startswith(b"\xef\xbb\xbf"))
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        self.assertEqual([r["item_code"] for r in rows],
                         ["unit_code", "form_date", "form_id"] + self.round.questionnaire.item_codes)
        by_code = {r["item_code"]: r for r in rows}
        self.assertEqual(by_code["E.EXTRA_PAY"]["allowed_values"], "yes=Có; no=Không")
        self.assertIn("0=Không áp dụng", by_code["F1.2"]["allowed_values"])
        self.assertNotIn("0=", by_code["F1.1"]["allowed_values"])
        self.assertEqual(by_code["F5.1"]["asked_only_if"], "F5.0 = yes")
        self.assertIn("02230=Phường Minh Xuân", by_code["unit_code"]["allowed_values"])
        self.assertTrue(all(r["question_vi"] for r in rows))


class PaperLargeFileTests(PaperTestCase):
    def test_a_file_of_many_bad_rows_lists_the_first_problems_and_counts_the_others(self):
        rows = [form_row(**full_answers(**{"F3.2": 9}))] * 40

        with override_settings(IMPORT_ERROR_LIMIT=5), pytest.raises(PaperImportError) as caught:
            self.import_rows(rows)

        self.assertEqual(caught.value.errors[0], "line 2, F3.2: must be one of 1, 2, 3, 4, 5")
        self.assertEqual((len(caught.value.errors), caught.value.more), (5, 35))
        self.assertFalse(Response.objects.exists())

    def test_the_upload_page_lists_the_first_problems_and_says_how_many_more(self):
        self.client.force_login(self.province_officer)
        text = self.csv([form_row("99999", **full_answers())] * 12)

        with override_settings(IMPORT_ERROR_LIMIT=10):
            page = self.client.post(reverse("fieldwork:paper-import", args=[self.round.pk]),
                                    {"file": SimpleUploadedFile("forms.csv", text.encode())})

        self.assertContains(page, "unknown unit code", count=10)
        self.assertContains(page, "… and 2 more problems (only the first 10 are listed).")
        self.assertFalse(Response.objects.exists())

    def test_a_file_larger_than_a_chunk_is_read_twice_and_stored_once(self):
        rows = [form_row(**full_answers(**{"C.COMMENT": f"Ý kiến số {i} " + "x" * 300})) for i in range(300)]
        text = self.csv(rows)
        self.assertGreater(len(text.encode()), 2 * 64 * 1024)

        result = paper_import_csv(survey_round=self.round, file=ContentFile(text.encode()))
        again = paper_import_csv(survey_round=self.round, file=ContentFile(text.encode()))

        self.assertEqual((result.stored, again.stored, again.already_stored), (300, 0, 300))
