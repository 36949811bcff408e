"""Importing the unit tree from CSV: read and check every row, work out what would change (the
preview), then write it all in one transaction.

The file has the header ``code,name,parent_code,level,valid_from,valid_to[,successor_code]``. It is
read as a stream (``surveyapp.spreadsheet.csv_records``). Every problem is named with its row (the
header is row 1) and its column; the first IMPORT_ERROR_LIMIT are kept, the others counted.

``units_import_preview`` only reads: it says what the import would add, change and close.
``units_import_csv`` writes, all or nothing, under a table lock so that the tree it checks is the
tree it writes; given the digest of a preview, it writes only if it would still do exactly what
that preview showed (else ``UnitImportChanged``, and nothing is written).

An administrator's import is limited to their subtrees (``units.access.AdminScope``): a row for a
unit outside them, or one that would place a unit outside them, is a row error, and units outside
them are unknown to the file, as they are to every page.
"""

import dataclasses
import datetime
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from surveyapp.limits import control_character, describe
from surveyapp.spreadsheet import CsvReadError, Problems, csv_records
from units.access import AdminScope
from units.models import CODE_PATTERN, PATH_SEPARATOR, Unit
from units.selectors import units_by_codes

REQUIRED_COLUMNS = ["code", "name", "parent_code", "level", "valid_from", "valid_to"]
OPTIONAL_COLUMNS = ["successor_code"]
UNIT_FIELDS = ("name", "level", "valid_from", "valid_to")
EVERYTHING = AdminScope(everything=True)
CODE_MAX_LENGTH = 32
NAME_MAX_LENGTH = 200


@dataclass(frozen=True)
class RowProblem:
    """A problem of the file: its row (the header is row 1), its column ("" for the row as a whole)
    and what is wrong, in the language that was active when it was found."""

    row: int
    column: str
    message: str

    def __str__(self):
        if self.column:
            return _("row %(row)d, %(column)s: %(message)s") % {
                "row": self.row, "column": self.column, "message": self.message}
        return _("row %(row)d: %(message)s") % {"row": self.row, "message": self.message}


class UnitImportError(Exception):
    """The file was rejected; nothing was stored. ``problems`` name the row and column of each
    problem (``errors``: the same as text); ``more`` problems were found but not listed."""

    def __init__(self, problems, more=0):
        super().__init__(f"{len(problems) + more} error(s) in the unit file")
        self.problems = list(problems)
        self.more = more

    @property
    def errors(self) -> list[str]:
        return [str(problem) for problem in self.problems]


class UnitImportChanged(Exception):
    """The units changed since the preview: the import would now do something else (``plan``), so
    nothing was written."""

    def __init__(self, plan):
        super().__init__("the units changed since the preview")
        self.plan = plan


@dataclass
class UnitChange:
    """What the import does to one unit, as shown: ``changes`` are (column, before, after)."""

    row: int
    code: str
    name: str
    level: str = ""
    parent_code: str = ""
    valid_from: str = ""
    valid_to: str = ""
    successor_code: str = ""
    changes: list = field(default_factory=list)
    closes: bool = False
    units_moved_along: int = 0  # units below it that move with it to its new parent
    raw: list = field(default_factory=list, repr=False)  # what it does in raw values, for the digest


@dataclass
class UnitImportPlan:
    created: list = field(default_factory=list)  # UnitChange
    updated: list = field(default_factory=list)  # UnitChange, closed ones too
    unchanged: int = 0
    digest: str = ""

    @property
    def closed(self):
        """Units open today that the import closes (a unit added with a valid_to is not among them)."""
        return [change for change in self.updated if change.closes]

    @property
    def has_changes(self):
        return bool(self.created or self.updated)


@dataclass
class UnitImportResult:
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    closed: list = field(default_factory=list)
    unchanged: int = 0


@dataclass(slots=True)
class _Row:
    number: int  # the spreadsheet row: the header is row 1
    code: str
    name: str
    parent_code: str
    level: str
    valid_from: datetime.date | None
    valid_to: datetime.date | None
    successor_code: str | None  # None: the file has no successor_code column (successors stay as they are)


