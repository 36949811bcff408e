"""The report as a Word document (python-docx), for provinces to edit before it is signed.

Same data as the HTML page and the PDF (``scoring.report.unit_report``): nothing is computed again
here, only laid out as Vietnamese administrative documents are (Nghị định 30/2020/NĐ-CP, appendix I):
A4; margins top and bottom 20 mm, left 30 mm, right 15 mm; Times New Roman, 13 pt for the heading
block and the tables, 14 pt for the text; the national heading (Quốc hiệu) and motto (Tiêu ngữ) top
right, the issuing agency top left with the number "Số: …/BC-…" under it, place and date in italics,
the title "BÁO CÁO" with its summary line, the sections of a results report, and at the bottom the
recipients ("Nơi nhận:") and the signature block, as placeholders the author fills in.

The national heading, the motto and the placeholders are always Vietnamese (the document's form);
the rest follows the report's language.

Ranking tables: ``ranking_groups(report)`` gives those of section V as (heading, rows): a table a
block (``scoring.report.BlockTable``: the units below in that block, with their places in the whole
block) where the units below are ranked in blocks, else one table of the units directly below,
ranked among themselves.
"""

import io
import re

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from scoring import wording
from scoring.report import Report, count, percent

FONT = "Times New Roman"
TEXT_SIZE = Pt(14)
SMALL_SIZE = Pt(13)  # the heading block, the tables, the recipients and the signature block
GAP = Pt(6)  # after a paragraph
MARGINS = {"top": Mm(20), "bottom": Mm(20), "left": Mm(30), "right": Mm(15)}
NATIONAL_HEADING = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
NUMBER_PLACEHOLDER = "Số: …/BC-…"
DATE_PLACEHOLDER = "…, ngày … tháng … năm …"


def section_titles() -> list[str]:
    """The report's sections, in order, in the active language (the numbering is added when written)."""
    return [_("Purpose"), _("Scope and method"), _("Overall result"), _("Results by factor"),
            _("Results by unit below, with the ranking"), _("Strongest and weakest criteria"),
            _("Perception indicators"), _("What citizens most want improved"), _("Recommendations")]


ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]


def ranking_groups(report: Report) -> list[tuple[str, list]]:
    """The ranking tables of section V as (heading, sub-units): one table a block where the report
    data has blocks (ranks by block), else one table of all the units below, ranked among siblings."""
    if report.blocks:
        return [(block.name, list(block.sub_units)) for block in report.blocks]
    return [(_("Units directly below, ranked among themselves"), list(report.sub_units))]


def _sorted_for_ranking(rows):
    """Ranked units first by rank, then the others (withheld, no responses); ties and the others by
    name as people read them (as the league table)."""
    return sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, wording.name_key(r.unit.name), r.unit.code))


NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _add(paragraph, text):
    """A run of text; characters XML cannot hold (control characters in a pasted name) are dropped."""
    return paragraph.add_run(NOT_IN_XML.sub("", str(text)))


def _font(run, size=TEXT_SIZE, bold=None, italic=None, underline=None):
    run.font.name = FONT
    run.font.size = size
    # East Asian and complex-script slots too, so that Word does not swap the font for Vietnamese letters.
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for slot in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(slot), FONT)
    if bold is not None:
        run.bold = bold
    if italic is not None:
        run.italic = italic
    if underline is not None:
        run.underline = underline
    return run


def _para(container, text="", *, size=TEXT_SIZE, bold=False, italic=False, underline=False, align=None,
          space_after=GAP, indent=False):
    paragraph = container.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    paragraph.paragraph_format.space_after = space_after
    paragraph.paragraph_format.space_before = Pt(0)
    if indent:
        paragraph.paragraph_format.first_line_indent = Mm(10)
    if text:
        _font(_add(paragraph, text), size=size, bold=bold, italic=italic, underline=underline)
    return paragraph


