"""The score pages' figures agree with each other and are written the Vietnamese way: where responses
come from adds up to the unit's n, the sub-units' count matches their table, the report knows the
round's dossier list, numbers and dates as a Vietnamese reader writes them (page, PDF, CSV)."""

import csv
import datetime
import io
import re

from django.test import Client
from django.utils import timezone, translation

from fieldwork.sampling import dossier_list_import
from scoring import pdf
from scoring.report import unit_report
from scoring.wording import number
from tests.scoring.test_exports import ScoredRoundTestCase as ExportsScoredRound
from tests.scoring.test_exports import read_csv
from tests.scoring.test_pages import rows_of, section
from tests.scoring.test_report import pdf_text
from tests.scoring.test_selectors import ScoredRoundTestCase, compute


def vietnamese_client(user):
    client = Client()  # asks for no language: Vietnamese
    client.force_login(user)
    return client


class SourcesTests(ScoredRoundTestCase):
    def test_where_responses_come_from_includes_the_forms_collected_at_the_unit_itself(self):
        self.client.force_login(self.province_officer)
        html = self.client.get(f"/scores/{self.round.pk}/?unit=02212").content.decode()

        table = section(html, "sources")
        self.assertEqual(rows_of(table), ["02212.TTPV", "02212"])  # 32 at the centre, 8 at the commune itself
        own = re.search(r"<tr[^>]*data-own>(.*?)</tr>", table, re.S).group(1)
        self.assertIn("Xã Sơn Dương itself", own)
        self.assertIn(">8<", own.replace(" ", ""))
        self.assertIn("40 valid responses, at the unit itself and in the units below.", html)

    def test_the_rows_add_up_to_the_unit_n_at_the_province(self):
        from scoring import selectors

        score = selectors.unit_score(survey_round=self.round, unit=self.province)
        sources = selectors.round_sources(survey_round=self.round, unit=self.province, score=score)

        self.assertEqual(sum(row["n"] for row in sources["rows"]), score.n)
        self.assertEqual(sources["own"], 30)


class SubUnitCountTests(ScoredRoundTestCase):
    def test_the_heading_counts_the_rows_of_the_table_and_says_which_unit_is_left_out_and_why(self):
        self.client.force_login(self.province_head)
        html = self.client.get(f"/scores/{self.round.pk}/08/").content.decode()

        listed = rows_of(section(html, "children"))
        self.assertIn(f"{len(listed)} units below", html)
        self.assertEqual(len(listed), 4)
        note = section(html, "children-note")
        self.assertIn("2 of them are listed without figures", note)
        self.assertIn("Not listed: 1 unit that did not exist during this round", note)
        self.assertIn("Xã Đã Nhập", note)

    def test_the_wide_table_scrolls_with_a_hint_and_a_name_and_keeps_the_unit_column_in_view(self):
        self.client.force_login(self.province_head)
        html = self.client.get(f"/scores/{self.round.pk}/08/").content.decode()

        self.assertIn('class="table-responsive score-children-scroll" tabindex="0" role="region" '
                      'aria-labelledby="children-title"', html)
        self.assertIn("sticky-first", section(html, "children"))
        self.assertIn("swipe it sideways", html)


class WordingTests(ScoredRoundTestCase):
    def test_scores_computed_under_a_minute_ago_are_computed_just_now(self):
        html = vietnamese_client(self.province_officer).get(f"/scores/{self.round.pk}/").content.decode()

        self.assertIn("Vừa tính xong từ", html)
        self.assertNotIn("cách đây 0", html)

    def test_the_column_of_links_on_the_scores_home_is_not_headed_open(self):
        html = vietnamese_client(self.province_head).get("/scores/").content.decode()

        header = re.search(r"<thead>(.*?)</thead>", html, re.S).group(1)
        self.assertIn("<th>Xem</th>", header)
        self.assertNotIn("Đang mở", header)


class DossierListNoteTests(ScoredRoundTestCase):
    def import_list(self, fields):
        lines = ["dossier_code,unit_code,service_field,completed_on"]
        day = timezone.localdate().isoformat()
        lines += [f"HS-{i:04d},02212,{fields[i % len(fields)]},{day}" for i in range(1930)]
        return dossier_list_import(survey_round=self.round, name="Hồ sơ quý IV", user=self.province_officer,
                                   text="\n".join(lines) + "\n")

    def method(self, unit=None):
        with translation.override("vi"):
            return " ".join(unit_report(survey_round=self.round, unit=unit or self.province, language="vi").method)

    def test_without_a_list_the_report_says_the_round_has_none(self):
        self.assertIn("đợt khảo sát chưa có danh sách hồ sơ", self.method())

    def test_a_list_imported_after_the_scores_is_named_with_its_size_until_the_next_recompute(self):
        self.import_list(["land"])

        self.assertIn("danh sách hồ sơ “Hồ sơ quý IV” (1.930 hồ sơ, 1.930 hồ sơ thuộc phạm vi đơn vị này) được "
                      "nhập sau lần tính kết quả này", self.method())

    def test_a_list_with_a_field_nobody_answered_for_says_why_there_is_no_weighted_figure(self):
        self.import_list(["land", "construction"])
        compute(self.round)

        self.assertIn("có 1.930 hồ sơ, 1.930 hồ sơ thuộc phạm vi đơn vị này, nhưng có lĩnh vực có hồ sơ mà không "
                      "có phiếu nào ở đây", self.method())

    def test_a_list_that_weights_the_figure_says_so(self):
        self.import_list(["land"])
        compute(self.round)

        method = self.method()
        self.assertNotIn("Không có con số gia quyền", method)
        self.assertNotIn("Chưa có con số gia quyền", method)