# ---------------------------------------------------------------------------------------------
# Reading


def _shown_date(day):
    return day.strftime("%d/%m/%Y") if day else ""


def _parse_date(values, column, problems, number):
    value = values[column]
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        problems.add(RowProblem(number, column, _("“%(value)s” is not a date in the form YYYY-MM-DD, "
                                                  "e.g. 2025-06-30") % {"value": value}), number)
        return None


def _check_header(header, problems):
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if missing:
        problems.add(RowProblem(1, "", _("missing column(s): %(columns)s") % {"columns": ", ".join(missing)}), 1)
    if unknown:
        problems.add(RowProblem(1, "", _("unknown column(s): %(columns)s (the header is %(header)s)") % {
            "columns": ", ".join(unknown), "header": ",".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}), 1)
    if repeated:
        problems.add(RowProblem(1, "", _("repeated column(s): %(columns)s") % {"columns": ", ".join(repeated)}), 1)
    return not (missing or unknown or repeated)


def _check_code(number, code, problems):
    if not code:
        problems.add(RowProblem(number, "code", _("the code is empty")), number)
    elif len(code) > CODE_MAX_LENGTH or not re.match(CODE_PATTERN, code):
        problems.add(RowProblem(number, "code", _("“%(code)s” is not a code: use 1 to 32 letters, digits, "
                                                  "“.”, “-” or “_”, starting with a letter or digit")
                                % {"code": code}), number)


def _check_name(number, name, problems):
    char = control_character(name)
    if not name:
        problems.add(RowProblem(number, "name", _("the name is empty")), number)
    elif len(name) > NAME_MAX_LENGTH:
        problems.add(RowProblem(number, "name", _("the name is longer than %(max)d characters")
                                % {"max": NAME_MAX_LENGTH}), number)
    elif char is not None:
        problems.add(RowProblem(number, "name", _("the name holds the invisible control character %(char)s")
                                % {"char": describe(char)}), number)


def _parse_row(number, values, problems, has_successor):
    """The row, its problems named in ``problems``. A row with a problem is kept all the same, so
    that the rows that name it (as parent, successor or twin) are checked against it."""
    _check_code(number, values["code"], problems)
    _check_name(number, values["name"], problems)
    if values["level"] not in Unit.Level.values:
        problems.add(RowProblem(number, "level", _("“%(value)s” is not one of %(levels)s") % {
            "value": values["level"], "levels": ", ".join(Unit.Level.values)}), number)
    valid_from = _parse_date(values, "valid_from", problems, number)
    valid_to = _parse_date(values, "valid_to", problems, number)
    if valid_from and valid_to and valid_to < valid_from:
        problems.add(RowProblem(number, "valid_to", _("%(valid_to)s is before valid_from %(valid_from)s") % {
            "valid_to": valid_to.isoformat(), "valid_from": valid_from.isoformat()}), number)
    return _Row(number, values["code"], values["name"], values["parent_code"], values["level"], valid_from,
                valid_to, values["successor_code"] if has_successor else None)


def _read_rows(source, problems):
    """The rows of the file, read as a stream; at most UNIT_IMPORT_MAX_ROWS of them, since the whole
    tree is checked at once."""
    records = csv_records(source)
    _line, header = next(records, (1, []))
    header = [h.strip() for h in header]
    if not _check_header(header, problems):
        return []
    has_successor, rows = "successor_code" in header, []
    for number, cells in records:
        if len(cells) > len(header):
            problems.add(RowProblem(number, "", _("more values than columns (%(count)d, the header has %(columns)d)")
                                    % {"count": len(cells), "columns": len(header)}), number)
            continue
        values = {k: v.strip() for k, v in itertools.zip_longest(header, cells, fillvalue="")}
        if not any(values.values()):
            continue  # a blank line
        if len(rows) == settings.UNIT_IMPORT_MAX_ROWS:
            problems.add(RowProblem(number, "", _("the file has more than %(max)d units (UNIT_IMPORT_MAX_ROWS): "
                                                  "is this the right file?") % {"max": settings.UNIT_IMPORT_MAX_ROWS}),
                         number)
            break
        rows.append(_parse_row(number, values, problems, has_successor))
    return rows


