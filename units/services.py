"""Changing units and roles."""

import datetime
import itertools
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from surveyapp.spreadsheet import CsvReadError, Problems, csv_records
from units.models import CODE_PATTERN, Role, Unit

REQUIRED_COLUMNS = ["code", "name", "parent_code", "level", "valid_from", "valid_to"]
OPTIONAL_COLUMNS = ["successor_code"]
UNIT_FIELDS = ("name", "level", "valid_from", "valid_to")


class UnitImportError(Exception):
    """The file was rejected; nothing was stored. ``errors`` name the row of each problem; ``more``
    problems were found but not listed (IMPORT_ERROR_LIMIT)."""

    def __init__(self, errors, more=0):
        super().__init__(f"{len(errors) + more} error(s) in the unit file")
        self.errors = errors
        self.more = more


@dataclass
class UnitImportResult:
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
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
    successor_code: str


def _parse_date(value, column, errors, number):
    value = value.strip()
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        errors.add(f"row {number}: {column} '{value}' is not a date in the form YYYY-MM-DD")
        return None


def _check_header(header, errors):
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing:
        errors.add(f"row 1: missing column(s): {', '.join(missing)}")
    if unknown:
        errors.add(f"row 1: unknown column(s): {', '.join(unknown)}")
    return not (missing or unknown)


def _parse_row(number, values, errors, levels):
    """The row, its problems named in ``errors``. A row with a problem is kept all the same, so that
    the rows that name it (as parent, successor or twin) are checked against it."""
    code = values["code"]
    if not code:
        errors.add(f"row {number}: code is empty")
    elif len(code) > 32 or not re.match(CODE_PATTERN, code):
        errors.add(f"row {number}: code '{code}' must be 1-32 letters, digits, '.', '-' or '_'")
    if not values["name"]:
        errors.add(f"row {number}: name is empty")
    elif len(values["name"]) > 200:
        errors.add(f"row {number}: name is longer than 200 characters")
    if values["level"] not in levels:
        errors.add(f"row {number}: level '{values['level']}' is not one of {', '.join(Unit.Level.values)}")
    valid_from = _parse_date(values["valid_from"], "valid_from", errors, number)
    valid_to = _parse_date(values["valid_to"], "valid_to", errors, number)
    if valid_from and valid_to and valid_to < valid_from:
        errors.add(f"row {number}: valid_to {valid_to} is before valid_from {valid_from}")
    return _Row(number, code, values["name"], values["parent_code"], values["level"], valid_from, valid_to,
                values.get("successor_code", ""))


def _read_rows(source, errors):
    """The rows of the file, read as a stream; at most UNIT_IMPORT_MAX_ROWS of them, since the whole
    tree is checked at once."""
    records = csv_records(source)
    _line, header = next(records, (1, []))
    header = [h.strip() for h in header]
    if not _check_header(header, errors):
        return []
    levels, rows = set(Unit.Level.values), []
    for number, cells in records:
        if len(cells) > len(header):
            errors.add(f"row {number}: more values than columns")
            continue
        values = {k: v.strip() for k, v in itertools.zip_longest(header, cells, fillvalue="")}
        if not any(values.values()):
            continue  # a blank line
        if len(rows) == settings.UNIT_IMPORT_MAX_ROWS:
            errors.add(f"row {number}: the file has more than {settings.UNIT_IMPORT_MAX_ROWS} units "
                       "(UNIT_IMPORT_MAX_ROWS): is this the right file?")
            break
        rows.append(_parse_row(number, values, errors, levels))
    return rows


def _check_references(rows, known_parents, errors):
    """Duplicates, unknown parents and successors, and cycles in the tree the file would make."""
    by_code = {}
    for row in rows:
        if row.code in by_code:
            errors.add(f"row {row.number}: code '{row.code}' is already used on row {by_code[row.code].number}")
        else:
            by_code[row.code] = row
    known = set(known_parents) | set(by_code)
    for row in rows:
        if row.parent_code and row.parent_code not in known:
            errors.add(f"row {row.number}: parent_code '{row.parent_code}' is not a known unit")
        if row.successor_code and row.successor_code not in known:
            errors.add(f"row {row.number}: successor_code '{row.successor_code}' is not a known unit")
        if row.successor_code and row.successor_code == row.code:
            errors.add(f"row {row.number}: a unit cannot be its own successor")

    parent_of = dict(known_parents)
    parent_of.update({code: row.parent_code or None for code, row in by_code.items()})
    for row in by_code.values():
        chain, code = [row.code], parent_of.get(row.code)
        while code is not None and code in parent_of:
            if code == row.code:
                errors.add(f"row {row.number}: cycle in the tree: {' → '.join(chain + [code])}")
                break
            if code in chain:
                break  # a cycle above this unit: reported on a row that is part of it
            chain.append(code)
            code = parent_of.get(code)
    return by_code, parent_of


