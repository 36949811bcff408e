"""The desks' daily dossier counts (``DeskDay``): how many dossiers a unit's one-stop desk received on
a day, typed or uploaded by a survey officer as CSV ``unit_code,date,dossiers`` (``;`` also taken).
The integrity checks flag a day's kiosk responses at a unit beyond them (fieldwork.integrity).

All or nothing: every problem is named with its row (the header is row 1), the first
IMPORT_ERROR_LIMIT of them; a row for a (unit, day) already recorded replaces its count."""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fieldwork.integrity import integrity_request
from fieldwork.models import DeskDay, Round
from fieldwork.sampling import SamplingError, _check_unit, _read_rows, _units_by_code
from fieldwork.selectors import in_scope
from surveyapp.limits import INT_MAX
from surveyapp.spreadsheet import CsvReadError, Problems

COLUMNS = ["unit_code", "date", "dossiers"]
MAX_ROWS = 50_000  # about 140 desks' days of a year: a province's year fits


class DeskDayError(SamplingError):
    """Nothing was stored; ``errors`` name the row of each problem, ``more`` were only counted."""


def _day(value):
    """The date of a YYYY-MM-DD cell, else None."""
    try:
        return datetime.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def _checked_row(number, values, units, survey_round, problems):
    """(unit id, day, dossiers) of a row, or None with its problems added."""
    unit_id = _check_unit(number, values["unit_code"], units, survey_round, problems)
    if unit_id is not None and not units[values["unit_code"]].path.startswith(_scope_paths(survey_round)):
        problems.add(_("row %(row)d: unit %(code)s is not among your units") % {
            "row": number, "code": values["unit_code"]}, number)
        unit_id = None
    day = _day(values["date"])
    if day is None:
        problems.add(_("row %(row)d: date '%(value)s' is not a date in the form YYYY-MM-DD")
                     % {"row": number, "value": values["date"]}, number)
    dossiers = values["dossiers"]
    if not dossiers.isascii() or not dossiers.isdigit() or int(dossiers) > INT_MAX:
        problems.add(_("row %(row)d: dossiers '%(value)s' is not a whole number of dossiers (0 or more)")
                     % {"row": number, "value": dossiers}, number)
        return None
    return (unit_id, day, int(dossiers)) if unit_id is not None and day is not None else None


def _scope_paths(survey_round) -> tuple:
    return tuple(getattr(survey_round, "scope_paths", [survey_round.unit.path]))


def _rows(source, survey_round, problems) -> list:
    read = []
    try:
        for number, values in _read_rows(source, problems, COLUMNS):
            if len(read) >= MAX_ROWS:
                problems.add(_("the file has more than %(max)d rows: split it") % {"max": MAX_ROWS}, number)
                break
            read.append((number, values))
    except CsvReadError as exc:
        problems.add(_("row %(row)d: %(problem)s") % {"row": exc.line, "problem": exc.message}, exc.line)
    units = _units_by_code(read)
    rows, first = [], {}
    for number, values in read:
        row = _checked_row(number, values, units, survey_round, problems)
        if row is None:
            continue
        if (row[0], row[1]) in first:
            problems.add(_("row %(row)d: unit %(code)s and date %(day)s are already on row %(first)d") % {
                "row": number, "code": values["unit_code"], "day": values["date"], "first": first[row[:2]]}, number)
            continue
        first[row[:2]] = number
        rows.append(row)
    return rows


def desk_days_import(*, survey_round: Round, user, text: str | None = None, file=None) -> int:
    """Store the dossier counts of a CSV ``file`` (a Django File) or ``text``; the number of rows
    stored. DeskDayError (nothing stored) naming every problem's row. Requests an integrity check."""
    problems = Problems()
    rows = _rows(file if file is not None else text, survey_round, problems)
    if not rows and not problems:
        problems.add(_("the file has no rows of dossier counts"))
    if problems:
        problems.sort()
        raise DeskDayError(problems.messages, more=problems.more)
    now = timezone.now()
    with transaction.atomic():
        DeskDay.objects.bulk_create(
            [DeskDay(unit_id=unit_id, day=day, dossiers=dossiers, entered_by=user, entered_at=now)
             for unit_id, day, dossiers in rows],
            update_conflicts=True, unique_fields=["unit", "day"], update_fields=["dossiers", "entered_by",
                                                                                  "entered_at"])
        integrity_request(round_id=survey_round.pk)
    return len(rows)


def recent_desk_days(survey_round: Round, limit=60):
    """The latest recorded dossier counts of the round's units (in the user's part of it), newest first."""
    start, end = survey_round.days()
    days = DeskDay.objects.filter(in_scope(survey_round), day__gte=start)
    if end is not None:
        days = days.filter(day__lte=end)
    return days.select_related("unit").order_by("-day", "unit__path")[:limit]
