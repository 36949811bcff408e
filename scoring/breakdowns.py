"""Breakdowns (issue 18): every figure of a unit (headline, factors, items, indicators) by service
field, agency level, filing channel, collection channel, gender and age band.

Counting is ``scoring.counting.count_breakdowns``: one grouping set per breakdown in one pass over
the responses, stored as ``UnitCounts`` rows of that ``dimension`` (one "cell" per answer, 0 = no
answer), pooled over the subtree. It is not part of a score run: at 1M responses it costs twice the
main count (some 110,000 cells to roll up and write, where a run has 3,503 rows; bench/scoring.py),
which would have made every run and refresh several times slower. A run that stores scores wants a
count (``count_wanted``, in the run's transaction); the poll (``counts_poll``, with the score poll)
claims it once the last count is ``pause`` old — ``PAUSE_FACTOR`` times the last count's time, at
least ``PAUSE_MIN`` — and a worker counts (``count_claimed``). So the cells follow the figures by
about a minute in a small round and by up to ten times a count's time in a national one, and a
count never takes more than a tenth of a worker; the page and the API say when the cells were
counted and over how many responses. ``count_now`` counts at once (the recompute command, tests).
Which question a breakdown reads is looked up in the round's questionnaire version
(``Counters.dimensions``): a version without the question has no such breakdown. Figures are made
on read from a cell's stored counts with the formulas of every unit (``scoring.figures``).

What may be shown is decided on read, over the whole round (``decide``, for the breakdown read),
with ``scoring.disclosure``'s rule, the one units follow: a cell with fewer than the minimum responses is
withheld, and a cell is part of two sums — its unit's cells add up to the unit, and a unit's cell
adds up from its sub-units' cells of the same answer plus the forms collected at the unit itself —
so in each sum a hidden part is never the only unknown (the shown cell with the fewest responses is
withheld with it, again until nothing changes). Every cell of a withheld unit is withheld (the
units' own rule, ``disclosure.withheld_units``, over the cells' totals: a unit's cells add up to
its responses). A reader decides the breakdown it reads from the n of its stored cells (one query,
no count vectors) and keeps the decision per unit in the cache (``decisions``) under the round's
last count, checked against the n it reads.

- ``count_wanted(cursor, round_id, at)``, ``counts_poll() -> [round ids]``, ``count_claimed(round_id,
  claim)``, ``count_now(survey_round) -> BreakdownCount``: counting, as above.
- ``decide(cells, units_withheld, parents, minimum) -> {(unit, dimension, value): reason or ""}``.
- ``decisions(survey_round, keys, version, minimum, unit_id, cells) -> {key: {value: reason}}``: the
  decisions of the unit's cells of those breakdowns, cached.
- ``available(survey_round) -> [(key, label)]``; ``dimension_for(survey_round, key)``, or
  ``BreakdownError`` naming an unknown or unavailable key.
- ``unit_breakdown(survey_round, unit, key, language) -> Breakdown``: the unit's cells with their
  figures and when they were counted (one query); ``unit_breakdowns(...)``: all of them (one
  query); ``Breakdown.rows(texts)``: the figures as table rows, for the page and the workbook;
  ``Breakdown.api()``: the score API's ``breakdown``.
"""

import logging
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Case, F, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fieldwork.models import Response, Round
from scoring import disclosure, wording
from scoring.counting import Counters, Dimension, Tree, count_breakdowns
from scoring.engine import without_gc
from scoring.figures import Figures
from scoring.models import BreakdownCount, UnitCounts
from surveyapp.celery import app as celery_app
from units.models import Unit

logger = logging.getLogger(__name__)

LABELS = {
    "field": gettext_lazy("Service field"),
    "level": gettext_lazy("Agency level"),
    "filing_channel": gettext_lazy("Filing channel"),
    "collection_channel": gettext_lazy("Collection channel"),
    "gender": gettext_lazy("Gender"),
    "age": gettext_lazy("Age band"),
}
NO_ANSWER = 0  # the cell of responses that did not answer the question
TOTAL = -1  # a unit's whole count among its cells, in ``decide``