def _final_paths(parent_of):
    paths = {}

    def path(code):
        if code not in paths:
            parent = parent_of.get(code)
            paths[code] = Unit.path_for(code, path(parent) if parent else None)
        return paths[code]

    for code in parent_of:
        path(code)
    return paths


@transaction.atomic
def units_import_csv(*, text: str | None = None, file=None) -> UnitImportResult:
    """Create or update units from a CSV ``file`` (any Django File, read as a stream) or ``text``;
    all or nothing, and the same file twice changes nothing.

    Raises ``UnitImportError`` naming the row of each problem, the first IMPORT_ERROR_LIMIT of them
    (``more``: the number of the others).
    """
    errors = Problems()
    try:
        rows = _read_rows(file if file is not None else text, errors)
    except CsvReadError as exc:
        errors.add(f"row {exc.line}: {exc.message}")
        rows = []
    # Lock out concurrent writers so that the tree we check is the tree we write.
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {Unit._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
    existing = {u.code: u for u in Unit.objects.all()}
    known_parents = {code: (u.path.strip("/").split("/")[-2] if u.depth else None) for code, u in existing.items()}
    by_code, parent_of = _check_references(rows, known_parents, errors)
    if errors:
        raise UnitImportError(errors.messages, more=errors.more)

    final_paths = _final_paths(parent_of)
    result = UnitImportResult()
    # Parents first, so that every parent exists (and has moved) before its children.
    for row in sorted(by_code.values(), key=lambda r: final_paths[r.code].count("/")):
        _apply_row(row, existing, final_paths[row.code], result)
    _apply_successors(by_code.values(), existing)
    return result


def _apply_row(row, existing, new_path, result):
    parent = existing[row.parent_code] if row.parent_code else None
    depth = new_path.count("/") - 2
    unit = existing.get(row.code)
    if unit is None:
        unit = Unit.objects.create(
            code=row.code, name=row.name, level=row.level, parent=parent, path=new_path, depth=depth,
            valid_from=row.valid_from, valid_to=row.valid_to,
        )
        existing[row.code] = unit
        result.created.append(row.code)
        return
    unit.refresh_from_db(fields=["path", "depth"])  # an ancestor may just have moved it
    changed = [f for f in UNIT_FIELDS if getattr(unit, f) != getattr(row, f)]
    if unit.parent_id != (parent.pk if parent else None):
        changed.append("parent")
    if not changed:
        result.unchanged += 1
        return
    for name in UNIT_FIELDS:
        setattr(unit, name, getattr(row, name))
    unit.parent = parent
    if unit.path != new_path:
        unit_move_subtree(old_path=unit.path, new_path=new_path)
        unit.path, unit.depth = new_path, depth
    unit.save()
    result.updated.append(row.code)


def _apply_successors(rows, existing):
    for row in rows:
        unit = existing[row.code]
        successor = existing[row.successor_code] if row.successor_code else None
        if unit.successor_id != (successor.pk if successor else None):
            Unit.objects.filter(pk=unit.pk).update(successor=successor)


def unit_move_subtree(*, old_path: str, new_path: str) -> int:
    """Rewrite the paths of a subtree in one statement when its root gets a new parent."""
    delta = new_path.count("/") - old_path.count("/")
    return Unit.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + delta,
    )


class RoleGrantError(Exception):
    pass


def role_grant(*, username: str, unit_code: str, kind: str) -> tuple[Role, bool]:
    """Give a user a role on a unit's subtree. Granting a role the user already has changes nothing."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise RoleGrantError(f"unknown user '{username}'")
    unit = Unit.objects.filter(code=unit_code).first()
    if unit is None:
        raise RoleGrantError(f"unknown unit code '{unit_code}'")
    if kind not in Role.Kind.values:
        raise RoleGrantError(f"unknown role '{kind}': use one of {', '.join(Role.Kind.values)}")
    return Role.objects.get_or_create(user=user, unit=unit, kind=kind)
