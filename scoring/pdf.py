"""The printable report as a PDF (reportlab), from the same data as the HTML page (scoring.report).

Vietnamese needs a TrueType font with its glyphs: DejaVu Sans, registered by ``surveyapp.pdf_fonts``.
"""

import io
from xml.sax.saxutils import escape

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from scoring.report import Report, count, pct
from surveyapp.pdf_fonts import BOLD, REGULAR, register_fonts

INK = colors.HexColor("#212529")
MUTED = colors.HexColor("#6c757d")
GREY_FILL = colors.HexColor("#f1f3f5")
RULE = colors.HexColor("#dee2e6")
BAR = colors.HexColor("#3d6ea8")
PAGE_WIDTH = A4[0] - 28 * mm  # between the margins
SUB_UNIT_ROWS = 40


def _styles():
    base = ParagraphStyle("base", fontName=REGULAR, fontSize=9, leading=12, textColor=INK)
    return {
        "base": base,
        "para": ParagraphStyle("para", parent=base, spaceAfter=4),
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=10, textColor=MUTED),
        "kicker": ParagraphStyle("kicker", parent=base, fontSize=8, textColor=MUTED),
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=15, leading=19, spaceAfter=4),
        "unit": ParagraphStyle("unit", parent=base, fontSize=13, leading=17, spaceAfter=8),
        "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=11.5, leading=15, spaceBefore=12,
                             spaceAfter=5, keepWithNext=1),
        "h3": ParagraphStyle("h3", parent=base, fontName=BOLD, fontSize=9.5, spaceBefore=4, spaceAfter=3,
                             keepWithNext=1),
        "figure": ParagraphStyle("figure", parent=base, fontName=BOLD, fontSize=30, leading=34),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "num": ParagraphStyle("num", parent=base, fontSize=8, leading=10, alignment=TA_RIGHT),
        "muted": ParagraphStyle("muted", parent=base, fontSize=8, leading=10, textColor=MUTED),
        "box": ParagraphStyle("box", parent=base, fontSize=10.5, leading=14, backColor=GREY_FILL, borderPadding=8,
                              spaceBefore=8, spaceAfter=12),
    }


def _when(moment):
    """A moment in the site's time zone, as the pages write it: "06/12/2026 14:05"."""
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _cell(value) -> str:
    """A table cell: counts grouped as the language writes them ("1.930"), texts as they are."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return count(value)
    return str(value)


def _p(text, style):
    return Paragraph(escape(str(text)), style)


def _table(rows, widths, styles, header=True, muted_rows=()):
    """A table of texts: the first row a bold header, the first column wrapped text, the other columns
    plain strings right-aligned (plain strings lay out far faster than paragraphs in long tables)."""
    cells = []
    for r, row in enumerate(rows):
        if header and r == 0:
            cells.append([Paragraph(f"<b>{escape(str(v))}</b>", styles["cell" if c == 0 else "num"])
                          for c, v in enumerate(row)])
        else:
            first = Paragraph(escape(str(row[0])), styles["muted" if r in muted_rows else "cell"])
            cells.append([first, *[_cell(v) for v in row[1:]]])
    table = Table(cells, colWidths=widths, repeatRows=1 if header else 0)
    commands = [
        ("FONTNAME", (0, 0), (-1, -1), REGULAR), ("FONTSIZE", (0, 0), (-1, -1), 8), ("LEADING", (0, 0), (-1, -1), 10),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK), ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        commands.append(("LINEBELOW", (0, 0), (-1, 0), 0.8, INK))
    for r in muted_rows:
        commands += [("BACKGROUND", (0, r), (-1, r), GREY_FILL), ("TEXTCOLOR", (0, r), (-1, r), MUTED)]
    table.setStyle(TableStyle(commands))
    return table


CHART_FONT_SIZE, CHART_LEADING = 8, 9.5
CHART_LABEL_WIDTH = 70 * mm


def _chart_label(row) -> list[str]:
    """A factor's name in the chart, wrapped onto as many lines as it needs: never cut."""
    return simpleSplit(f"{row.code} {row.label}", REGULAR, CHART_FONT_SIZE, CHART_LABEL_WIDTH - 4)


def _chart_value(row) -> str:
    """A factor's figure beside its bar, with its "in general" rate: "88,3%  (hài lòng chung 90,0%)"."""
    text = f"{row.text}%" if row.value is not None else "–"
    general = row.extra.get("general")
    if general is not None:
        text += "  " + _("(in general %(rate)s%%)") % {"rate": pct(general)}
    return text