class BreakdownError(ValueError):
    """An unknown breakdown, or one the round's questionnaire cannot give; the message names it."""


# ---------------------------------------------------------------------------------------------
# Counting, after the runs

PAUSE_FACTOR = 10  # a round's cells are counted again at most once per this many times the last count's time
PAUSE_MIN = 60  # seconds between two counts of a round at least (a run's own pace)
COUNT_TASK = "scoring.tasks.count_breakdowns"
BREAKDOWN_TABLE = BreakdownCount._meta.db_table


def count_wanted(cursor, round_id: int, at: datetime) -> None:
    """Mark the round's cells as behind its figures (a run stored scores ``at``): one statement, in
    the run's transaction."""
    cursor.execute(f"INSERT INTO {BREAKDOWN_TABLE} (round_id, wanted_at, seconds, responses, error) "
                   "VALUES (%s, %s, 0, 0, '') ON CONFLICT (round_id) DO UPDATE SET wanted_at = "
                   f"greatest({BREAKDOWN_TABLE}.wanted_at, EXCLUDED.wanted_at)", [round_id, at])


def _stale() -> timedelta:
    """A count started this long ago was lost with its worker: the poll claims it again."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


def counts_poll() -> list[int]:
    """Claim the counts that are wanted and whose pause since the last count is over (or whose
    worker was lost), and send them to the workers. Returns the rounds sent. One statement; the
    beat's score poll calls it."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {BREAKDOWN_TABLE} SET started_at = %s WHERE wanted_at IS NOT NULL "
            "AND (started_at IS NULL OR started_at < %s) "
            "AND (counted_at IS NULL OR counted_at + make_interval(secs => greatest(%s, seconds * %s)) <= %s) "
            "RETURNING round_id",
            [now, now - _stale(), PAUSE_MIN, PAUSE_FACTOR, now])
        claimed = sorted(row[0] for row in cursor.fetchall())
    for round_id in claimed:
        try:
            celery_app.send_task(COUNT_TASK, args=[round_id, now.isoformat()])
        except Exception:  # the claim goes stale and the poll sends it again
            logger.exception("could not send the breakdown count of round %s", round_id)
    return claimed


def count_claimed(round_id: int, claim: str) -> BreakdownCount | None:
    """Count the round's cells for the poll's claim (its ``started_at``, ISO); a claim that is not
    the current one (counted already, or claimed again after it went stale) does nothing."""
    now = timezone.now()
    taken = BreakdownCount.objects.filter(round_id=round_id, started_at=datetime.fromisoformat(claim)).update(
        started_at=now)
    return _count(round_id, now) if taken else None


def count_now(survey_round: Round) -> BreakdownCount | None:
    """Count the round's cells at once, unless a count of them is running (then None)."""
    now = timezone.now()
    BreakdownCount.objects.get_or_create(round_id=survey_round.pk)
    taken = (BreakdownCount.objects.filter(round_id=survey_round.pk)
             .exclude(started_at__gte=now - _stale()).update(started_at=now))
    return _count(survey_round.pk, now) if taken else None


def _count(round_id, started) -> BreakdownCount:
    """Count under the claim ``started``: the cells are "as of" it; a run that stored scores after
    it leaves the count wanted again. A failure keeps the previous cells and says why."""
    began = time.monotonic()
    rows = BreakdownCount.objects.filter(round_id=round_id, started_at=started)
    try:
        survey_round = Round.objects.select_related("questionnaire", "unit").get(pk=round_id)
        with without_gc():
            responses = count_breakdowns(survey_round, Tree(survey_round.unit))
    except Exception:
        logger.exception("breakdown count of round %s failed", round_id)
        rows.update(started_at=None, error="".join(traceback.format_exc().splitlines(True)[-12:]))
    else:
        rows.update(started_at=None, counted_at=started, seconds=time.monotonic() - began, responses=responses,
                    error="", wanted_at=Case(When(wanted_at__lte=started, then=None), default=F("wanted_at")))
        _warm(survey_round, started)
    return BreakdownCount.objects.get(round_id=round_id)