def _no_borders(table):
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def _setup(document):
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = MARGINS["top"], MARGINS["bottom"]
    section.left_margin, section.right_margin = MARGINS["left"], MARGINS["right"]
    style = document.styles["Normal"]
    style.font.name, style.font.size = FONT, TEXT_SIZE
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)


def _heading_block(document, report: Report):
    """Agency and number top left; national heading, motto and place/date top right."""
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    table.autofit = False
    left, right = table.rows[0].cells
    left.width, right.width = Mm(65), Mm(100)
    centre = WD_ALIGN_PARAGRAPH.CENTER
    left.paragraphs[0].alignment = centre
    parent = report.unit.parent
    if parent is not None:
        _font(_add(left.paragraphs[0], parent.name.upper()), size=SMALL_SIZE)
        unit_line = _para(left, align=centre, space_after=Pt(0))
    else:
        unit_line = left.paragraphs[0]
    _font(_add(unit_line, report.unit.name.upper()), size=SMALL_SIZE, bold=True)
    _para(left, "———", size=SMALL_SIZE, align=centre, space_after=Pt(3))
    _para(left, NUMBER_PLACEHOLDER, size=SMALL_SIZE, align=centre, space_after=Pt(0))

    right.paragraphs[0].alignment = centre
    _font(_add(right.paragraphs[0], NATIONAL_HEADING), size=SMALL_SIZE, bold=True)
    _para(right, MOTTO, size=SMALL_SIZE, bold=True, underline=True, align=centre, space_after=Pt(6))
    _para(right, DATE_PLACEHOLDER, size=SMALL_SIZE, italic=True, align=centre, space_after=Pt(0))
    return table


def _title(document, report: Report):
    _para(document, space_after=Pt(6))
    _para(document, _("REPORT"), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=Pt(0))
    summary = _("%(title)s, %(round)s, %(unit)s") % {
        "title": report.title, "round": report.survey_round.name, "unit": report.unit.name}
    _para(document, summary, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=Pt(12))


def _heading(document, number, text):
    paragraph = _para(document, f"{ROMAN[number]}. {text.upper()}", bold=True, space_after=Pt(6))
    paragraph.paragraph_format.space_before = Pt(6)
    paragraph.paragraph_format.keep_with_next = True
    return paragraph


def _table(document, rows, *, widths=None):
    """A grid table of texts: the first row a bold header, numbers right-aligned."""
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    if widths:
        table.autofit = False
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            cell = table.cell(r, c)
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.space_after = Pt(0)
            if c > 0:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if r == 0 else WD_ALIGN_PARAGRAPH.RIGHT
            _font(_add(paragraph, str(value)), size=SMALL_SIZE, bold=r == 0)
            if widths:
                cell.width = widths[c]
    _para(document, space_after=Pt(3))
    return table


def _merge_reason(table, row_index, first, text):
    """A withheld unit's row: its reason across the figure columns, in italics."""
    row = table.rows[row_index]
    merged = row.cells[first].merge(row.cells[-1])
    for paragraph in merged.paragraphs[1:]:
        paragraph._element.getparent().remove(paragraph._element)
    paragraph = merged.paragraphs[0]
    for run in list(paragraph.runs):
        run._element.getparent().remove(run._element)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT
    _font(_add(paragraph, text), size=SMALL_SIZE, italic=True)


def _purpose(document, report: Report):
    _para(document, _("To report the citizens' and organisations' satisfaction with the public administrative "
                      "services of %(unit)s, measured by the survey round “%(round)s” (%(questionnaire)s), so "
                      "that the unit can see where it serves well and where it must improve.") % {
        "unit": report.unit.name, "round": report.survey_round.name, "questionnaire": report.questionnaire},
        indent=True)


