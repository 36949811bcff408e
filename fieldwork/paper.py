"""Paper forms: one entered by a survey officer, or many imported from a CSV file.

Both go through ``fieldwork.responses.response_submit`` (channel PAPER, no kiosk), so a paper form
is checked and stored exactly as a kiosk response is. A paper form has no clock times: its
``submitted_at`` is the start of the day written on the form (Vietnam time) and ``started_at`` is
empty. Every form has an id made before it is sent, so sending it again stores nothing new: the
entry page makes it when the page is shown; a CSV row gives it in ``form_id`` or it is derived
from the round and the row's content.
"""

import datetime
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fieldwork.models import Response, Round
from fieldwork.responses import SubmissionError, SubmitResult, known_answers, response_submit
from fieldwork.selectors import round_units
from questionnaires.answers import AnswerErrors, pack_answers
from questionnaires.definition import SMALLINT_MAX, UNIT_LEVELS, condition_items
from surveyapp.spreadsheet import CsvReadError, Problems, csv_records, csv_text
from units.models import Unit
from units.selectors import units_by_codes

# Fixed for ever: a derived form id must be the same in every later import of the same file.
PAPER_NAMESPACE = uuid.UUID("df9afb41-3ec1-4d82-bb34-c4a80b899dd4")
META_COLUMNS = ["unit_code", "form_date", "form_id"]
REQUIRED_META_COLUMNS = ["unit_code", "form_date"]
# Up to 9 digits: a longer number is out of every item's range anyway, and int() refuses 4,300+.
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,9}")
# response_submit names the envelope fields as the kiosk API does; a CSV row names its columns.
FIELD_NAMES = {"submitted_at": "form_date", "id": "form_id"}


class PaperImportError(Exception):
    """The file was rejected and nothing was stored; ``errors`` name the line of each problem, and
    ``more`` problems were found but not listed (IMPORT_ERROR_LIMIT)."""

    def __init__(self, errors, more=0):
        super().__init__(f"{len(errors) + more} error(s) in the paper forms file")
        self.errors = errors
        self.more = more


@dataclass
class PaperImportResult:
    stored: int = 0
    already_stored: int = 0
    # The id of every form of the file in its order, with whether it is new (False: already stored).
    ids: list = field(default_factory=list)


@dataclass
class _Row:
    number: int  # the spreadsheet row: the header is line 1
    unit: Unit | None
    form_date: datetime.date | None
    form_id: uuid.UUID | None
    answers: dict
    errors: list = field(default_factory=list)  # (column, message)


# ---------------------------------------------------------------------------------------------
# One paper form


def paper_units(*, survey_round: Round, user):
    """The units a paper form of this round may come from: the round's subtree, less the units that
    did not exist during the round (merged away before it began), as far as the user may run
    fieldwork there."""
    return round_units(survey_round, user)


def paper_entered_today(*, survey_round: Round) -> int:
    """Paper forms of the round received today (Vietnam time), by anyone."""
    start = timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time.min))
    return Response.objects.filter(
        round=survey_round, channel=Response.Channel.PAPER, received_at__gte=start
    ).count()