def _warm(survey_round, counted_at):
    """Decide every breakdown of the round now and cache it, so that no reader waits for it."""
    counters = _counters(survey_round)
    counted = Counted({}, counted_at, 0)
    try:
        decisions(survey_round, [d.key for d in counters.dimensions], counted.version,
                  counters.scoring.get("min_responses", 30), survey_round.unit_id, {})
    except Exception:  # a reader decides again
        logger.exception("breakdown decisions of round %s not cached", survey_round.pk)


# ---------------------------------------------------------------------------------------------
# What may be shown


def decide(cells: dict, units_withheld: dict, parents: dict, minimum: int) -> dict:
    """Which breakdown cells may be shown, over the whole round: ``{(unit, dimension, value):
    TOO_FEW | PROTECTS | ""}`` for every cell of ``cells`` ({(unit, dimension, value): n}).
    ``units_withheld``: {unit: reason} of the round's withheld units; ``parents``: each unit's
    parent. Each breakdown is decided on its own (its cells add up to the same unit totals)."""
    by_dimension = defaultdict(list)
    for key in sorted(cells):
        by_dimension[key[1]].append(key)
    decided = {}
    for keys in by_dimension.values():
        withheld = _decide_one(keys, cells, units_withheld, parents, minimum)
        decided.update((key, withheld.get(key, "")) for key in keys)
    return decided


def _decide_one(keys, cells, units_withheld, parents, minimum):
    """{key: reason} of the withheld cells of one breakdown (``keys``, sorted, all of it)."""
    of_unit = defaultdict(list)
    for key in keys:
        of_unit[key[0]].append(key)
    n = {key: cells[key] for key in keys}
    sums, below, hidden = [], defaultdict(list), {}
    for unit, parts in of_unit.items():
        total = (unit, parts[0][1], TOTAL)
        n[total] = sum(map(cells.__getitem__, parts))
        sums.append((total, parts))
        parent = parents.get(unit)
        for key in parts:
            above = (parent, key[1], key[2])
            if above in cells:
                below[above].append(key)
        if unit in units_withheld:
            hidden[total] = units_withheld[unit]
            hidden.update(dict.fromkeys(parts, units_withheld[unit]))
    sums += sorted(below.items())
    return disclosure.withheld_in_sums(n, sums, minimum, hidden)


CACHE_SECONDS = 24 * 3600


def _cache_key(round_id, version, key, unit_id):
    return f"scoring:cells:{round_id}:{version}:{key}:{unit_id}"


def decisions(survey_round: Round, keys, version, minimum: int, unit_id: int, cells: dict) -> dict:
    """{key: {value: reason or ""}} of the unit's cells of the breakdowns ``keys``, decided over the
    whole round (``decide``); ``cells``: {key: {value: n}} of the unit's cells as just read;
    ``version``: the round's last breakdown count (None: nothing is cached). A cached decision is used
    only when its n are those read; otherwise (or not cached) the breakdowns are decided again from
    the stored cells' n (one query) and every unit's decisions cached."""
    found = {}
    if version is not None:
        try:
            cached = cache.get_many([_cache_key(survey_round.pk, version, key, unit_id) for key in keys])
        except Exception:  # the cache is an optimisation: decide without it
            logger.warning("breakdown decisions: cache unavailable", exc_info=True)
            cached, version = {}, None
        for key in keys:
            hit = cached.get(_cache_key(survey_round.pk, version, key, unit_id)) if version is not None else None
            if hit is not None and {value: n for value, (n, _) in hit.items()} == cells.get(key, {}):
                found[key] = {value: reason for value, (_, reason) in hit.items()}
    missing = [key for key in keys if key not in found]
    if not missing:
        return found
    n, parents = _cell_n(survey_round, missing)
    for key in missing:
        decided = _decide_stored(n[key], parents, minimum)
        per_unit = defaultdict(dict)
        for (unit, _dimension, value), reason in decided.items():
            per_unit[unit][value] = (n[key][(unit, key, value)], reason)
        found[key] = {value: reason for value, (_, reason) in per_unit.get(unit_id, {}).items()}
        if version is not None:
            try:
                cache.set_many({_cache_key(survey_round.pk, version, key, unit): values
                                for unit, values in per_unit.items()}, CACHE_SECONDS)
            except Exception:
                logger.warning("breakdown decisions: cache unavailable", exc_info=True)
    return found


