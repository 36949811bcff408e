"""Exports: a unit's stored scores as an XLSX workbook or CSV tables (heads), and the raw responses
of its subtree as CSV (officers).

Scores are read from ``scoring_unitscore`` in one query over the unit's subtree, iterated in chunks,
so a province with thousands of communes costs the same few queries as a commune. The numbers are
the stored floats, unrounded, as the score API returns them: CSV to the last digit, the workbook to
16 significant digits (openpyxl's writer; Excel keeps 15), displayed there with one decimal.

A unit below the version's minimum number of responses keeps its identity and its n, but none of
its figures: those cells are blank and the note column says why.

The raw export carries no identifier of a person: no response id, dossier hash, kiosk, language or
time of day (the day only), and no free-text answers (people write names and phone numbers in them).
"""

import io
from dataclasses import dataclass

from django.db.models.functions import TruncDate
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from fieldwork import blocks
from fieldwork.models import Exclusion, Response, Round
from scoring import breakdowns, ranking, selectors, wording
from scoring.models import UnitScore
from surveyapp import spreadsheet
from units.models import PATH_SEPARATOR, Unit

TABLES = ("units", "items", "indicators")
CHUNK_SIZE = 2000
PERCENT_FORMAT = wording.spreadsheet_format()  # "0.0": as the pages and the report write figures
# Sheet names (Excel allows 31 characters): one sheet of units per level, in this order.
LEVEL_SHEETS = {
    Unit.Level.PROVINCE: gettext_lazy("Provinces"),
    Unit.Level.DEPARTMENT: gettext_lazy("Departments"),
    Unit.Level.CENTRE: gettext_lazy("Service centres"),
    Unit.Level.DISTRICT: gettext_lazy("Districts"),
    Unit.Level.COMMUNE: gettext_lazy("Communes"),
}
SHEET_NAME_LIMIT = 31
# One sheet a block (khối), after the others: the units of the export's subtree with their places in
# the whole round's block (``scoring.ranking.league``).
BLOCK_SHEETS = {
    blocks.DEPARTMENTS: gettext_lazy("Block of departments"),
    blocks.COMMUNES: gettext_lazy("Block of communes and wards"),
    blocks.VERTICAL: gettext_lazy("Block of vertical agencies"),
    blocks.DISTRICTS: gettext_lazy("Block of districts"),
    blocks.PROVINCES: gettext_lazy("Block of provinces"),
}


class ExportError(ValueError):
    """A bad export parameter; the message names it."""


def parent_code(unit: Unit) -> str | None:
    """The parent's code, read from the materialised path (no query)."""
    codes = unit.path.strip(PATH_SEPARATOR).split(PATH_SEPARATOR)
    return codes[-2] if len(codes) > 1 else None


def subtree_scores(*, survey_round: Round, unit: Unit):
    """The stored scores of the unit and every unit below it, in tree order: one query."""
    return (UnitScore.objects.filter(round=survey_round, unit__path__startswith=unit.path)
            .select_related("unit").order_by("unit__path"))