def form_datetime(day: datetime.date) -> datetime.datetime:
    """A paper form's submitted_at: the start of the day written on it, in the project's time zone."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_default_timezone())


def _check_form_date(survey_round: Round, day: datetime.date):
    """Why a form with this date cannot belong to the round, or None."""
    if day > timezone.localdate():
        return _("%(day)s is in the future") % {"day": day.isoformat()}
    start, end = survey_round.period_start, survey_round.period_end
    if (start and day < start) or (end and day > end):
        return _("%(day)s is outside the round's period (%(start)s to %(end)s)") % {
            "day": day.isoformat(), "start": start.isoformat() if start else "…",
            "end": end.isoformat() if end else "…"}
    return None


def paper_round_problem(survey_round: Round):
    """Why the round takes no paper forms now, or None. A closed round is frozen (as
    response_submit also says): reopen it to enter the last forms."""
    if survey_round.status == Round.Status.DRAFT:
        return _("round %(id)d has not been opened: paper forms can be entered once it is open") % {
            "id": survey_round.pk}
    if survey_round.status == Round.Status.CLOSED:
        return _("round %(id)d is closed: reopen it to enter more paper forms") % {"id": survey_round.pk}
    return None


def _check_round_open(survey_round: Round):
    problem = paper_round_problem(survey_round)
    if problem:
        raise SubmissionError(409, {"round": [problem]})


def paper_answer_errors(*, survey_round: Round, answers: dict, unit: Unit | None = None) -> dict:
    """What is wrong with the answers alone (item code → messages), without storing anything; with
    the unit, if it is known yet (answers known from it may be left out, see pack_answers)."""
    definition = survey_round.questionnaire.parsed
    try:
        pack_answers(definition, answers, known=known_answers(definition, unit) if unit else None)
    except AnswerErrors as exc:
        return exc.errors
    return {}


def paper_submit(*, survey_round: Round, unit: Unit, form_id, form_date: datetime.date, answers: dict,
                 language="vi", imported=False) -> SubmitResult:
    """Check and store one paper form, typed in on the entry page or ``imported`` from a file (stored
    with it: the response browser tells the two apart by it). The same form_id with the same content
    again stores nothing (created=False); SubmissionError names what is wrong (``form_date`` for the
    date)."""
    _check_round_open(survey_round)
    problem = _check_form_date(survey_round, form_date)
    if problem:
        raise SubmissionError(400, {"form_date": [problem]})
    payload = {
        "id": str(form_id), "round": survey_round.pk, "questionnaire": survey_round.questionnaire.code,
        "started_at": None, "submitted_at": form_datetime(form_date).isoformat(), "language": language,
        "answers": answers,
    }
    try:
        entry = Response.PaperEntry.IMPORTED if imported else Response.PaperEntry.TYPED
        return response_submit(unit=unit, payload=payload, channel=Response.Channel.PAPER, kiosk=None,
                               paper_entry=entry)
    except SubmissionError as exc:
        exc.errors = {FIELD_NAMES.get(key, key): messages for key, messages in exc.errors.items()}
        raise


# ---------------------------------------------------------------------------------------------
# Many paper forms from a CSV file


def decode_cell(item: dict, cell: str):
    """A CSV cell as an answer in the API's form (None when empty). Cells that do not convert are
    passed on as they are, so that pack_answers names the problem as it does for the kiosk."""
    cell = cell.strip()
    if not cell:
        return None
    kind = item["kind"]
    if kind in ("satisfaction", "number"):
        return int(cell) if WHOLE_NUMBER.fullmatch(cell) else cell
    if kind == "multiple":
        return [part.strip().lower() for part in cell.split(";") if part.strip()]
    if kind in ("single", "yesno"):
        return cell.lower()  # option codes are lower case
    return cell


def _check_header(header, definition, problems):
    known = META_COLUMNS + [item["code"] for item in definition.items]
    unknown = [c for c in header if c not in known]
    missing = [c for c in REQUIRED_META_COLUMNS if c not in header]
    missing += [item["code"] for item in definition.items
                if item["required"] and not item.get("known_from") and item["code"] not in header]
    twice = sorted({c for c in header if c and header.count(c) > 1})
    if unknown:
        problems.add(_("line 1: unknown column(s): %(columns)s (the round's questionnaire is %(version)s: start "
                       "from the round's template)") % {"columns": ", ".join(c or _("(empty)") for c in unknown),
                                                        "version": definition.doc["code"]}, 1)
    if missing:
        problems.add(_("line 1: missing column(s): %(columns)s") % {"columns": ", ".join(missing)}, 1)
    if twice:
        problems.add(_("line 1: column(s) given twice: %(columns)s") % {"columns": ", ".join(twice)}, 1)


def _parse_date(value):
    try:
        return datetime.date.fromisoformat(value), None
    except ValueError:
        if not value:
            return None, _("is empty")
        return None, _("'%(value)s' is not a date in the form YYYY-MM-DD") % {"value": value}


def _parse_form_id(value):
    if not value:
        return None, None
    try:
        return uuid.UUID(value), None
    except ValueError:
        return None, _("'%(value)s' is not a UUID (leave it empty to let the import make one)") % {"value": value}


class _UnitLookup:
    """Unit codes of a file → units, with a message for a code that cannot be used."""

    def __init__(self, survey_round, user):
        self.round = survey_round
        self.round_unit = survey_round.unit
        self.allowed = {u.code: u for u in paper_units(survey_round=survey_round, user=user)}
        self.in_round = {u.code: u for u in survey_round.unit.subtree().select_related("successor")}
        self.cache = {}
        self.restored_codes = {}

    def get(self, code):
        if code in self.allowed:
            return self.allowed[code], None
        if not code:
            return None, _("is empty")
        if code not in self.in_round:
            code = self.restored(code)
            if code in self.allowed:
                return self.allowed[code], None
        if code in self.in_round:
            reason = self.round.unit_not_open_reason(self.in_round[code])
            return None, reason or _("you may not enter paper forms for unit '%(code)s'") % {"code": code}
        if code not in self.cache:
            if len(self.cache) > 10_000:  # a file of made-up codes: ask again rather than grow
                self.cache.clear()
            self.cache[code] = Unit.objects.filter(code=code).exists()
        if self.cache[code]:
            return None, _("unit '%(code)s' is outside the round's area (%(unit)s)") % {
                "code": code, "unit": self.round_unit}
        return None, _("unknown unit code '%(code)s'") % {"code": code}

    def restored(self, code):
        """The code of the round's unit a spreadsheet turned ``code`` from (leading zeros dropped,
        units.selectors.units_by_codes), else ``code``."""
        if code not in self.restored_codes:
            if len(self.restored_codes) > 10_000:
                self.restored_codes.clear()
            unit = units_by_codes([code], self.round_unit.subtree()).get(code)
            self.restored_codes[code] = unit.code if unit else code
        return self.restored_codes[code]


def _parse_row(number, values, columns, definition, units):
    cells = dict(zip(columns, values, strict=False))
    unit, unit_error = units.get(cells.get("unit_code", "").strip())
    form_date, date_error = _parse_date(cells.get("form_date", "").strip())
    form_id, id_error = _parse_form_id(cells.get("form_id", "").strip())
    answers = {}
    for item in definition.items:
        value = decode_cell(item, cells.get(item["code"], ""))
        if value is not None:
            answers[item["code"]] = value
    row = _Row(number, unit, form_date, form_id, answers)
    row.errors = [(column, message) for column, message in
                  (("unit_code", unit_error), ("form_date", date_error), ("form_id", id_error)) if message]
    if len(values) > len(columns):
        row.errors.insert(0, ("", _("%(values)d values but %(columns)d columns")
                              % {"values": len(values), "columns": len(columns)}))
    return row


def _rows(source, definition, units, problems):
    """The file's rows, parsed one at a time as the file is read; a problem with the header or the
    file itself goes into ``problems`` and ends the rows."""
    records = csv_records(source)
    try:
        _line, header = next(records, (1, []))
        header = [h.strip() for h in header]
        if not any(header):
            problems.add(_("line 1: the file is empty: it needs the header row of the round's template"), 1)
            return
        _check_header(header, definition, problems)
        if problems:
            return
        for number, values in records:
            if any(v.strip() for v in values):  # skip blank lines, e.g. left at the end by Excel
                yield _parse_row(number, values, header, definition, units)
    except CsvReadError as exc:
        problems.add(_format(exc.line, [("", exc.message)])[0], exc.line)


def _content_key(row: _Row) -> str:
    """The row's content, normalised. Changing this changes every derived id: a file imported
    before the change would be stored a second time."""
    answers = {code: sorted(v) if isinstance(v, list) else v for code, v in row.answers.items()}
    return json.dumps([row.unit.code, row.form_date.isoformat(), answers], sort_keys=True, ensure_ascii=False)


class _FormIds:
    """Gives rows without form_id an id derived from the round and the row's content. Identical
    rows in one file are different forms (two citizens can answer alike): the n-th copy of a row
    gets its own id, so re-importing the file still gives every row the same id. Remembers a
    digest of each content and each given id, not the rows."""

    def __init__(self, survey_round):
        self.round_id = survey_round.pk
        self.copies, self.first_line_of = {}, {}

    def assign(self, row: _Row):
        if row.form_id is not None:
            first = self.first_line_of.setdefault(row.form_id.bytes, row.number)
            if first != row.number:
                problem = _("%(id)s is also on line %(line)d") % {"id": row.form_id, "line": first}
                row.errors.append(("form_id", problem))
        elif not row.errors:
            key = _content_key(row)
            digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
            self.copies[digest] = copy = self.copies.get(digest, 0) + 1
            row.form_id = uuid.uuid5(PAPER_NAMESPACE, f"round {self.round_id} copy {copy} {key}")


def _format(number, errors):
    return [_("line %(line)d, %(column)s: %(problem)s") % {"line": number, "column": column, "problem": message}
            if column else _("line %(line)d: %(problem)s") % {"line": number, "problem": message}
            for column, message in errors]


def _check_row(survey_round, definition, row):
    """Every problem that shows without storing anything (dates, answers): a file with mistakes is
    turned away before the transaction that stores it."""
    problem = row.form_date and _check_form_date(survey_round, row.form_date)
    if problem:
        row.errors.append(("form_date", problem))
    try:
        pack_answers(definition, row.answers, known=known_answers(definition, row.unit) if row.unit else None)
    except AnswerErrors as exc:
        row.errors += [(code, "; ".join(messages)) for code, messages in exc.errors.items()]


def _check_file(survey_round, source, units, max_rows):
    """The first pass over the file: every row parsed and checked, nothing kept but the problems."""
    definition, problems, ids, count = survey_round.questionnaire.parsed, Problems(), _FormIds(survey_round), 0
    for row in _rows(source, definition, units, problems):
        count += 1
        if max_rows and count > max_rows:
            problems.add(_("the file has more than %(max)d paper forms, at most %(max)d can be imported at once "
                           "here: split it into smaller files") % {"max": max_rows})
            break
        ids.assign(row)
        _check_row(survey_round, definition, row)
        problems.extend(_format(row.number, row.errors), row.number)
    if not problems and not count:
        problems.add(_("line 2: the file has a header but no paper forms"), 2)
    return problems


def _store_file(survey_round, source, units):
    """The second pass: every row stored through response_submit, which still finds what needs the
    database (a form_id stored before with other answers). The caller's transaction is rolled back
    when there are any."""
    definition, problems, ids = survey_round.questionnaire.parsed, Problems(), _FormIds(survey_round)
    result = PaperImportResult()
    for row in _rows(source, definition, units, problems):
        ids.assign(row)
        try:
            if row.errors:  # the file changed since the first pass
                raise SubmissionError(400, {column: [message] for column, message in row.errors})
            submitted = paper_submit(survey_round=survey_round, unit=row.unit, form_id=row.form_id,
                                     form_date=row.form_date, answers=row.answers, imported=True)
        except SubmissionError as exc:
            problems.extend(_format(row.number, [(code, "; ".join(messages)) for code, messages in exc.errors.items()]))
            continue
        if submitted.created:
            result.stored += 1
        else:
            result.already_stored += 1
        result.ids.append((submitted.response_id, submitted.created))
    return result, problems


def paper_import_csv(*, survey_round: Round, text: str | None = None, file=None, user=None,
                     max_rows=None) -> PaperImportResult:
    """Import paper forms from the CSV of the round's template, an uploaded ``file`` (any Django
    File, read twice as a stream: checked, then stored) or ``text``: all or nothing. Raises
    PaperImportError with the problems ("line 7, F3.2: must be one of 1, 2, 3, 4, 5"), the first
    IMPORT_ERROR_LIMIT of them. ``user``: only units where they may run fieldwork; ``max_rows``: a
    limit for the upload page."""
    try:
        _check_round_open(survey_round)
    except SubmissionError as exc:
        raise PaperImportError(exc.errors["round"])
    source = file if file is not None else text
    units = _UnitLookup(survey_round, user)
    problems = _check_file(survey_round, source, units, max_rows)
    if problems:
        raise PaperImportError(problems.messages, more=problems.more)
    with transaction.atomic():
        result, problems = _store_file(survey_round, source, units)
        if problems:
            raise PaperImportError(problems.messages, more=problems.more)  # leaving the block rolls back
    return result


# ---------------------------------------------------------------------------------------------
# The template and its codebook


def paper_template_csv(*, survey_round: Round) -> str:
    """The header row the import accepts: the fixed columns, then every item code in order."""
    definition = survey_round.questionnaire.parsed
    return csv_text([META_COLUMNS + [item["code"] for item in definition.items]], bom=False)  # the download adds it


META_CODEBOOK = {
    "unit_code": ("Mã đơn vị nơi thu phiếu", "Code of the unit the form came from", "required"),
    "form_date": ("Ngày ghi trên phiếu", "Date written on the form", "required"),
    "form_id": ("Mã phiếu (để trống: hệ thống tự tạo)", "Form id (leave empty: the import makes one)", "optional"),
}


def _meta_allowed(column, survey_round):
    if column == "unit_code":
        units = survey_round.unit.subtree().filter(survey_round.units_open()).order_by("path")
        return "; ".join(f"{u.code}={u.name}" for u in units)
    if column == "form_date":
        return "YYYY-MM-DD, e.g. 2026-11-23"
    return "a UUID, e.g. 0b7e6a4e-5d1c-4b7a-9c53-2f1f0e3c9a11"


def _allowed(definition, item):
    kind = item["kind"]
    labels = "; ".join(f"{o['code']}={o['label']['vi']}" for o in definition.options(item))
    if kind == "multiple":
        most = f" (at most {item['max_choices']})" if item.get("max_choices") else ""
        return f"one or more codes separated by ';'{most}: {labels}"
    if kind == "number":
        return f"a whole number from {item.get('min', 0)} to {item.get('max', SMALLINT_MAX)}"
    if kind == "text":
        return f"text, at most {item.get('max_length', 500)} characters"
    return labels


def _asked_if(item):
    condition = item.get("condition")
    if not condition:
        return ""
    if set(condition) == {"item", "equals"}:
        return f"{condition['item']} = {condition['equals']}"
    if set(condition) == {"item", "in"}:
        return f"{condition['item']} in {', '.join(map(str, condition['in']))}"
    return f"depends on {', '.join(condition_items(condition))}: {json.dumps(condition)}"


def _filled_from_unit(item):
    """How the answer of an item known from the unit is filled in, for the codebook."""
    by_level = item["known_from"]["unit_level"]
    listed = "; ".join(f"{level} → {by_level[level]}" for level in UNIT_LEVELS if level in by_level)
    return (f"leave empty: filled in from the level of unit_code ({listed}; any other level: that of the unit "
            f"above it). If given, it must be that answer")


def paper_codebook_csv(*, survey_round: Round) -> str:
    """One row per column of the template: what it asks and which values it takes. A column whose
    answer is known from the unit may be left empty (response_submit fills it in)."""
    definition = survey_round.questionnaire.parsed
    rows = [["item_code", "question_vi", "question_en", "kind", "required", "asked_only_if", "allowed_values"]]
    for column, (vi, en, required) in META_CODEBOOK.items():
        rows.append([column, vi, en, "form", required, "", _meta_allowed(column, survey_round)])
    for item in definition.items:
        required = "required" if item["required"] else "optional"
        allowed = _allowed(definition, item)
        if item.get("known_from"):
            required, allowed = "filled in from unit_code", f"{_filled_from_unit(item)}: {allowed}"
        rows.append([item["code"], item["text"]["vi"], item["text"]["en"], item["kind"], required, _asked_if(item),
                     allowed])
    return csv_text(rows, bom=False)  # the download adds it