def _parse(text, file, problems):
    try:
        return _read_rows(file if file is not None else text, problems)
    except CsvReadError as exc:
        problems.add(RowProblem(exc.line, "", exc.message), exc.line)
        return []


# ---------------------------------------------------------------------------------------------
# Checking against the tree


def _parent_code(unit):
    codes = unit.path.strip(PATH_SEPARATOR).split(PATH_SEPARATOR)
    return codes[-2] if len(codes) > 1 else None


def _unknown(row, column, code, problems):
    problems.add(RowProblem(row.number, column, _("“%(code)s” is not a known unit") % {"code": code}), row.number)


def _check_rows_in_scope(rows, existing, scope, problems):
    """The rows the administrator may import: a row for a unit outside their subtrees is an error
    (and left out, so that nothing else about it is said)."""
    kept = []
    for row in rows:
        unit = existing.get(row.code)
        if unit is not None and not scope.contains(unit.path):
            problems.add(RowProblem(row.number, "code", _("“%(code)s” is the code of a unit you do not "
                                                          "administer") % {"code": row.code}), row.number)
        else:
            kept.append(row)
    return kept


def _check_references(rows, existing, scope, problems):
    """Duplicates, unknown parents and successors (a unit outside the scope is unknown), units
    placed outside the scope, and cycles in the tree the file would make."""
    by_code = {}
    for row in rows:
        if row.code in by_code:
            problems.add(RowProblem(row.number, "code", _("“%(code)s” is already used on row %(first)d")
                                    % {"code": row.code, "first": by_code[row.code].number}), row.number)
        elif row.code:
            by_code[row.code] = row
    known = {code for code, unit in existing.items() if scope.contains(unit.path)} | set(by_code)
    for row in rows:
        current = existing.get(row.code)
        current_parent = _parent_code(current) if current else None
        if row.parent_code and row.parent_code not in known and row.parent_code != current_parent:
            _unknown(row, "parent_code", row.parent_code, problems)
        elif row.code and not row.parent_code and not scope.contains(Unit.path_for(row.code)):
            problems.add(RowProblem(row.number, "parent_code", _(
                "without a parent_code the unit would be outside the units you administer: give the code "
                "of one of your units")), row.number)
        if row.successor_code and row.successor_code not in known:
            _unknown(row, "successor_code", row.successor_code, problems)
        if row.successor_code and row.successor_code == row.code:
            problems.add(RowProblem(row.number, "successor_code", _("a unit cannot be its own successor")),
                         row.number)

    parent_of = {code: _parent_code(unit) for code, unit in existing.items()}
    parent_of.update({code: row.parent_code or None for code, row in by_code.items()})
    for row in by_code.values():
        chain, code = [row.code], parent_of.get(row.code)
        while code is not None and code in parent_of:
            if code == row.code:
                problems.add(RowProblem(row.number, "parent_code", _("cycle in the tree: %(chain)s")
                                        % {"chain": " → ".join(chain + [code])}), row.number)
                break
            if code in chain:
                break  # a cycle above this unit: reported on a row that is part of it
            chain.append(code)
            code = parent_of.get(code)
    return by_code, parent_of


def _final_paths(parent_of, existing):
    paths = {}

    def path(code):
        if code not in paths:
            if code not in parent_of:
                return existing[code].path
            parent = parent_of[code]
            paths[code] = Unit.path_for(code, path(parent) if parent else None)
        return paths[code]

    for code in parent_of:
        path(code)
    return paths


# ---------------------------------------------------------------------------------------------
# What would change


def _units_below(existing):
    """For each existing unit's path, how many units are below it."""
    below = dict.fromkeys((unit.path for unit in existing.values()), 0)
    for unit in existing.values():
        prefix = PATH_SEPARATOR
        for code in unit.path.strip(PATH_SEPARATOR).split(PATH_SEPARATOR)[:-1]:
            prefix = f"{prefix}{code}{PATH_SEPARATOR}"
            if prefix in below:
                below[prefix] += 1
    return below