@dataclass
class ScoreTables:
    """Headers and rows of the three score tables for one round, in one language. Make it with
    that language active: every label is translated here, so rows can be made later (streaming)."""

    survey_round: Round
    language: str

    def __post_init__(self):
        self.definition = self.survey_round.questionnaire.parsed
        self.doc = self.definition.doc
        self.minimum = self.survey_round.questionnaire.min_responses
        self.factors = [(f["code"], wording.text_in(f["label"], self.language)) for f in self.doc.get("factors", [])
                        if f["code"] in self.doc["scoring"]["factors"]]
        self.satisfaction = [item for item in self.definition.items if item["kind"] == "satisfaction"]
        self.indicators = [self.definition.by_code[code] for code in self.doc.get("indicators", [])]
        self.levels = {level: str(name) for level, name in Unit.Level.choices}
        self.headers_of = {"units": self.unit_headers(), "items": self.item_headers(),
                           "indicators": self.indicator_headers()}
        self._notes = {}

    def note(self, score):
        key = (score.n, score.withheld)
        if key not in self._notes:
            self._notes[key] = wording.withheld_reason(score.n, self.minimum, score.withheld)
        return self._notes[key]

    # -- units ------------------------------------------------------------------------------

    def unit_headers(self):
        return [
            _("Unit code"), _("Unit name"), _("Parent unit code"), _("Level"), _("Responses (n)"),
            _("SIPAS index (%)"), _("95% interval, low (%)"), _("95% interval, high (%)"),
            _("Weighted by service field (%)"),
            *[f"{code}: {name} (%)" for code, name in self.factors],
            _("Rank among sibling units"), _("Sibling units ranked"), _("Change (points)"),
            _("Change (places)"), _("Note"),
        ]

    def unit_row(self, score: UnitScore):
        unit = score.unit
        identity = [unit.code, unit.name, parent_code(unit), str(self.levels.get(unit.level, unit.level)), score.n]
        if not score.enough:
            return identity + [None] * (4 + len(self.factors) + 4) + [self.note(score)]
        return identity + [
            score.headline, score.headline_low, score.headline_high, score.weighted_headline,
            *[(score.factors.get(code) or {}).get("value") for code, _name in self.factors],
            score.rank, score.rank_of, score.change_points, score.change_places, None,
        ]

    # -- items ------------------------------------------------------------------------------

    def item_headers(self):
        return [
            _("Unit code"), _("Unit name"), _("Factor"), _("Item code"), _("Question"), _("Valid answers (n)"),
            _("Satisfied (levels 4-5)"), _("Rate (%)"), _("95% interval, low (%)"), _("95% interval, high (%)"),
            _("Note"),
        ]

    def item_rows(self, score: UnitScore):
        unit = score.unit
        if not score.enough:
            return [[unit.code, unit.name, None, None, None, None, None, None, None, None,
                     self.note(score)]]
        rows = []
        for item in self.satisfaction:
            figures = score.items.get(item["code"]) or {}
            ci = figures.get("ci") or [None, None]
            rows.append([unit.code, unit.name, item.get("factor"), item["code"],
                         wording.text_in(item["text"], self.language), figures.get("n"), figures.get("satisfied"),
                         figures.get("rate"), ci[0], ci[1], None])
        return rows

    # -- perception indicators ----------------------------------------------------------------

    def indicator_headers(self):
        return [
            _("Unit code"), _("Unit name"), _("Indicator code"), _("Question"), _("Answer code"), _("Answer"),
            _("Share of answers (%)"), _("Answered (n)"), _("Note"),
        ]

    def indicator_rows(self, score: UnitScore):
        unit = score.unit
        if not score.enough:
            return [[unit.code, unit.name, None, None, None, None, None, None, self.note(score)]]
        rows = []
        for item in self.indicators:
            shares = score.indicators.get(item["code"]) or {}
            question = wording.text_in(item["text"], self.language)
            for option in self.definition.options(item):
                rows.append([unit.code, unit.name, item["code"], question, option["code"],
                             wording.text_in(option["label"], self.language), shares.get(str(option["code"])),
                             shares.get("n"), None])
        return rows

    # -- the workbook's matrices: one row per unit ----------------------------------------------
    # A sheet of a few thousand units stays a few thousand rows. openpyxl (without lxml) writes some
    # 50,000-100,000 cells a second here: one row per unit and item would be 2.5 million cells, most
    # of a minute, for a round over the whole country; this way 3,400 units take about 2 s.

    def item_matrix_headers(self):
        return [_("Unit code"), _("Unit name"), _("Responses (n)"),
                *[f"{item['code']} {wording.text_in(item['text'], self.language)} (%)" for item in self.satisfaction],
                _("Note")]

    def item_matrix_row(self, score: UnitScore):
        unit = score.unit
        if not score.enough:
            return [unit.code, unit.name, score.n, *[None] * len(self.satisfaction), self.note(score)]
        return [unit.code, unit.name, score.n,
                *[(score.items.get(item["code"]) or {}).get("rate") for item in self.satisfaction], None]

    def indicator_matrix_headers(self):
        return [_("Unit code"), _("Unit name"), _("Responses (n)"),
                *[f"{item['code']} {wording.text_in(option['label'], self.language)} (%)"
                  for item in self.indicators for option in self.definition.options(item)],
                _("Note")]

    def indicator_matrix_row(self, score: UnitScore):
        unit = score.unit
        columns = [(item["code"], str(option["code"]))
                   for item in self.indicators for option in self.definition.options(item)]
        if not score.enough:
            return [unit.code, unit.name, score.n, *[None] * len(columns), self.note(score)]
        return [unit.code, unit.name, score.n,
                *[(score.indicators.get(code) or {}).get(option) for code, option in columns], None]

    def headers(self, table):
        return self.headers_of[table]

    def rows(self, table, score):
        if table == "units":
            return [self.unit_row(score)]
        return {"items": self.item_rows, "indicators": self.indicator_rows}[table](score)


