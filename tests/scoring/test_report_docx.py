"""The report as a Word document: read back with python-docx, laid out as Nghị định 30/2020/NĐ-CP
asks, with the figures of the report data (the same as the page and the PDF)."""

import io
import re
from types import SimpleNamespace

from django.test import Client
from django.utils import translation
from docx import Document
from docx.shared import Pt

from scoring import report_docx
from scoring.models import UnitScore
from scoring.report import channel_counts, exclusion_reasons, unit_report
from tests.base import make_user
from tests.scoring.test_exports import ScoredRoundTestCase
from units.models import Role

SECTIONS_VI = ["I. MỤC ĐÍCH", "II. PHẠM VI VÀ PHƯƠNG PHÁP", "III. KẾT QUẢ CHUNG", "IV. KẾT QUẢ THEO YẾU TỐ",
               "V. KẾT QUẢ CÁC ĐƠN VỊ TRỰC THUỘC VÀ XẾP HẠNG", "VI. CÁC TIÊU CHÍ CAO NHẤT VÀ THẤP NHẤT",
               "VII. CÁC CHỈ SỐ CẢM NHẬN", "VIII. NGƯỜI DÂN MONG MUỐN CẢI THIỆN ĐIỀU GÌ NHẤT",
               "IX. KIẾN NGHỊ, ĐỀ XUẤT"]


def headings(document):
    return [p.text for p in document.paragraphs if re.match(r"^[IVX]+\. ", p.text)]


def cell_texts(table):
    return [[cell.text for cell in row.cells] for row in table.rows]


def figure_tables(document):
    """The grid tables (the figures), without the borderless heading and signature tables."""
    return [t for t in document.tables if t.style is not None and t.style.name == "Table Grid"]


class DocxTestCase(ScoredRoundTestCase):
    def setUp(self):
        # The report data writes its figures in the active language when read (``Row.text``): compare in
        # the document's language.
        translation.activate("vi")
        self.addCleanup(translation.deactivate)

    def download(self, user=None, code="02212", client=None):
        client = client or Client()  # the Vietnamese interface
        client.force_login(user or self.head)
        response = client.get(self.url("report.docx", code=code))
        self.assertEqual(response.status_code, 200)
        return Document(io.BytesIO(response.content))

    def build(self, unit, language="vi"):
        report = unit_report(survey_round=self.round, unit=unit, language=language)
        return report, Document(io.BytesIO(report_docx.report_docx(report)))


class DownloadTests(DocxTestCase):
    def test_the_download_is_a_docx_named_after_the_unit(self):
        self.client.force_login(self.head)
        response = self.client.get(self.url("report.docx"))

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"],
                         "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        self.assertIn(f'filename="sipas-round{self.round.pk}-02212-report.docx"', response["Content-Disposition"])
        self.assertEqual(response["Cache-Control"], "private, no-store")
        self.assertTrue(response.content.startswith(b"PK"))

    def test_another_provinces_head_and_a_sibling_communes_head_get_404(self):
        far_head = make_user("far_head", (Role.Kind.HEAD, self.another_province))
        for user, code in ((far_head, "02212"), (far_head, "08"), (self.other_head, "02212"), (self.head, "08"),
                           (self.nobody, "02212")):
            with self.subTest(user=user.username, code=code):
                self.assertEqual(self.get_as(user, "report.docx", code=code).status_code, 404)

    def test_a_round_of_another_province_gives_404_and_anonymous_users_are_sent_to_log_in(self):
        self.assertEqual(self.get_as(self.head, "report.docx", round_id=self.round.pk + 999).status_code, 404)
        self.client.logout()
        response = self.client.get(self.url("report.docx"))
        self.assertEqual(response.status_code, 302)
        self.assertIn("/login", response["Location"])

    def test_a_control_character_in_a_name_is_dropped_rather_than_failing(self):
        self.round.name = "Quý IV/2026\x0b"
        self.round.save(update_fields=["name"])
        self.commune.name = "Xã Sơn\x07 Dương"
        self.commune.save(update_fields=["name"])
        document = self.download()

        self.assertEqual(document.tables[0].rows[0].cells[0].paragraphs[1].text, "XÃ SƠN DƯƠNG")
        self.assertIn("Quý IV/2026", document.core_properties.subject)

    def test_the_report_page_and_the_unit_page_link_to_it(self):
        link = f'href="/scores/{self.round.pk}/02212/report.docx"'
        for page in ("report/", ""):
            with self.subTest(page=page):
                html = self.get_as(self.head, page).content.decode()
                self.assertIn(link, html)