def _shown(column, value):
    """A value as the preview shows it: a level by its name, a date as 30/06/2025."""
    if not value:
        return ""
    if column == "level":
        return str(Unit.Level(value).label)
    if column in ("valid_from", "valid_to"):
        return datetime.date.fromisoformat(value).strftime("%d/%m/%Y")
    return value


def _iso(day):
    return day.isoformat() if day else ""


def _new_unit(row):
    raw = {"code": row.code, "name": row.name, "level": row.level, "parent_code": row.parent_code,
           "valid_from": _iso(row.valid_from), "valid_to": _iso(row.valid_to),
           "successor_code": row.successor_code or ""}
    change = UnitChange(row=row.number, code=row.code, name=row.name, raw=sorted(raw.items()))
    for column in ("level", "parent_code", "valid_from", "valid_to", "successor_code"):
        setattr(change, column, _shown(column, raw[column]))
    return change


def _changed_unit(row, unit, code_of, below):
    old_parent = _parent_code(unit) or ""
    old_successor = code_of.get(unit.successor_id, "")
    compared = [
        ("name", unit.name, row.name),
        ("level", unit.level, row.level),
        ("parent_code", old_parent, row.parent_code),
        ("valid_from", _iso(unit.valid_from), _iso(row.valid_from)),
        ("valid_to", _iso(unit.valid_to), _iso(row.valid_to)),
    ]
    if row.successor_code is not None:
        compared.append(("successor_code", old_successor, row.successor_code))
    raw = [(column, before, after) for column, before, after in compared if before != after]
    if not raw:
        return None
    return UnitChange(
        row=row.number, code=row.code, name=row.name, level=_shown("level", row.level),
        parent_code=row.parent_code, valid_from=_shown_date(row.valid_from), valid_to=_shown_date(row.valid_to),
        successor_code=row.successor_code if row.successor_code is not None else old_successor,
        changes=[(column, _shown(column, before), _shown(column, after)) for column, before, after in raw],
        closes=unit.valid_to is None and row.valid_to is not None,
        units_moved_along=below.get(unit.path, 0) if old_parent != row.parent_code else 0,
        raw=raw,
    )


def _digest(plan):
    """What the plan does, in raw values (not as shown, which depends on the language)."""
    summary = [["+", c.raw] for c in plan.created] + [["~", c.code, c.raw] for c in plan.updated]
    return hashlib.sha256(json.dumps(summary, ensure_ascii=False).encode()).hexdigest()


@dataclass
class _Checked:
    plan: UnitImportPlan
    rows: dict  # code -> _Row
    existing: dict  # code -> Unit
    final_paths: dict  # code -> path


def _restore_codes(rows, existing):
    """The rows with the codes a spreadsheet took the leading zeros off ("2212" for 02212) given back
    where they name one existing unit (units.selectors.units_by_codes) and no row of the file has
    that code: the file updates the unit it was exported with, not a new unit beside it."""
    own = {row.code for row in rows}
    typed = {code for row in rows for code in (row.code, row.parent_code, row.successor_code)
             if code and code not in existing and code not in own}
    typed |= {row.code for row in rows if row.code not in existing}
    restored = {code: unit.code for code, unit in units_by_codes(typed).items() if unit.code != code}
    if not restored:
        return rows
    fixed = {code: restored.get(code, code) for code in own}
    if len(set(fixed.values())) < len(fixed):  # both 2212 and 02212 in the file: leave it as written
        return rows
    return [dataclasses.replace(row, code=restored.get(row.code, row.code),
                                parent_code=restored.get(row.parent_code, row.parent_code),
                                successor_code=restored.get(row.successor_code, row.successor_code)
                                if row.successor_code is not None else None) for row in rows]