def _cell_n(survey_round, keys):
    """({key: {(unit, key, value): n}} of every stored cell of those breakdowns, {unit: parent})."""
    n, parents = {key: {} for key in keys}, {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT c.unit_id, u.parent_id, c.dimension, c.stratum, c.counts[1] "
                       f"FROM {UnitCounts._meta.db_table} c JOIN {Unit._meta.db_table} u ON u.id = c.unit_id "
                       "WHERE c.round_id = %s AND c.dimension = ANY(%s)", [survey_round.pk, list(keys)])
        for unit_id, parent_id, dimension, value, count in cursor.fetchall():
            n[dimension][(unit_id, dimension, value)] = count
            parents[unit_id] = parent_id
    return n, parents


def _decide_stored(cells, parents, minimum):
    """``decide`` over one breakdown's stored cells, the units withheld as the run withholds them
    (``disclosure.withheld_units`` over each unit's responses: its cells added up)."""
    totals = defaultdict(int)
    for (unit, _dimension, _value), count in cells.items():
        totals[unit] += count
    return decide(cells, disclosure.withheld_units(dict(totals), parents, minimum), parents, minimum)


# ---------------------------------------------------------------------------------------------
# Which breakdowns a round has


_COUNTERS = {}  # (version id, checksum) -> its Counters: a read builds the layout once, not per call
_COUNTERS_KEPT = 32


def _counters(survey_round: Round) -> Counters:
    """The round's questionnaire version's count layout, built once per process (a unit page asks
    for it for the selector, the chosen breakdown and the channel line; it never changes once built)."""
    version = survey_round.questionnaire
    key = (version.pk, version.checksum)
    counters = _COUNTERS.get(key)
    if counters is None:
        if len(_COUNTERS) >= _COUNTERS_KEPT:
            _COUNTERS.clear()
        counters = _COUNTERS[key] = Counters(version.parsed)
    return counters


def available(survey_round: Round, counters: Counters | None = None) -> list[tuple[str, str]]:
    """(key, label) of the breakdowns the round's questionnaire version gives, in order."""
    counters = counters or _counters(survey_round)
    return [(d.key, str(LABELS[d.key])) for d in counters.dimensions]


def dimension_for(survey_round: Round, key: str, counters: Counters | None = None) -> Dimension:
    """The breakdown called ``key``, or ``BreakdownError`` saying what is wrong and what to use."""
    counters = counters or _counters(survey_round)
    found = next((d for d in counters.dimensions if d.key == key), None)
    if found is not None:
        return found
    choices = ", ".join(d.key for d in counters.dimensions)
    if key in LABELS:
        raise BreakdownError(_("This round's questionnaire has no breakdown “%(key)s” (it does not ask the "
                               "question); use one of %(choices)s.") % {"key": key, "choices": choices})
    raise BreakdownError(_("Unknown breakdown “%(key)s”: use one of %(choices)s.") % {"key": key,
                                                                                     "choices": choices})


# ---------------------------------------------------------------------------------------------
# A unit's cells and their figures


@dataclass
class Cell:
    value: int  # the stored answer (an option's number from 1, a channel), 0 = no answer
    code: str  # the option's code, the channel's name, or "none"
    label: str
    n: int
    withheld: str  # "" shown, else why not (UnitCounts.withheld)
    reason: str = ""  # why not, for people
    figures: dict | None = None  # headline, headline_ci, factors, items, indicators; None unless shown


