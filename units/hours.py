"""A desk's opening hours (``Unit.opening_hours``): parsing what an officer types for a weekday, and
writing them. Read, as a whole, by fieldwork.integrity (responses outside opening hours).

A weekday's hours are typed as intervals separated by commas, ``07:30-11:30, 13:30-17:00`` (local
time, Asia/Ho_Chi_Minh); empty = closed that day. A unit with no hours at all is not checked."""

import datetime
import itertools
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from units.models import Unit

# ISO weekdays, as the form lists them (the stored keys are "1" … "7").
WEEKDAYS = [
    (1, gettext_lazy("Monday")), (2, gettext_lazy("Tuesday")), (3, gettext_lazy("Wednesday")),
    (4, gettext_lazy("Thursday")), (5, gettext_lazy("Friday")), (6, gettext_lazy("Saturday")),
    (7, gettext_lazy("Sunday")),
]
_INTERVAL = re.compile(r"^\s*(\d{1,2})[:h.](\d{2})\s*[-–]\s*(\d{1,2})[:h.](\d{2})\s*$")
MAX_INTERVALS = 6


def _time(hours, minutes, text):
    try:
        return datetime.time(int(hours), int(minutes))
    except ValueError:
        raise ValidationError(_("“%(text)s” is not a time of day: write hours 0-23 and minutes 00-59.")
                              % {"text": text}) from None


def parse_day(text: str) -> list[list[str]]:
    """The intervals of one weekday from ``07:30-11:30, 13:30-17:00``, as [["07:30", "11:30"], …] in
    order; [] for an empty text. ValidationError naming the part that is wrong."""
    intervals = []
    for part in (p for p in (text or "").split(",") if p.strip()):
        match = _INTERVAL.match(part)
        if not match:
            raise ValidationError(_("“%(part)s” is not an interval like 07:30-11:30.") % {"part": part.strip()})
        opens, closes = _time(*match.group(1, 2), part.strip()), _time(*match.group(3, 4), part.strip())
        if closes <= opens:
            raise ValidationError(_("In “%(part)s” the desk closes before it opens.") % {"part": part.strip()})
        intervals.append((opens, closes))
    if len(intervals) > MAX_INTERVALS:
        raise ValidationError(_("At most %(count)d intervals a day.") % {"count": MAX_INTERVALS})
    intervals.sort()
    for (_opens, earlier_close), (later_open, _closes) in itertools.pairwise(intervals):
        if later_open < earlier_close:
            raise ValidationError(_("The intervals overlap: write each time of the day once."))
    return [[opens.strftime("%H:%M"), closes.strftime("%H:%M")] for opens, closes in intervals]


def day_text(intervals) -> str:
    """The form's text for a weekday's stored intervals."""
    return ", ".join(f"{opens}-{closes}" for opens, closes in intervals or [])


def unit_set_hours(*, unit: Unit, hours: dict) -> Unit:
    """Store the unit's opening hours ({ISO weekday: intervals}); all days empty clears them (the unit
    is then not checked). The integrity checks read them at their next run."""
    hours = {str(day): intervals for day, intervals in hours.items() if intervals}
    unit.opening_hours = hours
    unit.save(update_fields=["opening_hours"])
    return unit