def _scope_and_method(document, report: Report, channels, exclusions):
    n = report.headline.n if report.headline else None
    _para(document, _("Survey period: %(period)s. Questionnaire: %(questionnaire)s (%(code)s).") % {
        "period": report.period, "questionnaire": report.questionnaire,
        "code": report.survey_round.questionnaire.code}, indent=True)
    if channels:
        listed = "; ".join(f"{label}: {count(value)}" for label, value in channels)
        _para(document, _("Responses collected by channel: %(channels)s.") % {"channels": listed}, indent=True)
    if n is not None:
        _para(document, _("Valid responses used for this unit's figures: %(n)s.") % {"n": count(n)}, indent=True)
    # The minimum n, what is excluded and how the figures are made: the report's method note, below.
    if exclusions:
        listed = "; ".join(f"{label}: {count(value)}" for label, value in exclusions)
        _para(document, _("Responses excluded by the survey officers, by reason: %(reasons)s.") % {
            "reasons": listed}, indent=True)
    withheld = [row for row in report.sub_units if not row.enough]
    if withheld:
        listed = "; ".join(f"{row.unit.name} ({row.note})" for row in withheld)
        _para(document, _("Units below whose figures are withheld: %(units)s.") % {"units": listed}, indent=True)
    for text in report.method:
        _para(document, text, indent=True)


def _overall(document, report: Report):
    h = report.headline
    _para(document, _("%(label)s: %(value)s (95%% interval %(interval)s), from %(n)s valid responses.") % {
        "label": h.label, "value": percent(h.value), "interval": h.interval_text, "n": count(h.n)}, indent=True)
    _para(document, _("Change since the previous round: %(change)s.") % {"change": h.change_text}, indent=True)
    if h.block_rank_text:
        _para(document, _("Rank in its block: %(rank)s.") % {"rank": h.block_text}, indent=True)
    if h.rank is not None:
        _para(document, _("Rank among sibling units: %(rank)s.") % {"rank": h.rank_text}, indent=True)
    if h.weighted is not None:
        _para(document, _("Weighted by service field: %(value)s.") % {"value": percent(h.weighted)}, indent=True)


def _by_factor(document, report: Report):
    rows = [[_("Factor"), _("Index (%)"), _("Interval (95%)"), _("“In general” rate (%)"), "n"]]
    rows += [[f"{r.code} · {r.label}", r.text, r.interval_text, r.extra.get("general_text", "–"),
              "–" if r.n is None else count(r.n)] for r in report.factors]
    _table(document, rows, widths=[Mm(70), Mm(20), Mm(27), Mm(30), Mm(18)])


def _ranking_widths(factors):
    """The ranking table's columns: the figures as narrow as they can be, the unit's name the rest."""
    figures = [13, 16, *[12] * factors, 17, 19]  # mm
    return [Mm(max(165 - sum(figures), 35)), *[Mm(width) for width in figures]]


def _by_sub_unit(document, report: Report):
    if not report.sub_units:
        _para(document, _("This unit has no units below it in the round."), indent=True)
        return
    codes = report.factor_codes
    for heading, units in ranking_groups(report):
        _para(document, heading, italic=True, space_after=Pt(3))
        rows = [[_("Unit"), "n", _("Index (%)"), *codes, _("Rank"), _("Change (points)")]]
        withheld = []
        for row in _sorted_for_ranking(units):
            name = f"{row.unit.name} ({row.unit.code})"
            if row.enough:
                rows.append([name, count(row.n), row.text, *[value for _code, value in row.factors],
                             row.rank_text, row.change_text])
            else:
                withheld.append((len(rows), row.note))
                rows.append([name, "–" if row.n is None else count(row.n), "", *[""] * len(codes), "", ""])
        table = _table(document, rows, widths=_ranking_widths(len(codes)))
        for index, note in withheld:
            _merge_reason(table, index, 2, note)


