"""The printable report as a PDF (reportlab), from the same data as the HTML page (scoring.report).

Vietnamese needs a TrueType font with its glyphs: DejaVu Sans, vendored in ``scoring/fonts/``.
"""

import io
from pathlib import Path
from xml.sax.saxutils import escape

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from scoring.report import Report, pct

FONTS = Path(__file__).resolve().parent / "fonts"
REGULAR, BOLD = "DejaVuSans", "DejaVuSans-Bold"
INK = colors.HexColor("#212529")
MUTED = colors.HexColor("#6c757d")
GREY_FILL = colors.HexColor("#f1f3f5")
RULE = colors.HexColor("#dee2e6")
BAR = colors.HexColor("#3d6ea8")
PAGE_WIDTH = A4[0] - 28 * mm  # between the margins
SUB_UNIT_ROWS = 40


def _register_fonts():
    if REGULAR not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(REGULAR, str(FONTS / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(BOLD, str(FONTS / "DejaVuSans-Bold.ttf")))
        pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)


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
    """A moment in the site's time zone, as the templates' date filter shows it."""
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


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
            cells.append([first, *["" if v is None else str(v) for v in row[1:]]])
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


def _factor_chart(report: Report):
    """Horizontal bars of the factor indices, the "in general" rate as a tick, values written out."""
    label_width, value_width, row_height = 70 * mm, 34 * mm, 16
    track = PAGE_WIDTH - label_width - value_width
    drawing = Drawing(PAGE_WIDTH, row_height * len(report.factors) + 4)
    for i, row in enumerate(report.factors):
        y = drawing.height - (i + 1) * row_height
        name = f"{row.code} {row.label}"
        drawing.add(String(0, y + 4, name if len(name) <= 42 else name[:41] + "…", fontName=REGULAR, fontSize=8,
                           fillColor=INK))
        drawing.add(Rect(label_width, y + 2, track, row_height - 6, fillColor=GREY_FILL, strokeColor=None))
        if row.value is not None:
            drawing.add(Rect(label_width, y + 2, track * row.value / 100, row_height - 6, fillColor=BAR,
                             strokeColor=None))
        general = row.extra.get("general")
        if general is not None:
            x = label_width + track * general / 100
            drawing.add(Line(x, y, x, y + row_height - 2, strokeColor=INK, strokeWidth=1.5))
        text = (f"{row.text}%" if row.value is not None else "–") + (
            f"  ({_('in general')} {pct(general)}%)" if general is not None else "")
        drawing.add(String(label_width + track + 4, y + 4, text, fontName=REGULAR, fontSize=7.5, fillColor=INK))
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
        [_("Valid responses"), str(h.n)],
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
        n = "–" if indicator["n"] is None else indicator["n"]
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
            rows.append([name, "–" if row.n is None else row.n, row.note, *[""] * (len(codes) + 2)])
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
        canvas.drawRightString(A4[0] - 14 * mm, 10 * mm, _("Page %(page)s") % {"page": doc.page})
        canvas.restoreState()

    return draw


def report_pdf(report: Report, *, compress=True) -> bytes:
    """The report as PDF bytes (A4). ``compress=False`` leaves the page streams readable (tests)."""
    _register_fonts()
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