def check_table(table) -> str:
    if table not in TABLES:
        raise ExportError(_("Unknown table “%(table)s”: use one of %(tables)s.") % {
            "table": table, "tables": ", ".join(TABLES)})
    return table


# ---------------------------------------------------------------------------------------------
# CSV (streamed)


def check_dialect(dialect) -> str:
    if dialect not in spreadsheet.DIALECTS:
        raise ExportError(_("Unknown CSV variant “%(dialect)s”: use one of %(dialects)s.") % {
            "dialect": dialect, "dialects": ", ".join(spreadsheet.DIALECTS)})
    return dialect


def csv_lines(header, rows, dialect=spreadsheet.STANDARD):
    """CSV lines from the product's one CSV writer (surveyapp.spreadsheet): a byte order mark (Excel
    reads Vietnamese then), text quoted, numbers bare, the formula guard; in the ``dialect``
    (standard, or for Excel set to Vietnamese)."""
    yield from spreadsheet.csv_lines([header], dialect=dialect)
    yield from spreadsheet.csv_lines(rows, bom=False, dialect=dialect)


def scores_csv(*, survey_round: Round, unit: Unit, table: str, language: str, dialect=spreadsheet.STANDARD):
    """The lines of one score table as CSV; the query runs when the first line is taken."""
    check_table(table)
    check_dialect(dialect)
    with translation.override(language):
        tables = ScoreTables(survey_round, wording.language_of(language))
    scores = subtree_scores(survey_round=survey_round, unit=unit)
    rows = (row for score in scores.iterator(CHUNK_SIZE) for row in tables.rows(table, score))
    return csv_lines(tables.headers(table), rows, dialect)


# ---------------------------------------------------------------------------------------------
# XLSX