def _factor_chart(report: Report):
    """Horizontal bars of the factor indices, the "in general" rate as a tick, values written out;
    each factor's name on as many lines as it needs."""
    texts = [_chart_value(row) for row in report.factors]
    # The values' column as wide as its longest text ("88,3%  (hài lòng chung 90,0%)"), the bars the rest.
    value_width, bar_height = max([34 * mm] + [stringWidth(t, REGULAR, 7.5) + 8 for t in texts]), 10
    track = PAGE_WIDTH - CHART_LABEL_WIDTH - value_width
    labels = [_chart_label(row) for row in report.factors]
    heights = [max(16, len(lines) * CHART_LEADING + 6) for lines in labels]
    drawing = Drawing(PAGE_WIDTH, sum(heights) + 4)
    top = drawing.height
    for row, lines, height, text in zip(report.factors, labels, heights, texts, strict=True):
        top -= height
        middle = top + height / 2
        for n, line in enumerate(lines):  # centred on the bar, top line first
            baseline = middle + (len(lines) / 2 - n - 1) * CHART_LEADING + 2.5
            drawing.add(String(0, baseline, line, fontName=REGULAR, fontSize=CHART_FONT_SIZE, fillColor=INK))
        bar = middle - bar_height / 2
        drawing.add(Rect(CHART_LABEL_WIDTH, bar, track, bar_height, fillColor=GREY_FILL, strokeColor=None))
        if row.value is not None:
            drawing.add(Rect(CHART_LABEL_WIDTH, bar, track * row.value / 100, bar_height, fillColor=BAR,
                             strokeColor=None))
        general = row.extra.get("general")
        if general is not None:
            x = CHART_LABEL_WIDTH + track * general / 100
            drawing.add(Line(x, bar - 2, x, bar + bar_height + 2, strokeColor=INK, strokeWidth=1.5))
        drawing.add(String(CHART_LABEL_WIDTH + track + 4, middle - 2.5, text, fontName=REGULAR, fontSize=7.5,
                           fillColor=INK))
    return drawing


def _title_block(report: Report, s):
    round_ = report.survey_round
    meta = [
        [_("Survey round"), f"{round_.name} · {round_.unit.name}"],
        [_("Period"), report.period],
        [_("Questionnaire"), f"{report.questionnaire} ({round_.questionnaire.code})"],
        [_("Scores computed"), _when(report.computed_at) if report.computed_at else "–"],
    ]
    rows = [[_p(k, s["kicker"]), _p(v, s["cell"])] for k, v in meta]
    table = Table(rows, colWidths=[35 * mm, PAGE_WIDTH - 35 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    return [_p(_("Results report").upper(), s["kicker"]), _p(report.title, s["title"]),
            _p(f"{report.unit.name} ({report.unit.code})", s["unit"]), table]


def _headline(report: Report, s):
    h = report.headline
    facts = [
        [_("Valid responses"), count(h.n)],
        *([[_("Rank in its block"), h.block_text]] if h.block_rank_text else []),
        [_("Rank among sibling units"), h.rank_text],
        [_("Change since the previous round"), h.change_text],
    ]
    if h.weighted is not None:
        facts.append([_("Weighted by service field"), f"{pct(h.weighted)}%"])
    figure = [_p(h.label, s["kicker"]), _p(f"{h.text}%", s["figure"]),
              _p(_("95%% interval %(interval)s") % {"interval": h.interval_text}, s["cell"])]
    facts_table = Table([[_p(k, s["kicker"]), _p(v, s["cell"])] for k, v in facts], colWidths=[55 * mm, 55 * mm])
    table = Table([[figure, facts_table]], colWidths=[PAGE_WIDTH - 112 * mm, 112 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, 0), 0)]))
    return [KeepTogether([_p("1. " + _("Overall result"), s["h2"]), table])]


def _factors(report: Report, s):
    rows = [[_("Factor"), _("Index (%)"), _("Interval (95%)"), _("“In general” rate (%)"), "n"]]
    rows += [[f"{r.code} · {r.label}", r.text, r.interval_text, r.extra.get("general_text", "–"),
              "–" if r.n is None else r.n] for r in report.factors]
    widths = [PAGE_WIDTH - 90 * mm, 20 * mm, 25 * mm, 30 * mm, 15 * mm]
    return [KeepTogether([_p("2. " + _("Factor indices"), s["h2"]), _factor_chart(report), Spacer(1, 6),
                          _table(rows, widths, s)])]


def _items(report: Report, s):
    def table(rows):
        data = [[_("Criterion"), _("Rate (%)"), _("Interval (95%)"), "n"]]
        data += [[f"{r.code} {r.label}", r.text, r.interval_text, r.n] for r in rows]
        return _table(data, [PAGE_WIDTH - 60 * mm, 18 * mm, 27 * mm, 15 * mm], s)

    return [_p("3. " + _("Strongest and weakest criteria"), s["h2"]),
            KeepTogether([_p(_("Weakest: where to improve first"), s["h3"]), table(report.weakest)]),
            KeepTogether([_p(_("Strongest"), s["h3"]), table(report.strongest)])]


