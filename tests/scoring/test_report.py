"""The printable report of a unit for a round: the HTML page and its PDF, from one data structure."""

import re

from django.test import Client

from fieldwork.services import round_create
from scoring import pdf
from scoring.models import ScoreRun, UnitScore
from scoring.report import unit_report
from scoring.services import score_run_execute, score_run_for_command, scores_for_api
from tests.base import make_unit
from tests.fieldwork.base import full_answers
from tests.scoring.test_exports import ScoredRoundTestCase, insert
from units.models import Unit


def _literal(raw: bytes) -> bytes:
    """The bytes of a PDF string literal: backslash escapes and octal codes undone."""
    out, i = bytearray(), 0
    while i < len(raw):
        char = raw[i]
        if char == 0x5C:  # backslash
            octal = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4])
            if octal:
                out.append(int(octal.group(), 8))
                i += 1 + len(octal.group())
                continue
            escaped = raw[i + 1:i + 2]
            out += {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(escaped, escaped)
            i += 2
            continue
        out.append(char)
        i += 1
    return bytes(out)


def pdf_text(data: bytes) -> str:
    """The text shown on an uncompressed reportlab PDF's pages, read through the fonts' ToUnicode
    maps (reportlab puts Vietnamese letters of a TrueType font in subsets with codes of their own)."""
    objects = {int(n): body for n, body in re.findall(rb"(\d+) 0 obj(.*?)endobj", data, re.S)}
    maps = {}
    for name, ref in re.findall(rb"/(F\d+(?:\+\d+)?) (\d+) 0 R", data):
        to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", objects.get(int(ref), b""))
        if to_unicode:
            pairs = re.findall(rb"<([0-9A-Fa-f]{2})> <([0-9A-Fa-f]{4,})>", objects[int(to_unicode.group(1))])
            maps[name] = {int(code, 16): chr(int(uni, 16)) for code, uni in pairs if int(uni, 16)}
    text, current = [], {}
    for match in re.finditer(rb"/(F\d+(?:\+\d+)?) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", data, re.S):
        if match.group(1):
            current = maps.get(match.group(1), {})
        else:
            text.append("".join(current.get(b, chr(b)) for b in _literal(match.group(2))))
    return " ".join(text)


def page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", data))


class ReportPageTests(ScoredRoundTestCase):
    def page(self, user=None, code="02212", client=None):
        client = client or self.client
        client.force_login(user or self.head)
        response = client.get(self.url("report/", code=code))
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def test_it_reads_like_a_results_report_with_the_headline_rank_and_interval(self):
        html = self.page()
        api = self.api(self.commune)

        self.assertIn("Citizen satisfaction with public administrative services: results report", html)
        self.assertIn("Xã Sơn Dương", html)
        self.assertIn("Quý IV/2026", html)
        self.assertIn(f"{api['headline']['value']:.1f}", html)  # 76.5
        low, high = api["headline"]["ci"]
        self.assertIn(f"95% interval {low:.1f}–{high:.1f}", html)
        self.assertRegex(html, r"Rank among sibling units</dt>\s*<dd>1st of 1</dd>")
        for section in ("Overall result", "Factor indices", "Strongest and weakest criteria",
                        "Perception indicators", "What citizens most want improved", "Units below", "Method"):
            self.assertIn(section, html)

    def test_the_weakest_criteria_come_first_and_the_factor_chart_is_drawn(self):
        html = self.page()

        weakest = html.split("Weakest: where to improve first")[1].split("Strongest")[0]
        self.assertIn("F1.1", weakest)  # 26 of 34 satisfied: the only criterion below 100 % but F2.1
        self.assertIn("F2.1", weakest)
        self.assertIn("<svg", html)
        self.assertIn("Factor indices", html)

    def test_the_method_note_says_what_was_excluded_and_the_minimum(self):
        html = self.page()

        self.assertIn("the rate of the overall question G.0", html)
        self.assertIn("95% Wilson score interval", html)
        self.assertIn("shown and ranked: 30", html)
        self.assertIn("Responses received for this unit and the units below it: 36; excluded by the survey "
                      "officers (test entries, duplicates, straight-lining, too fast…): 1; over quota, left out of "
                      "the scores: 1; valid responses used: 34.", html)
        self.assertIn("No weighted figure", html)

    def test_a_sub_unit_below_the_minimum_is_greyed_with_the_reason_and_no_figure(self):
        html = self.page(user=self.province_head, code="08")

        rows = re.findall(r'<tr class="report-muted" data-testid="sub-unit-not-enough">(.*?)</tr>', html, re.S)
        self.assertEqual(len(rows), 2)
        other = next(row for row in rows if "02230" in row)
        self.assertIn("5 responses, fewer than the 30 needed", other)
        self.assertNotIn("%", other)

    def test_a_unit_below_the_minimum_gets_the_reason_instead_of_figures(self):
        html = self.page(user=self.province_head, code="02230")

        self.assertIn("Only 5 valid responses: at least 30 are needed before figures are shown.", html)
        self.assertNotIn('data-testid="headline"', html)
        self.assertNotIn('data-testid="factors"', html)

    def test_the_report_is_in_vietnamese_on_the_vietnamese_ui(self):
        html = self.page(client=Client())

        self.assertIn("Tiếp cận dịch vụ hành chính công", html)  # factor F1, from the questionnaire
        self.assertIn("Nơi ngồi chờ có đủ chỗ ngồi.", html)
        self.assertIn(f"{self.api(self.commune)['headline']['value']:.1f}".replace(".", ","), html)

    def test_print_css_gives_a4_pages_without_the_navigation(self):
        html = self.page()
        css = (self.settings_static_root() / "scoring" / "print.css").read_text()

        self.assertIn("scoring/print.css", html)
        self.assertIn("@page { size: A4;", css)
        self.assertRegex(css, r"nav\.navbar, \.report-actions \{ display: none !important; \}")
        self.assertIn("break-inside: avoid", css)

    @staticmethod
    def settings_static_root():
        from pathlib import Path

        return Path(__file__).resolve().parents[2] / "static"

    def test_the_page_runs_a_fixed_number_of_queries_whatever_the_number_of_sub_units(self):
        def count():
            self.client.force_login(self.province_head)
            # session, user, round, unit, role, the unit's score, its children's scores, the children,
            # the response counts, the round's latest dossier list with its counts; the tables by block:
            # the round's blocks, its scores, the previous round (none), the listed units' scores; the
            # round's integrity settings and the integrity flags in the area by kind
            with self.assertNumQueries(16):
                self.assertEqual(self.client.get(self.url("report/", code="08")).status_code, 200)

        count()
        run = ScoreRun.objects.get(round=self.round, status="done")
        template = UnitScore.objects.get(round=self.round, unit=self.commune)
        for i in range(10):
            unit = make_unit(f"039{i:02d}", self.province)
            UnitScore.objects.create(run=run, round=self.round, unit=unit, n=40, enough=True, headline=80.0,
                                     factors=template.factors, items={}, computed_at=template.computed_at)
        count()


class ReportPdfTests(ScoredRoundTestCase):
    def test_the_download_is_an_a4_pdf_named_after_the_unit(self):
        self.client.force_login(self.head)
        response = self.client.get(self.url("report.pdf"))

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/pdf")
        self.assertIn(f'filename="sipas-round{self.round.pk}-02212-report.pdf"', response["Content-Disposition"])
        self.assertTrue(response.content.startswith(b"%PDF-"))
        self.assertIn(b"/MediaBox [ 0 0 595.2756 841.8898 ]", response.content)  # A4 in points

    def test_it_holds_the_unit_name_and_the_headline_figure_in_two_to_four_pages(self):
        report = unit_report(survey_round=self.round, unit=self.commune, language="vi")
        data = pdf.report_pdf(report, compress=False)
        text = pdf_text(data)

        self.assertTrue(2 <= page_count(data) <= 4, page_count(data))
        self.assertIn("Xã Sơn Dương (02212)", text)
        headline = f"{self.api(self.commune)['headline']['value']:.1f}".replace(".", ",")
        self.assertIn(f"{headline}%", text)
        self.assertIn("Tiếp cận dịch vụ hành chính công", text)
        self.assertIn("DejaVuSans", data.decode("latin-1"))  # the vendored font, embedded

    def test_a_unit_below_the_minimum_gets_the_reason_in_the_pdf_too(self):
        report = unit_report(survey_round=self.round, unit=self.other_commune, language="en")
        text = pdf_text(pdf.report_pdf(report, compress=False))

        self.assertIn("Only 5 valid responses: at least 30 are needed before figures are shown.", text)
        self.assertNotIn("Overall result", text)

    def test_the_html_and_the_pdf_show_the_same_report(self):
        report = unit_report(survey_round=self.round, unit=self.province, language="en")
        text = pdf_text(pdf.report_pdf(report, compress=False))
        self.client.force_login(self.province_head)
        html = self.client.get(self.url("report/", code="08")).content.decode()

        for row in report.weakest + report.strongest:
            self.assertIn(row.code, text)
            self.assertIn(row.code, html)
        for paragraph in report.method[:3]:
            self.assertIn(paragraph.split(" ")[0], text)
        self.assertIn("5 responses, fewer than the 30 needed", text)


class RankAndChangeTests(ScoredRoundTestCase):
    """The page, the report and its PDF write a unit's rank and change in the same words and decimals
    (they once read "+5,11 điểm" on the page and "+5,1" in the PDF)."""

    def setUp(self):
        UnitScore.objects.filter(round=self.round, unit=self.commune).update(change_points=5.11, change_places=-2)
        self.client = Client()  # the Vietnamese interface

    def test_the_unit_page_the_report_and_the_pdf_say_the_same(self):
        self.client.force_login(self.head)
        page = self.client.get(self.url("")).content.decode()
        html = self.client.get(self.url("report/")).content.decode()
        text = pdf_text(pdf.report_pdf(unit_report(survey_round=self.round, unit=self.commune, language="vi"),
                                       compress=False))

        for surface in (page, html, text):
            self.assertIn("+5,1 điểm, giảm 2 bậc", surface)
            self.assertIn("hạng 1/1", surface)
            self.assertNotIn("5,11", surface)

    def test_the_sub_unit_tables_of_the_report_and_the_pdf_agree(self):
        self.client.force_login(self.province_head)
        html = self.client.get(self.url("report/", code="08")).content.decode()
        text = pdf_text(pdf.report_pdf(unit_report(survey_round=self.round, unit=self.province, language="vi"),
                                       compress=False))

        row = re.search(r"<tr>\s*<td>Xã Sơn Dương.*?</tr>", html, re.S).group(0)
        self.assertIn('<td class="num">1/1</td>', row)
        self.assertIn('<td class="num">+5,1</td>', row)
        self.assertRegex(text, r"Xã Sơn Dương \(02212\) 34 .* 1/1 \+5,1 ")


class ServicesQuestionnaireTests(ScoredRoundTestCase):
    """The 2023 method: the headline is the mean of the service factors, with a normal interval."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        province = make_unit("20", level=Unit.Level.PROVINCE, name="Tỉnh Thái Nguyên")
        cls.services_commune = make_unit("05500", province, name="Phường Phan Đình Phùng")
        cls.services_round = round_create(name="Năm 2026", questionnaire_code="sipas-2023-services",
                                          unit_code="20", open_now=True)
        insert(cls.services_round, cls.services_commune, full_answers("sipas-2023-services"), 31)
        score_run_execute(run_id=score_run_for_command(round_id=cls.services_round.pk).pk)

    def test_its_report_names_the_services_index_and_its_formula(self):
        self.client.force_login(self.admin)
        url = f"/scores/{self.services_round.pk}/05500/"
        html = self.client.get(url + "report/").content.decode()
        api = scores_for_api(survey_round=self.services_round, unit=self.services_commune)

        self.assertIn("Services index", html)
        self.assertIn("the unweighted mean of the indices of S1, S2, S3, S4, S5", html)
        self.assertIn(f"{api['headline']['value']:.1f}", html)
        text = pdf_text(pdf.report_pdf(unit_report(survey_round=self.services_round, unit=self.services_commune,
                                                   language="en"), compress=False))
        self.assertIn("Phường Phan Đình Phùng (05500)", text)
        self.assertIn(f"{api['headline']['value']:.1f}%", text)
        response = self.client.get(url + "export.xlsx")
        self.assertEqual(response.status_code, 200)