def _criteria(document, report: Report):
    def table(rows):
        data = [[_("Criterion"), _("Rate (%)"), _("Interval (95%)"), "n"]]
        data += [[f"{r.code} {r.label}", r.text, r.interval_text, "–" if r.n is None else count(r.n)] for r in rows]
        _table(document, data, widths=[Mm(95), Mm(20), Mm(30), Mm(20)])

    _para(document, _("Weakest: where to improve first"), italic=True, space_after=Pt(3))
    table(report.weakest)
    _para(document, _("Strongest"), italic=True, space_after=Pt(3))
    table(report.strongest)


def _indicators(document, report: Report):
    for indicator in report.indicators:
        _para(document, f"{indicator['text']} (n = {count(indicator['n'])})", italic=True, space_after=Pt(3))
        _table(document, [[_("Answer"), _("Share")]] + [[o["label"], o["text"]] for o in indicator["options"]],
               widths=[Mm(125), Mm(40)])


def _expectations(document, report: Report):
    if not report.expectations:
        _para(document, _("Nobody answered this question."), indent=True)
        return
    rows = [[_("Wish"), _("Times chosen"), _("Share of those who answered (%)")]]
    rows += [[r.label, count(r.n), r.text] for r in report.expectations]
    _table(document, rows, widths=[Mm(95), Mm(30), Mm(40)])


def _recommendations(document):
    _para(document, "[" + _("To be written by the unit: its recommendations and proposals.") + "]", italic=True,
          indent=True)
    _para(document, "…", indent=True)


def _closing(document):
    """Recipients bottom left, the signature block bottom right: placeholders."""
    _para(document, space_after=Pt(6))
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    table.autofit = False
    left, right = table.rows[0].cells
    left.width, right.width = Mm(80), Mm(85)
    _font(_add(left.paragraphs[0], "Nơi nhận:"), size=Pt(12), bold=True, italic=True)
    for line in ("- …;", "- …;", "- Lưu: VT, …."):
        _para(left, line, size=Pt(11), space_after=Pt(0))
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(_add(right.paragraphs[0], "QUYỀN HẠN, CHỨC VỤ CỦA NGƯỜI KÝ"), size=SMALL_SIZE, bold=True)
    _para(right, "(Chữ ký, dấu)", size=SMALL_SIZE, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER,
          space_after=Pt(60))
    _para(right, "Họ và tên", size=SMALL_SIZE, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=Pt(0))


def report_docx(report: Report, *, channels=(), exclusions=()) -> bytes:
    """The report as DOCX bytes. ``channels`` and ``exclusions`` are (label, count) pairs for the method
    section (``scoring.report.channel_counts`` and ``exclusion_reasons``)."""
    with translation.override(report.language):
        document = Document()
        _setup(document)
        core = document.core_properties
        core.title = NOT_IN_XML.sub("", f"{report.title}: {report.unit.name}")
        core.author, core.subject = "SIPAS", NOT_IN_XML.sub("", report.survey_round.name)
        core.created = timezone.now()
        _heading_block(document, report)
        _title(document, report)
        titles = section_titles()
        _heading(document, 0, titles[0])
        _purpose(document, report)
        _heading(document, 1, titles[1])
        _scope_and_method(document, report, channels, exclusions)
        _heading(document, 2, titles[2])
        if report.enough:
            _overall(document, report)
        else:
            _para(document, report.reason, indent=True)
        for number, write in ((3, _by_factor), (4, None), (5, _criteria), (6, _indicators), (7, _expectations)):
            _heading(document, number, titles[number])
            if number == 4:
                _by_sub_unit(document, report)
            elif report.enough:
                write(document, report)
            else:
                _para(document, _("No figures: see section III."), indent=True)
        _heading(document, 8, titles[8])
        _recommendations(document)
        made = formats.date_format(timezone.localtime(report.generated_at), "SHORT_DATETIME_FORMAT")
        _para(document, _("Report made on %(when)s from the stored scores.") % {"when": made}, size=SMALL_SIZE,
              italic=True)
        _closing(document)
        out = io.BytesIO()
        document.save(out)
    return out.getvalue()