def _check(rows, scope, problems) -> _Checked:
    """Check the rows against the tree as it is now and work out the plan; raises UnitImportError."""
    existing = {u.code: u for u in Unit.objects.all()}
    rows = _restore_codes(rows, existing)
    rows = _check_rows_in_scope(rows, existing, scope, problems)
    by_code, parent_of = _check_references(rows, existing, scope, problems)
    if problems:
        problems.sort()
        raise UnitImportError(problems.messages, more=problems.more)
    final_paths = _final_paths(parent_of, existing)
    code_of = {unit.pk: code for code, unit in existing.items()}
    below = _units_below(existing)
    plan = UnitImportPlan()
    for row in sorted(by_code.values(), key=lambda r: r.number):
        unit = existing.get(row.code)
        if unit is None:
            plan.created.append(_new_unit(row))
            continue
        change = _changed_unit(row, unit, code_of, below)
        if change is None:
            plan.unchanged += 1
        else:
            plan.updated.append(change)
    plan.digest = _digest(plan)
    return _Checked(plan, by_code, existing, final_paths)


def units_import_preview(*, text: str | bytes | None = None, file=None,
                         scope: AdminScope = EVERYTHING) -> UnitImportPlan:
    """What importing the file would add, change and close; writes nothing. Raises
    ``UnitImportError`` naming the row and column of each problem."""
    problems = Problems()
    rows = _parse(text, file, problems)
    return _check(rows, scope, problems).plan


@transaction.atomic
def units_import_csv(*, text: str | bytes | None = None, file=None, scope: AdminScope = EVERYTHING,
                     expect: str | None = None) -> UnitImportResult:
    """Create or update units from a CSV ``file`` (any Django File, read as a stream) or ``text``;
    all or nothing, and the same file twice changes nothing. With ``expect`` (a preview's digest),
    only if the import still does what that preview showed, else ``UnitImportChanged``.

    Raises ``UnitImportError`` naming the row and column of each problem, the first
    IMPORT_ERROR_LIMIT of them (``more``: the number of the others).
    """
    problems = Problems()
    rows = _parse(text, file, problems)
    # Lock out concurrent writers so that the tree we check is the tree we write.
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {Unit._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
    checked = _check(rows, scope, problems)
    if expect is not None and checked.plan.digest != expect:
        raise UnitImportChanged(checked.plan)
    return _apply(checked)


def _apply(checked: _Checked) -> UnitImportResult:
    plan, existing, final_paths = checked.plan, checked.existing, checked.final_paths
    result = UnitImportResult(created=[c.code for c in plan.created], updated=[c.code for c in plan.updated],
                              closed=[c.code for c in plan.closed], unchanged=plan.unchanged)
    touched = {c.code for c in plan.created + plan.updated}
    rows = [row for code, row in checked.rows.items() if code in touched]
    # Parents first, so that every parent exists (and has moved) before its children.
    for row in sorted(rows, key=lambda r: final_paths[r.code].count(PATH_SEPARATOR)):
        _apply_row(row, existing, final_paths[row.code])
    for row in rows:
        if row.successor_code is not None:
            successor = existing[row.successor_code] if row.successor_code else None
            Unit.objects.filter(pk=existing[row.code].pk).update(successor=successor)
    return result


def _apply_row(row, existing, new_path):
    parent = existing[row.parent_code] if row.parent_code else None
    depth = new_path.count(PATH_SEPARATOR) - 2
    unit = existing.get(row.code)
    if unit is None:
        existing[row.code] = Unit.objects.create(
            code=row.code, name=row.name, level=row.level, parent=parent, path=new_path, depth=depth,
            valid_from=row.valid_from, valid_to=row.valid_to,
        )
        return
    unit.refresh_from_db(fields=["path", "depth"])  # an ancestor may just have moved it
    for name in UNIT_FIELDS:
        setattr(unit, name, getattr(row, name))
    unit.parent = parent
    if unit.path != new_path:
        unit_move_subtree(old_path=unit.path, new_path=new_path)
        unit.path, unit.depth = new_path, depth
    unit.save()


def unit_move_subtree(*, old_path: str, new_path: str) -> int:
    """Rewrite the paths of a subtree in one statement when its root gets a new parent."""
    delta = new_path.count(PATH_SEPARATOR) - old_path.count(PATH_SEPARATOR)
    return Unit.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + delta,
    )