@dataclass
class Breakdown:
    dimension: Dimension
    label: str
    cells: list = field(default_factory=list)
    counted_at: datetime | None = None  # when the cells were counted (None: not yet)
    responses: int = 0  # the round's responses they count

    def rows(self, texts: dict) -> list[dict]:
        """The figures as table rows, one value per cell (None where withheld or not computable):
        responses, headline, factor indices, item rates, indicator shares (each question's row,
        without values, before its options' rows; the breakdown's own question left out: its
        shares say nothing)."""
        rows = [{"kind": "n", "code": "n", "label": _("Responses (n)"), "values": [c.n for c in self.cells]}]
        rows.append({"kind": "headline", "code": "", "label": texts["headline"],
                     "values": self._values(lambda f: f["headline"])})
        for code, label in texts["factors"].items():
            rows.append({"kind": "factor", "code": code, "label": label,
                         "values": self._values(lambda f, code=code: (f["factors"].get(code) or {}).get("value"))})
        for codes in texts["factor_items"].values():
            for code in codes:
                rows.append({"kind": "item", "code": code, "label": texts["items"].get(code, code),
                             "values": self._values(lambda f, code=code: (f["items"].get(code) or {}).get("rate"))})
        for code, spec in texts["indicators"].items():
            if code == self.dimension.question:
                continue
            # the question once, then its options (a table a phone can read)
            rows.append({"kind": "question", "code": code, "label": spec["text"], "values": []})
            for option, label in spec["options"].items():
                rows.append({"kind": "indicator", "code": f"{code}:{option}", "label": label,
                             "values": self._values(lambda f, code=code, option=option:
                                                    (f["indicators"].get(code) or {}).get(option))})
        return rows

    def _values(self, pick):
        return [pick(c.figures) if c.figures is not None else None for c in self.cells]

    def api(self) -> dict:
        """The score API's ``breakdown``: each cell's n, and its figures or why they are withheld."""
        cells = []
        for cell in self.cells:
            body = {"value": cell.code, "n": cell.n, "enough": cell.figures is not None}
            if cell.figures is None:
                body["withheld"] = cell.reason
            else:
                ci = cell.figures["headline_ci"]
                body.update({"headline": {"value": cell.figures["headline"], "ci": list(ci) if ci else None},
                             "factors": cell.figures["factors"], "items": cell.figures["items"],
                             "indicators": cell.figures["indicators"]})
            cells.append(body)
        return {"by": self.dimension.key, "question": self.dimension.question,
                "counted_at": self.counted_at.isoformat() if self.counted_at else None,
                "responses_counted": self.responses, "cells": cells}


def value_labels(survey_round: Round, dimension: Dimension, language: str) -> dict:
    """{stored value: (code, label)} of the breakdown's answers, in the language."""
    if dimension.question is None:
        return {value: (Response.Channel(value).name.lower(), str(label)) for value, label in Response.Channel.choices}
    item = survey_round.questionnaire.parsed.by_code[dimension.question]
    return {number: (option["code"], wording.text_in(option["label"], language))
            for number, option in enumerate(item["options"], start=1)}


def unit_breakdown(*, survey_round: Round, unit: Unit, key: str, language: str, unit_shown: bool = True,
                   counters: Counters | None = None) -> Breakdown:
    """The unit's cells of the breakdown ``key`` (``BreakdownError`` if the round has none such),
    answers in the questionnaire's order, no answer last; figures only for cells that may be shown,
    and none at all when the unit's own figures are withheld (``unit_shown``). One query (two when
    the decisions are not cached: ``decisions``)."""
    counters = counters or _counters(survey_round)
    dimension = dimension_for(survey_round, key, counters)
    counted = _unit_cells(survey_round, unit, [dimension.key])
    decided = _decided(survey_round, unit, counted, counters)
    return _breakdown(survey_round, dimension, counted, decided.get(dimension.key, {}), counters, language,
                      unit_shown)