def _indicators(report: Report, s):
    """The indicators two by two, each a small table of its answers' shares."""
    column = (PAGE_WIDTH - 6 * mm) / 2
    blocks = []
    for indicator in report.indicators:
        rows = [[o["label"], o["text"]] for o in indicator["options"]]
        n = count(indicator["n"])
        blocks.append([_p(f"{indicator['text']} (n = {n})", s["h3"]),
                       _table(rows, [column - 18 * mm, 18 * mm], s, header=False)])
    if len(blocks) % 2:
        blocks.append("")
    grid = Table([blocks[i:i + 2] for i in range(0, len(blocks), 2)], colWidths=[column + 6 * mm, column])
    grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                              ("RIGHTPADDING", (0, 0), (0, -1), 6 * mm), ("RIGHTPADDING", (1, 0), (1, -1), 0),
                              ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    return [_p("4. " + _("Perception indicators"), s["h2"]), grid]


def _expectations(report: Report, s):
    parts = [_p("5. " + _("What citizens most want improved"), s["h2"])]
    if not report.expectations:
        return parts + [_p(_("Nobody answered this question."), s["muted"])]
    rows = [[_("Wish"), _("Times chosen"), _("Share of those who answered (%)")]]
    rows += [[r.label, r.n, r.text] for r in report.expectations]
    return [KeepTogether(parts + [_table(rows, [PAGE_WIDTH - 75 * mm, 25 * mm, 50 * mm], s)])]


def _sub_units(report: Report, s):
    number = "6. " if report.enough else ""
    parts = [_p(number + _("Units below"), s["h2"])]
    if not report.sub_units:
        return parts + [_p(_("This unit has no units below it in the round."), s["muted"])]
    codes = report.factor_codes
    rows = [[_("Unit"), "n", _("Index (%)"), *codes, _("Rank"), _("Change (points)")]]
    muted = []
    for row in report.sub_units:
        name = f"{row.unit.name} ({row.unit.code})"
        if row.enough:
            rows.append([name, row.n, row.text, *[value for _code, value in row.factors], row.rank_text,
                         row.change_text])
        else:
            muted.append(len(rows))
            rows.append([name, count(row.n), row.note, *[""] * (len(codes) + 2)])
    numbers = [11 * mm, 15 * mm, *[11 * mm] * len(codes), 14 * mm, 18 * mm]
    widths = [PAGE_WIDTH - sum(numbers), *numbers]
    # Tables of SUB_UNIT_ROWS rows, each with the header: reportlab splits a long table page by page,
    # laying out the rest again each time, which grows with the square of its length.
    tables = []
    for start in range(1, len(rows), SUB_UNIT_ROWS):
        chunk = [rows[0], *rows[start:start + SUB_UNIT_ROWS]]
        chunk_muted = [r - start + 1 for r in muted if start <= r < start + SUB_UNIT_ROWS]
        table = _table(chunk, widths, s, muted_rows=chunk_muted)
        # The reason of a muted row spans the figure columns, left-aligned.
        table.setStyle(TableStyle([cmd for r in chunk_muted
                                   for cmd in (("SPAN", (2, r), (-1, r)), ("ALIGN", (2, r), (-1, r), "LEFT"))]))
        tables.append(table)
    return parts + tables


def _method(report: Report, s):
    number = "7. " if report.enough else ""
    parts = [_p(number + _("Method"), s["h2"])] + [_p(text, s["para"]) for text in report.method]
    when = _when(report.generated_at)
    parts.append(Spacer(1, 4))
    parts.append(_p(_("Report made on %(when)s from the stored scores.") % {"when": when}, s["small"]))
    return parts


def _footer(report: Report):
    text = f"SIPAS · {report.unit.name} · {report.survey_round.name}"

    def draw(canvas, doc):
        canvas.saveState()
        canvas.setFont(REGULAR, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(14 * mm, 10 * mm, text)
        canvas.drawRightString(A4[0] - 14 * mm, 10 * mm, _("Page %(page)s") % {"page": count(doc.page)})
        canvas.restoreState()

    return draw


def report_pdf(report: Report, *, compress=True) -> bytes:
    """The report as PDF bytes (A4). ``compress=False`` leaves the page streams readable (tests)."""
    register_fonts()
    with translation.override(report.language):
        s = _styles()
        story = _title_block(report, s)
        if not report.enough:
            story.append(_p(report.reason, s["box"]))
        else:
            story += _headline(report, s) + _factors(report, s) + _items(report, s)
            story += _indicators(report, s) + _expectations(report, s)
        story += _sub_units(report, s) + _method(report, s)
        out = io.BytesIO()
        doc = SimpleDocTemplate(
            out, pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm, topMargin=16 * mm, bottomMargin=18 * mm,
            title=f"{report.title}: {report.unit.name}", author="SIPAS", subject=report.survey_round.name,
            pageCompression=1 if compress else 0, invariant=1,
        )
        footer = _footer(report)
        doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