def _cell(sheet, value, bold=False):
    cell = WriteOnlyCell(sheet, value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, even when a name starts with "="
    elif isinstance(value, float):
        cell.number_format = PERCENT_FORMAT
    if bold:
        cell.font = Font(bold=True)
    return cell


def _sheet(workbook, title, header):
    sheet = workbook.create_sheet(_sheet_title(title))
    sheet.freeze_panes = "C2"
    sheet.append([_cell(sheet, h, bold=True) for h in header])
    return sheet


def _sheet_title(title):
    title = str(title)
    for char in "[]:*?/\\":
        title = title.replace(char, " ")
    return title[:SHEET_NAME_LIMIT]


def scores_xlsx(*, survey_round: Round, unit: Unit, language: str) -> bytes:
    """The workbook: a sheet of units per level present, then item rates and perception indicators,
    each one row per unit (the CSV tables give them one row per unit and item, with n and interval),
    then a sheet a breakdown of the exported unit's figures (``_breakdown_sheets``), then a sheet a
    block (khối) with the units' places in the whole round's block.

    Two queries: the levels present, then the scores, read once in chunks; openpyxl's write-only
    mode keeps each sheet in a temporary file rather than in memory. The breakdown sheets add one
    query, the block sheets four to six
    (``scoring.ranking.league``; six when there is a previous round), however many units."""
    with translation.override(language):
        tables = ScoreTables(survey_round, wording.language_of(language))
        scores = subtree_scores(survey_round=survey_round, unit=unit)
        present = set(scores.values_list("unit__level", flat=True).distinct().order_by())
        workbook = Workbook(write_only=True)
        names = {**{level: label for level, label in Unit.Level.choices}, **LEVEL_SHEETS}
        level_sheets = {level: _sheet(workbook, names.get(level, level), tables.headers("units"))
                        for level in [*LEVEL_SHEETS, *sorted(present - set(LEVEL_SHEETS))] if level in present}
        items = _sheet(workbook, _("Item rates"), tables.item_matrix_headers())
        indicators = _sheet(workbook, _("Perception indicators"), tables.indicator_matrix_headers())
        own = None
        for score in scores.iterator(CHUNK_SIZE):
            own = score if score.unit_id == unit.pk else own
            sheet = level_sheets[score.unit.level]
            sheet.append([_cell(sheet, v) for v in tables.unit_row(score)])
            items.append([_cell(items, v) for v in tables.item_matrix_row(score)])
            indicators.append([_cell(indicators, v) for v in tables.indicator_matrix_row(score)])
        _breakdown_sheets(workbook, survey_round, unit, own, language)
        _block_sheets(workbook, tables, survey_round, unit)
        out = io.BytesIO()
        workbook.save(out)
    return out.getvalue()


def _block_sheets(workbook, tables, survey_round, unit):
    """A sheet a block with units in the export's subtree, in their places (withheld units last,
    without a place, the note saying why)."""
    header = [_("Place in the block"), _("Units ranked in the block"), _("Unit code"), _("Unit name"), _("Level"),
              _("Responses (n)"), _("SIPAS index (%)"), _("Change (places in the block)"), _("Change (points)"),
              _("Note")]
    for block in ranking.league(survey_round, [unit.path]):
        sheet = _sheet(workbook, BLOCK_SHEETS.get(block.key, block.key), header)
        for score, place in block.rows:
            shown = score.enough
            row = [place.rank, block.ranked, score.unit.code, score.unit.name,
                   str(tables.levels.get(score.unit.level, score.unit.level)), score.n,
                   score.headline if shown else None, place.change_places,
                   score.change_points if shown else None, None if shown else tables.note(score)]
            sheet.append([_cell(sheet, v) for v in row])


def _breakdown_sheets(workbook, survey_round, unit, score, language):
    """A sheet per breakdown the round's questionnaire gives (``scoring.breakdowns``): the exported
    unit's figures (``score``: its stored score, if any), one row each, one column per group; n
    always, figures only for groups that may be shown, the last row saying why the others are not.
    One query."""
    texts = selectors.labels(survey_round, language)
    for table in breakdowns.unit_breakdowns(survey_round=survey_round, unit=unit, language=language,
                                            unit_shown=bool(score and score.enough)):
        sheet = _sheet(workbook, _("By %(breakdown)s") % {"breakdown": table.label.lower()},
                       [_("Code"), _("Figure"), *[cell.label for cell in table.cells]])
        for row in table.rows(texts):
            sheet.append([_cell(sheet, v) for v in [row["code"] if row["kind"] != "n" else "n", row["label"],
                                                    *row["values"]]])
        sheet.append([_cell(sheet, v) for v in [None, _("Note"), *[cell.reason or None for cell in table.cells]]])


# ---------------------------------------------------------------------------------------------
# Raw responses (officers)

RESPONSE_COLUMNS = ["round", "unit_code", "date", "channel", "excluded", "exclusion_reason", "over_quota"]
CHANNELS = {Response.Channel.KIOSK: "kiosk", Response.Channel.PAPER: "paper", Response.Channel.WEB: "web",
            Response.Channel.LINK: "link", Response.Channel.POSTER: "poster"}


def _decoder(item):
    """The answer in the paper import's notation from its stored smallint (see questionnaires.answers)."""
    kind = item["kind"]
    if kind in ("satisfaction", "number"):
        return lambda value: value
    if kind == "yesno":
        return lambda value: "yes" if value == 1 else "no"
    codes = [option["code"] for option in item["options"]]
    if kind == "single":
        return lambda value: codes[value - 1] if 0 < value <= len(codes) else value
    return lambda value: ";".join(code for i, code in enumerate(codes) if value & (1 << i))


def response_items(survey_round: Round):
    """(slot index, item) of every exported item: all but free text."""
    return [(index, item) for index, item in enumerate(survey_round.questionnaire.parsed.items)
            if item["kind"] != "text"]


def responses_csv(*, survey_round: Round, unit: Unit, dialect=spreadsheet.STANDARD):
    """CSV lines of every response of the round in the unit's subtree: one query on a server-side
    cursor, read in chunks, so the rows never sit in memory together."""
    items = response_items(survey_round)
    decoders = [(index, _decoder(item)) for index, item in items]
    header = RESPONSE_COLUMNS + [item["code"] for _index, item in items]

    def rows():
        responses = (Response.objects.filter(round=survey_round, unit__path__startswith=unit.path)
                     .annotate(day=TruncDate("submitted_at"))  # in the site's time zone; no time of day
                     .order_by("unit__path", "day", "id")  # ids are random: no order within a day
                     .values_list("unit__code", "day", "channel", "over_quota", "exclusion__reason", "answers"))
        for code, day, channel, over_quota, reason, answers in responses.iterator(CHUNK_SIZE):
            row = [survey_round.pk, code, day.isoformat(), CHANNELS.get(channel, channel),
                   "yes" if reason else "no", reason or "", "yes" if over_quota else "no"]
            for index, decode in decoders:
                value = answers[index] if index < len(answers) else None
                row.append(None if value is None else decode(value))
            yield row

    return csv_lines(header, rows(), check_dialect(dialect))


def responses_codebook_csv(*, survey_round: Round, language: str, dialect=spreadsheet.STANDARD):
    """CSV lines naming every column of the raw export and the values it takes, in the language."""
    lang = wording.language_of(language)
    definition = survey_round.questionnaire.parsed
    with translation.override(language):
        reasons = "; ".join(f"{code}={name}" for code, name in Exclusion.Reason.choices)
        rows = [
            ["round", _("Survey round id (%(name)s)") % {"name": survey_round.name}, str(survey_round.pk)],
            ["unit_code", _("Unit the response was collected for"), ""],
            ["date", _("Day the response was completed (no time of day)"), "YYYY-MM-DD"],
            ["channel", _("How it was collected"), "kiosk; paper; web; link; poster"],
            ["excluded", _("Excluded from the scores by an officer"), "yes; no"],
            ["exclusion_reason", _("Why it was excluded"), reasons],
            ["over_quota", _("Arrived after its quota was full"), "yes; no"],
        ]
        for _index, item in response_items(survey_round):
            rows.append([item["code"], wording.text_in(item["text"], lang), _values(definition, item, lang)])
        header = [_("Column"), _("Meaning"), _("Values")]
    return csv_lines(header, rows, check_dialect(dialect))


def _values(definition, item, language):
    kind = item["kind"]
    if kind == "number":
        return f"{item.get('min', 0)}-{item.get('max', '')}"
    labels = "; ".join(f"{o['code']}={wording.text_in(o['label'], language)}" for o in definition.options(item))
    if kind == "multiple":
        return _("codes separated by ';': %(labels)s") % {"labels": labels}
    return labels