class LayoutTests(DocxTestCase):
    def test_the_sections_come_in_the_order_of_a_results_report(self):
        self.assertEqual(headings(self.download()), SECTIONS_VI)

    def test_a_withheld_unit_has_the_same_sections(self):
        self.assertEqual(headings(self.download(user=self.province_head, code="02230")), SECTIONS_VI)

    def test_the_national_heading_and_motto_top_right_the_agency_top_left(self):
        document = self.download()
        left, right = document.tables[0].rows[0].cells

        national, motto, date = right.paragraphs
        self.assertEqual(national.text, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
        self.assertTrue(all(run.bold for run in national.runs))
        self.assertEqual(motto.text, "Độc lập - Tự do - Hạnh phúc")
        self.assertTrue(all(run.bold and run.underline for run in motto.runs))
        self.assertEqual(date.text, "…, ngày … tháng … năm …")
        self.assertTrue(all(run.italic for run in date.runs))

        lines = [p.text for p in left.paragraphs]
        self.assertEqual(lines[0], "TỈNH TUYÊN QUANG")  # the parent agency, above
        self.assertEqual(lines[1], "XÃ SƠN DƯƠNG")  # the unit, bold
        self.assertTrue(all(run.bold for run in left.paragraphs[1].runs))
        self.assertFalse(any(run.bold for run in left.paragraphs[0].runs))
        self.assertEqual(lines[-1], "Số: …/BC-…")

    def test_the_title_report_is_bold_caps_centred_with_its_summary_line(self):
        document = self.download()
        texts = [p.text for p in document.paragraphs]
        title = document.paragraphs[texts.index("BÁO CÁO")]
        summary = document.paragraphs[texts.index("BÁO CÁO") + 1]

        self.assertEqual(title.alignment, 1)  # centred
        self.assertTrue(all(run.bold for run in title.runs))
        self.assertIn("Xã Sơn Dương", summary.text)
        self.assertIn("Quý IV/2026", summary.text)
        self.assertLess(texts.index("BÁO CÁO"), texts.index(SECTIONS_VI[0]))

    def test_the_recipients_bottom_left_and_the_signature_block_bottom_right(self):
        document = self.download()
        left, right = document.tables[-1].rows[0].cells

        self.assertEqual(left.paragraphs[0].text, "Nơi nhận:")
        self.assertIn("Lưu: VT", left.text)
        self.assertIn("(Chữ ký, dấu)", right.text)
        self.assertIn("Họ và tên", right.text)
        self.assertEqual(document.element.body[-2], document.tables[-1]._tbl)  # last, before the page setup

    def test_a4_with_the_decrees_margins(self):
        section = self.download().sections[0]

        def mm(length):  # Word stores twips: A4 is 11906 × 16838
            return round(length.mm, 1)

        self.assertEqual((mm(section.page_width), mm(section.page_height)), (210.0, 297.0))
        self.assertTrue(20 <= mm(section.top_margin) <= 25)
        self.assertTrue(20 <= mm(section.bottom_margin) <= 25)
        self.assertTrue(30 <= mm(section.left_margin) <= 35)
        self.assertTrue(15 <= mm(section.right_margin) <= 20)

    def test_times_new_roman_13_to_14_pt_everywhere_but_the_recipients(self):
        document = self.download(user=self.province_head, code="08")
        recipients = document.tables[-1].rows[0].cells[0]
        runs = [run for p in document.paragraphs for run in p.runs]
        for table in document.tables[:-1]:
            runs += [run for row in table.rows for cell in row.cells for p in cell.paragraphs for run in p.runs]

        self.assertGreater(len(runs), 100)
        for run in runs:
            self.assertEqual(run.font.name, "Times New Roman", run.text)
            self.assertIn(run.font.size, (Pt(13), Pt(14)), run.text)
        body = [run for p in document.paragraphs for run in p.runs if p.text in SECTIONS_VI]
        self.assertEqual({run.font.size for run in body}, {Pt(14)})
        # Nơi nhận 12 pt, its lines 11 pt, as the decree sets them.
        self.assertEqual({run.font.size for p in recipients.paragraphs for run in p.runs}, {Pt(12), Pt(11)})
        self.assertEqual(document.styles["Normal"].font.name, "Times New Roman")

    def test_the_recommendations_are_left_empty_and_marked_for_the_author(self):
        document = self.download()
        texts = [p.text for p in document.paragraphs]
        after = texts[texts.index(SECTIONS_VI[-1]) + 1]

        self.assertEqual(after, "[Phần này do đơn vị soạn: các kiến nghị, đề xuất.]")


class FigureTests(DocxTestCase):
    def test_the_overall_result_has_the_headline_its_interval_and_the_change(self):
        UnitScore.objects.filter(round=self.round, unit=self.commune).update(change_points=5.11, change_places=-2)
        document = self.download()
        api = self.api(self.commune)
        text = "\n".join(p.text for p in document.paragraphs)
        value = f"{api['headline']['value']:.1f}".replace(".", ",")
        low, high = (f"{v:.1f}".replace(".", ",") for v in api["headline"]["ci"])

        self.assertIn(f"{value}% (khoảng tin cậy 95% {low}–{high})", text)
        self.assertIn("+5,1 điểm, giảm 2 bậc", text)
        self.assertIn("Xếp hạng trong các đơn vị cùng cấp: hạng 1/1.", text)

    def test_a_unit_without_siblings_gets_no_rank_line(self):
        text = "\n".join(p.text for p in self.download(user=self.province_head, code="08").paragraphs)

        self.assertIn("Chỉ số SIPAS", text)
        self.assertNotIn("Xếp hạng trong các đơn vị cùng cấp:", text)
        self.assertNotIn("5,11", text)

    def test_the_factor_table_holds_the_report_datas_figures(self):
        report, document = self.build(self.commune)
        factors = figure_tables(document)[0]
        rows = cell_texts(factors)

        self.assertEqual(rows[0][:2], ["Yếu tố", "Chỉ số (%)"])
        self.assertEqual(len(rows) - 1, len(report.factors))
        for row, factor in zip(rows[1:], report.factors, strict=True):
            self.assertEqual(row, [f"{factor.code} · {factor.label}", factor.text, factor.interval_text,
                                   factor.extra["general_text"], str(factor.n)])
            self.assertRegex(factor.text, r"^(\d+,\d|–)$")  # the Vietnamese decimal comma, or a dash
        self.assertRegex(rows[1][1], r"^\d+,\d$")

    def test_the_criteria_tables_hold_the_weakest_then_the_strongest(self):
        report, document = self.build(self.commune)
        weakest, strongest = figure_tables(document)[2:4]

        self.assertEqual([r[0] for r in cell_texts(weakest)[1:]], [f"{r.code} {r.label}" for r in report.weakest])
        self.assertEqual([r[1] for r in cell_texts(weakest)[1:]], [r.text for r in report.weakest])
        self.assertEqual([r[1] for r in cell_texts(strongest)[1:]], [r.text for r in report.strongest])
        self.assertIn("F1.1", cell_texts(weakest)[1][0] + cell_texts(weakest)[2][0])

    def test_the_ranking_table_agrees_with_the_report_page_and_withholds_what_it_withholds(self):
        UnitScore.objects.filter(round=self.round, unit=self.commune).update(change_points=5.11)
        document = self.download(user=self.province_head, code="08")
        client = Client()
        client.force_login(self.province_head)
        html = client.get(self.url("report/", code="08")).content.decode()
        table = cell_texts(figure_tables(document)[1])
        report = unit_report(survey_round=self.round, unit=self.province, language="vi")

        self.assertEqual(table[0][:3], ["Đơn vị", "n", "Chỉ số (%)"])
        self.assertEqual(table[0][-2:], ["Xếp hạng", "Thay đổi (điểm)"])
        commune = table[1]  # ranked units first
        self.assertEqual(commune[0], "Xã Sơn Dương (02212)")
        headline = f"{self.api(self.commune)['headline']['value']:.1f}".replace(".", ",")
        self.assertEqual(commune[1:3], ["34", headline])
        self.assertEqual(commune[-2:], ["1/1", "+5,1"])
        page_row = re.search(r"<tr>\s*<td>Xã Sơn Dương.*?</tr>", html, re.S).group(0)
        for cell in commune[1:]:
            self.assertIn(f">{cell}<", page_row)
        sub = next(s for s in report.sub_units if s.unit == self.commune)
        self.assertEqual(commune[3:-2], [value for _code, value in sub.factors])

        withheld = {row[0]: row for row in table[2:]}
        self.assertEqual(set(withheld), {"Phường Minh Xuân (02230)", f"{self.injected.name} (02299)"})
        other = withheld["Phường Minh Xuân (02230)"]
        self.assertEqual(other[1], "5")
        self.assertEqual(set(other[2:]), {"5 phiếu, chưa đủ 30 phiếu tối thiểu"})  # merged across the figures
        for row in withheld.values():
            self.assertFalse(any(re.search(r"\d,\d", cell) for cell in row), row)

    def test_a_withheld_unit_gets_the_reason_and_no_figures(self):
        document = self.download(user=self.province_head, code="02230")
        text = "\n".join(p.text for p in document.paragraphs)

        self.assertIn("Chỉ có 5 phiếu hợp lệ", text)
        self.assertEqual(figure_tables(document), [])  # no factor, criterion, indicator nor sub-unit figures
        self.assertFalse(re.search(r"\d+,\d%", text), text)

    def test_the_method_section_gives_the_sample_channels_minimum_exclusions_and_withheld_units(self):
        document = self.download(user=self.province_head, code="08")
        texts = [p.text for p in document.paragraphs]
        method = "\n".join(texts[texts.index(SECTIONS_VI[1]) + 1:texts.index(SECTIONS_VI[2])])

        self.assertIn("Phiếu giấy: 43", method)  # 44 paper responses in the area, 1 excluded (1 over quota kept)
        self.assertIn("Số phiếu hợp lệ tối thiểu để hiển thị và xếp hạng kết quả của một đơn vị: 30.", method)
        self.assertIn("Phường Minh Xuân (5 phiếu, chưa đủ 30 phiếu tối thiểu)", method)
        self.assertIn(": 1", method.split("loại")[-1])  # one excluded, with its reason
        for paragraph in unit_report(survey_round=self.round, unit=self.province, language="vi").method:
            self.assertIn(paragraph, method)
        self.assertRegex(method, r"\d{2}/\d{2}/\d{4}")  # the period's dates as 06/12/2026

    def test_the_channel_and_exclusion_counts(self):
        self.assertEqual([(str(label), n) for label, n in channel_counts(survey_round=self.round, unit=self.commune)],
                         [("Phiếu giấy", 35)])
        self.assertEqual([n for _label, n in exclusion_reasons(survey_round=self.round, unit=self.province)], [1])
        self.assertEqual(exclusion_reasons(survey_round=self.round, unit=self.other_commune), [])

    def test_the_indicators_and_expectations_tables_hold_the_report_datas_shares(self):
        report, document = self.build(self.commune)
        tables = figure_tables(document)[4:]

        for indicator, table in zip(report.indicators, tables, strict=False):
            self.assertEqual(cell_texts(table)[1:], [[o["label"], o["text"]] for o in indicator["options"]])
        expectations = cell_texts(tables[len(report.indicators)])
        self.assertEqual([row[0] for row in expectations[1:]], [r.label for r in report.expectations])
        self.assertEqual([row[2] for row in expectations[1:]], [r.text for r in report.expectations])

    def test_in_english_the_figures_use_a_decimal_point_but_the_national_heading_stays(self):
        report, document = self.build(self.commune, language="en")
        translation.activate("en")

        self.assertEqual(headings(document)[0], "I. PURPOSE")
        self.assertEqual(document.tables[0].rows[0].cells[1].paragraphs[0].text, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
        self.assertRegex(cell_texts(figure_tables(document)[0])[1][1], r"^\d+\.\d$")


class BlockHookTests(DocxTestCase):
    def test_with_blocks_in_the_report_data_each_block_gets_its_own_ranking_table(self):
        report = unit_report(survey_round=self.round, unit=self.province, language="vi")
        communes = [s for s in report.sub_units if s.unit.code != "02230"]
        others = [s for s in report.sub_units if s.unit.code == "02230"]
        report.blocks = [SimpleNamespace(name="Khối xã, phường", sub_units=communes),
                         SimpleNamespace(name="Khối khác", sub_units=others)]
        document = Document(io.BytesIO(report_docx.report_docx(report)))
        texts = [p.text for p in document.paragraphs]

        self.assertIn("Khối xã, phường", texts)
        self.assertIn("Khối khác", texts)
        tables = figure_tables(document)
        self.assertEqual([row[0] for row in cell_texts(tables[1])[1:]], [
            "Xã Sơn Dương (02212)", f"{self.injected.name} (02299)"])
        self.assertEqual([row[0] for row in cell_texts(tables[2])[1:]], ["Phường Minh Xuân (02230)"])


class WidthTests(DocxTestCase):
    def test_the_tables_fit_between_the_margins_and_the_ranking_table_gives_the_names_room(self):
        document = self.download(user=self.province_head, code="08")
        text_width = 210 - 30 - 15

        for table in figure_tables(document):
            widths = [cell.width.mm for cell in table.rows[0].cells]
            self.assertLessEqual(sum(widths), text_width + 1)
        ranking = figure_tables(document)[1]
        widths = [cell.width.mm for cell in ranking.rows[0].cells]
        self.assertGreater(widths[0], 35)
        self.assertEqual(widths[0], max(widths))