@dataclass
class Counted:
    """A unit's stored cells of some breakdowns, and the count they come from."""

    rows: dict  # {key: [(value, counts)]}
    counted_at: datetime | None
    responses: int

    @property
    def version(self):
        """What the cached decisions go with: the count (None: nothing counted, nothing cached)."""
        if self.counted_at is None:
            return None
        return (self.counted_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _unit_cells(survey_round, unit, keys) -> Counted:
    """The unit's cells of those breakdowns and their count, in one query."""
    rows = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT b.counted_at, b.responses, c.dimension, c.stratum, c.counts FROM (SELECT 1) one "
                       f"LEFT JOIN {BREAKDOWN_TABLE} b ON b.round_id = %s "
                       f"LEFT JOIN {UnitCounts._meta.db_table} c ON c.round_id = %s AND c.unit_id = %s "
                       "AND c.dimension = ANY(%s)", [survey_round.pk, survey_round.pk, unit.pk, list(keys)])
        found = cursor.fetchall()
    for _counted_at, _responses, dimension, value, counts in found:
        if dimension is not None:
            rows[dimension].append((value, counts))
    return Counted(rows, found[0][0], found[0][1] or 0)


def _decided(survey_round, unit, counted, counters):
    keys = [key for key in counted.rows if counted.rows[key]]
    if not keys:
        return {}
    return decisions(survey_round, keys, counted.version, counters.scoring.get("min_responses", 30), unit.pk,
                     {key: {value: counts[0] for value, counts in counted.rows[key]} for key in keys})


def unit_breakdowns(*, survey_round: Round, unit: Unit, language: str, unit_shown: bool = True) -> list[Breakdown]:
    """Every breakdown of the unit the round's questionnaire gives, as ``unit_breakdown``. One query
    (two when the decisions are not cached)."""
    counters = _counters(survey_round)
    counted = _unit_cells(survey_round, unit, [d.key for d in counters.dimensions])
    decided = _decided(survey_round, unit, counted, counters)
    return [_breakdown(survey_round, dimension, counted, decided.get(dimension.key, {}), counters, language,
                       unit_shown)
            for dimension in counters.dimensions]


def _breakdown(survey_round, dimension, counted, decided, counters, language, unit_shown):
    language = wording.language_of(language)
    labels = value_labels(survey_round, dimension, language)
    minimum = counters.scoring.get("min_responses", 30)
    figures = Figures(counters)
    cells = []
    for value, counts in counted.rows.get(dimension.key, []):
        withheld = decided.get(value, disclosure.PROTECTS)
        code, label = labels.get(value, ("none", _("No answer")) if value == NO_ANSWER else (str(value), str(value)))
        shown = unit_shown and withheld == "" and len(counts) == len(counters.names)
        if not unit_shown and withheld == "":
            withheld = disclosure.PROTECTS
        cell = Cell(value=value, code=code, label=label, n=counts[0], withheld=withheld)
        if shown:
            cell.figures = cell_figures(figures, counts)
        else:
            cell.reason = wording.cell_withheld_reason(cell.n, minimum, withheld)
        cells.append(cell)
    cells.sort(key=lambda c: (c.value == NO_ANSWER, c.value))
    return Breakdown(dimension=dimension, label=str(LABELS[dimension.key]), cells=cells,
                     counted_at=counted.counted_at, responses=counted.responses)


def cell_figures(figures: Figures, vector) -> dict:
    """A cell's figures from its counts, by the version's formulas (as a unit's)."""
    items = figures.items(vector)
    values = figures.factor_values(vector, items)
    headline, ci = figures.headline(vector, items, values)
    return {"headline": headline, "headline_ci": ci, "factors": figures.factors(vector, items, values),
            "items": items, "indicators": figures.indicators(vector)}