class PdfFormatTests(ScoredRoundTestCase):
    def text(self, language, unit=None):
        report = unit_report(survey_round=self.round, unit=unit or self.commune, language=language)
        return pdf_text(pdf.report_pdf(report, compress=False))

    def test_the_vietnamese_pdf_has_no_english_in_general_and_dates_with_slashes(self):
        text = self.text("vi")

        self.assertNotIn("in general", text)
        self.assertIn("(hài lòng chung", text)
        self.assertRegex(text, r"\d\d/\d\d/\d{4} \d\d:\d\d")
        self.assertNotRegex(text, r"\d\d-\d\d-\d{4}")

    def test_the_period_starts_on_the_day_the_round_was_opened_in_vietnam(self):
        # 18:30 UTC on 6 December is 01:30 on 7 December in Vietnam (issue 17's whole-round test).
        self.round.period_start = None
        self.round.opened_at = datetime.datetime(2026, 12, 6, 18, 30, tzinfo=datetime.UTC)
        self.round.save(update_fields=["period_start", "opened_at"])
        text = self.text("vi")

        self.assertIn("từ 07/12/2026", text)
        self.assertNotIn("06/12/2026", text)

    def test_factor_names_are_wrapped_never_cut(self):
        text = self.text("vi")
        report = unit_report(survey_round=self.round, unit=self.commune, language="vi")

        for row in report.factors:  # a label wrapped onto two lines reads back joined by a space
            self.assertIn(f"{row.code} {row.label}", text)

    def test_every_text_of_the_factor_chart_stays_inside_the_page(self):
        from reportlab.graphics.shapes import String
        from reportlab.pdfbase.pdfmetrics import stringWidth

        for language in ("vi", "en"):
            with translation.override(language):
                report = unit_report(survey_round=self.round, unit=self.commune, language=language)
                pdf.register_fonts()
                drawing = pdf._factor_chart(report)
            for shape in drawing.contents:
                if isinstance(shape, String):
                    right = shape.x + stringWidth(shape.text, shape.fontName, shape.fontSize)
                    self.assertLessEqual(right, drawing.width, (language, shape.text))

    def test_counts_are_grouped_as_vietnamese_writes_them(self):
        with translation.override("vi"):
            self.assertEqual(pdf._cell(1930), "1.930")
            self.assertEqual(number(0.05, 2), "0,05")
        with translation.override("en"):
            self.assertEqual(pdf._cell(1930), "1,930")


class ExcelCsvTests(ExportsScoredRound):
    def test_the_excel_variant_splits_on_semicolons_and_writes_decimal_commas(self):
        response = self.get_as(self.province_head, "export.csv", code="08", query="?table=units&dialect=excel-vi")
        body = b"".join(response.streaming_content).decode("utf-8")

        self.assertTrue(body.startswith("\ufeff"))
        self.assertIn("-units-excel-vi.csv", response["Content-Disposition"])
        header, *rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
        province = dict(zip(header, next(row for row in rows if row[0] == "08"), strict=True))
        headline = self.api(self.province)["headline"]["value"]
        self.assertEqual(float(province["SIPAS index (%)"].replace(",", ".")), headline)
        self.assertIn(",", province["SIPAS index (%)"])
        self.assertNotIn(";", body.split("\r\n")[0].replace('";"', ""))  # no separator inside the cells

    def test_the_standard_variant_is_unchanged(self):
        response = self.get_as(self.province_head, "export.csv", code="08", query="?table=units")

        header, *rows = read_csv(response)
        self.assertIn("SIPAS index (%)", header)
        self.assertIn(".", next(row for row in rows if row[0] == "08")[5])

    def test_the_raw_responses_come_in_both_variants(self):
        standard = self.get_as(self.province_officer, "responses.csv", code="08")
        excel = self.get_as(self.province_officer, "responses.csv", code="08", query="?dialect=excel-vi")

        first = b"".join(excel.streaming_content).decode("utf-8").split("\r\n")[0]
        self.assertEqual(standard.status_code, 200)
        self.assertTrue(first.startswith('\ufeff"round";"unit_code"'))

    def test_an_unknown_variant_is_refused_in_the_page_language(self):
        client = vietnamese_client(self.province_head)

        response = client.get(self.url("export.csv", code="08", query="?dialect=tsv"))

        self.assertEqual(response.status_code, 400)
        self.assertIn("Không có kiểu CSV “tsv”", response.content.decode())

    def test_the_unit_page_says_which_csv_is_for_which_program(self):
        html = vietnamese_client(self.province_head).get(self.url("", code="08")).content.decode()

        self.assertIn("Cho Excel cài đặt tiếng Việt", html)
        self.assertIn("CSV chuẩn", html)
        self.assertIn("dialect=excel-vi", html)
