"""Turning a round's responses into per-unit scores.

``compute_round(survey_round, progress=None) -> RoundResult`` reads the round's valid responses
(not excluded; over-quota ones only if the round counts them) with grouped SQL over the compact
answer layout, never a Python loop over responses, and returns every unit's figures: the round's
unit and every unit below it that has responses, pooled over each subtree.

How:
1. One generated SELECT counts, per response unit (and service-field answer when the weighted
   headline needs it), for every satisfaction item the satisfied and the valid answers, for every
   factor the responses with a valid answer to any of its items, for every indicator option the
   responses that chose it, and the responses in the group (``Counters``: the count layout, and
   the lookup-array form of the full count with its measurements). A large table is read in two
   parts by two connections sharing one snapshot (``count_responses``). At 5M responses in 3,503
   units: 13.5 s of backend CPU on one connection, 8-12 s wall split over two on this shared
   2-core machine (bench/scoring.py; the earlier per-count FILTER query took 4.6 µs a response,
   this one 2.8 µs). A refresh counts only the pending changes, with one FILTER per count.
2. Counts add up, so Python rolls the (small) per-unit table up to every ancestor inside the
   round's subtree by ``Unit.path``: a parent's figures are exactly those of its pooled subtree.
3. Figures per unit come from the counts by the plain functions in ``scoring.formulas``, by the
   version's declared ``scoring`` block (SIPAS.md §5: nothing hard-coded per instrument).

Choices (documented here because they are ours, not the method's):
- A ``mean_of_factors`` headline is the mean of the listed factors that have a value (a factor
  with no valid answers is left out, not counted as 0); its 95 % interval (our addition) is a
  normal approximation by the delta method, treating the item rates as independent binomial
  proportions: var(mean of k) = Σ var / k², with var(rate) = p(1-p)/n. Answers of one citizen are
  positively correlated, so this interval is somewhat too narrow; it is labelled approximate.
- The weighted headline (our addition) is post-stratified by service field (``E.FIELD``) with the
  dossier counts of the round's most recent dossier list in the unit's subtree: Σ share_f ×
  headline within field f. It is None when the round has no dossier list, the unit's subtree has
  no dossiers, or a field with dossiers has no responses (or no headline) in the subtree — a
  weight that cannot be applied would silently reweight the others. Responses without a field
  answer are left out of the weighted figure only.
- Indicator shares and expectation shares are of the responses that answered that question.
- Every response of a round is in the round's questionnaire layout: a response does not store the
  version, and the database refuses to change a round's version once it has responses (trigger
  fieldwork_round_questionnaire_frozen). A response unit outside the round's subtree counts for
  the round's unit only.
"""

import gc
import logging
import math
import operator
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from fieldwork.models import Dossier, DossierList, Exclusion, Response, ResponseChange, Round
from scoring import disclosure, formulas
from scoring.models import UnitCounts, UnitScore
from units.models import PATH_SEPARATOR, Unit

logger = logging.getLogger(__name__)

SATISFACTION_LEVELS = "BETWEEN 1 AND 5"
FIELD_ITEM = "E.FIELD"


@dataclass
class UnitResult:
    unit_id: int
    n: int
    enough: bool
    headline: float | None
    headline_ci: tuple[float, float] | None
    weighted_headline: float | None
    factors: dict
    items: dict
    indicators: dict
    expectations: list
    withheld: str = ""  # scoring.disclosure: TOO_FEW, PROTECTS, or "" (shown)
    rank: int | None = None
    rank_of: int | None = None
    change_points: float | None = None
    change_places: int | None = None


@dataclass
class RoundResult:
    units: list[UnitResult] = field(default_factory=list)
    responses_used: int = 0
    full: bool = True  # every response counted again and every unit returned
    removed: list = field(default_factory=list)  # incremental: touched units left without responses
    # incremental: {unit: Published} of untouched units whose withholding, rank or change moved
    published_updates: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# The counting query


class Counters:
    """The counts behind the figures, in a fixed layout (``names``): the responses, per satisfaction
    item the satisfied and the valid answers, per factor the responses with a valid answer to any of
    its items, per indicator (and expectation) question the responses that answered it and those
    that chose each option.

    Two ways to count them, giving the same numbers on any data:

    * ``sql(delta=True)``: one ``sum(sign) FILTER (WHERE …)`` per count over the round's pending
      changes (a handful of rows: clarity first).
    * ``full_sql()``: every response. Most counts depend on one answer slot, so they are read from
      constant lookup arrays indexed by the answer: one ``sum(lookup[answer])`` per slot and pair
      of counts, the pair packed in an int4 (first count + second × 2³⁰), unpacked by ``decode``.
      Factor counts (any of several slots) stay FILTERs. The answers are read from the array
      once expanded (``array_append`` returns PostgreSQL's expanded form: O(1) subscripts; the
      stored form walks its null bitmap and copies the short array on every subscript).
      Measured at 1M responses (3,503 units; backend CPU seconds, this 2-core machine shared):
      FILTER per count 3.6-3.9 s, lookups on the stored array 3.5 s, lookups on the expanded
      array 2.6 s; packing three counts per int8 instead 3.7 s (``sum(int8)`` keeps an int128
      state); ``unnest … WITH ORDINALITY`` grouped by slot and value was 36 µs a response.

    A count's domain is explicit, so both forms agree on any stored value: a satisfaction answer
    counts as valid for 1-5; a choice question counts as answered when its value is an option
    number (single, yes/no: 0 to the last option; multiple: a mask of its options), never for an
    out-of-range value (validation never stores one).
    """

    PACK_SHIFT = 30  # the second count of a pair, in an int4 summed to an int8
    PACK_MASK = (1 << PACK_SHIFT) - 1
    LOOKUP_MAX = 1024  # entries of a lookup array; a multiple choice with more options keeps FILTERs

    def __init__(self, definition):
        self.definition = definition
        self.scoring = definition.doc["scoring"]
        self.positions = definition.positions
        self.names, self.filters = ["responses"], ["TRUE"]
        self.slots = set()  # the answer slots the counts read
        self.by_slot = defaultdict(list)  # slot -> [(count index, domain, test)] for the lookup form
        self.plain = [0]  # count indexes the lookup form counts with FILTER
        self.satisfaction = [item["code"] for item in definition.items if item["kind"] == "satisfaction"]
        self.indicators = list(definition.doc.get("indicators", []))
        expectations = [definition.doc["expectations"]] if definition.doc.get("expectations") else []
        self._add_items()
        self._add_factors()
        for code in sorted(set(self.indicators + expectations)):
            self._add_choices(definition.by_code[code])
        self.index = {name: i for i, name in enumerate(self.names)}
        self.field_slot = self.positions.get(FIELD_ITEM)
        self.packs = self._packs()

    def _add_items(self):
        satisfied = sorted({int(level) for level in self.scoring["satisfied_levels"]})
        levels = ", ".join(map(str, satisfied))
        domain = range(min(0, *satisfied), max(5, *satisfied) + 1)
        for code in self.satisfaction:
            slot = self._slot(code)
            self._add(("satisfied", code), f"{{s{slot}}} IN ({levels})", slot, domain, lambda v: v in satisfied)
            self._add(("valid", code), f"{{s{slot}}} {SATISFACTION_LEVELS}", slot, domain, lambda v: 1 <= v <= 5)

    def _add_factors(self):
        for factor, spec in sorted(self.scoring["factors"].items()):
            any_valid = " OR ".join(f"{{s{self._slot(code)}}} {SATISFACTION_LEVELS}" for code in spec["items"])
            self._add(("factor", factor), any_valid)

    def _add_choices(self, item):
        slot = self._slot(item["code"])
        options = option_values(item)
        multiple = item["kind"] == "multiple"
        last = (1 << len(options)) - 1 if multiple else max((value for _, value in options), default=0)
        domain = range(0, last + 1)
        slot_for_lookup = slot if len(domain) <= self.LOOKUP_MAX else None
        self._add(("answered", item["code"]), f"{{s{slot}}} BETWEEN 0 AND {last}", slot_for_lookup, domain,
                  lambda v: True)
        for option, value in options:
            if multiple:
                bit = 1 << (value - 1)
                test = lambda v, bit=bit: v & bit != 0  # noqa: E731
                condition = f"({{s{slot}}} & {bit}) <> 0 AND {{s{slot}}} BETWEEN 0 AND {last}"
            else:
                test, condition = (lambda v, value=value: v == value), f"{{s{slot}}} = {value}"
            self._add(("option", item["code"], option), condition, slot_for_lookup, domain, test)

    def _add(self, name, condition, slot=None, domain=None, test=None):
        self.names.append(name)
        self.filters.append(condition)
        if slot is None:
            self.plain.append(len(self.names) - 1)
        else:
            self.by_slot[slot].append((len(self.names) - 1, domain, test))

    def _slot(self, code):
        self.slots.add(self.positions[code])
        return self.positions[code]

    def _packs(self):
        """[(slot, lookup array literal, [count indexes])]: a pair of counts of one slot per sum."""
        packs = []
        for slot, counts in sorted(self.by_slot.items()):
            for first in range(0, len(counts), 2):
                pair = counts[first:first + 2]
                domain = pair[0][1]
                values = [sum(1 << (self.PACK_SHIFT * k) for k, (_, _, test) in enumerate(pair) if test(v))
                          for v in domain]
                literal = f"'[{domain.start}:{domain.stop - 1}]={{{','.join(map(str, values))}}}'::int4[]"
                packs.append((slot, literal, [index for index, _, _ in pair]))
        return packs

    def _conditions(self, indexes, slot_ref):
        refs = {f"s{slot}": slot_ref.format(slot) for slot in self.slots}
        return [self.filters[i].format_map(refs) for i in indexes]

    def sql(self, *, delta=True):
        """The round's pending changes (fieldwork.models.ResponseChange) counted, consuming them (a
        DELETE … RETURNING in the same statement), each response with its sign: +1 stored or
        restored, -1 excluded. Excluded responses are then not filtered out: their -1 is the point.
        The inner SELECT reads each answer slot once; OFFSET 0 keeps PostgreSQL from folding it into
        the outer query."""
        if not delta:
            raise ValueError("the full count is full_sql()")
        stratum = f"r.answers[{self.field_slot}]" if self.field_slot else "NULL::smallint"
        slots = "".join(f", r.answers[{i}] AS s{i}" for i in sorted(self.slots))
        columns = ",\n  ".join(f"coalesce(sum(r.sign) FILTER (WHERE {condition}), 0)"
                               for condition in self._conditions(range(len(self.names)), "s{}"))
        return (
            f"WITH consumed AS (DELETE FROM {ResponseChange._meta.db_table} WHERE round_id = %s\n"
            "  RETURNING response_id, sign)\n"
            f"SELECT unit_id, stratum,\n  {columns}\n"
            f"FROM (SELECT r.unit_id, {stratum} AS stratum, p.sign{slots}\n"
            f"  FROM consumed p JOIN {Response._meta.db_table} r ON r.id = p.response_id\n"
            "  WHERE (%s OR NOT r.over_quota)\n"
            "  OFFSET 0) r\n"
            "GROUP BY 1, 2 ORDER BY 1, 2"
        )

    def full_sql(self, *, by_field, blocks=None):
        """Every valid response of the round counted per unit (and service-field answer when
        ``by_field``): rows of (unit, stratum, *columns) for ``decode``. Parameters: round,
        whether over-quota responses count, then with ``blocks`` ("from", or
        "from-to") the tids where the table part to read starts (and where the next one starts)."""
        stratum = f"a[{self.field_slot}]" if by_field and self.field_slot else "NULL::smallint"
        columns = [f"count(*) FILTER (WHERE {c})" if c != "TRUE" else "count(*)"
                   for c in self._conditions(self.plain, "a[{}]")]
        columns += [f"sum(({literal})[a[{slot}]])" for slot, literal, _ in self.packs]
        part = ""
        if blocks:
            part = "\n    AND r.ctid >= %s::tid" + (" AND r.ctid < %s::tid" if blocks == "from-to" else "")
        return (
            f"SELECT unit_id, {stratum} AS stratum,\n  " + ",\n  ".join(columns) + "\n"
            f"FROM (SELECT r.unit_id, array_append(r.answers, NULL::smallint) AS a\n"
            f"  FROM {Response._meta.db_table} r\n"
            f"  WHERE r.round_id = %s AND (%s OR NOT r.over_quota){part}\n"
            f"    AND NOT EXISTS (SELECT 1 FROM {Exclusion._meta.db_table} e WHERE e.response_id = r.id)\n"
            "  OFFSET 0) r\n"
            "GROUP BY 1, 2"
        )

    def decode(self, row):
        """(unit, stratum, counts in ``names`` order) from a row of ``full_sql``."""
        unit_id, stratum, *columns = row
        vector = [0] * len(self.names)
        for index, value in zip(self.plain, columns[:len(self.plain)], strict=True):
            vector[index] = value
        if vector[0] > self.PACK_MASK:  # a pair's first count would spill into the second
            raise OverflowError(f"{vector[0]} responses in one unit: more than a packed count holds")
        for (_slot, _literal, indexes), packed in zip(self.packs, columns[len(self.plain):], strict=True):
            packed = packed or 0
            vector[indexes[0]] = packed & self.PACK_MASK
            if len(indexes) > 1:
                vector[indexes[1]] = packed >> self.PACK_SHIFT
        return unit_id, stratum, vector

    def get(self, vector, *name):
        return vector[self.index[name]]


def option_values(item):
    """(option code, stored value) of a choice item: single/multiple 1-based index, yes/no 1/2."""
    if item["kind"] == "yesno":
        return [("yes", 1), ("no", 2)]
    if item["kind"] in ("single", "multiple"):
        return [(option["code"], i) for i, option in enumerate(item["options"], start=1)]
    return []


# ---------------------------------------------------------------------------------------------
# Rolling up the tree


class Tree:
    """The round's subtree, and for each unit the units whose figures it counts towards."""

    def __init__(self, top: Unit):
        self.top = top
        units = Unit.objects.filter(path__startswith=top.path).values_list("id", "path", "parent_id")
        self.paths = {unit_id: path for unit_id, path, _ in units}
        self.parents = {unit_id: parent_id for unit_id, _, parent_id in units}
        self.by_path = {path: unit_id for unit_id, path in self.paths.items()}
        self._cache = {}

    def counted_in(self, unit_id):
        """This unit and its ancestors up to the round's unit (the round's unit only when the unit
        is outside the subtree)."""
        if unit_id not in self._cache:
            path = self.paths.get(unit_id)
            if path is None:
                self._cache[unit_id] = [self.top.id]
            else:
                codes = path.strip(PATH_SEPARATOR).split(PATH_SEPARATOR)
                prefixes = (PATH_SEPARATOR + PATH_SEPARATOR.join(codes[: i + 1]) + PATH_SEPARATOR
                            for i in range(len(codes)))
                self._cache[unit_id] = [self.by_path[p] for p in prefixes if p in self.by_path]
        return self._cache[unit_id]


ALL_FIELDS = -1  # the stratum of stored counts that are not split by service field


def _stratum(stratum, by_field):
    """Counts are split by service-field answer (0: none) only when the weighted headline needs
    them (the round has a dossier list): otherwise one vector a unit, 16 times fewer rows."""
    return (stratum or 0) if by_field else ALL_FIELDS


def _count_full(survey_round, counters, tree, by_field):
    """Count every valid response; store the pooled counts and return them.

    ``UnitCounts`` keeps, per unit (and service-field answer when ``by_field``), the counts of the
    unit's whole subtree: what the figures are made from. A full count rewrites them all."""
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:
            # One snapshot for clearing the pending changes and counting: a response committed
            # in between must be either counted here or left pending, never both.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute(f"DELETE FROM {ResponseChange._meta.db_table} WHERE round_id = %s", [survey_round.pk])
        own = {}
        # Other connections see only committed rows: inside a caller's transaction, count alone.
        for unit_id, stratum, vector in count_responses(cursor, survey_round, counters, by_field, split=outermost):
            key = (unit_id, _stratum(stratum, by_field))
            own[key] = _plus(own.get(key), vector)
        pooled = _roll_up(own, tree)
        UnitCounts.objects.filter(round=survey_round).delete()
        _write_counts(cursor, survey_round, sorted(pooled.items()))
    return pooled


COUNT_SETTINGS = (
    "SET LOCAL work_mem = '64MB'",  # the hash of units (× service fields) and their sums stays in memory
    "SET LOCAL jit = off",  # compiling the ~70 aggregates costs more than it saves (measured at 1M)
)


def count_responses(cursor, survey_round, counters, by_field, *, split=False):
    """Decoded rows (unit, stratum, counts) of ``Counters.full_sql`` in the cursor's transaction.

    With ``split`` and a table of at least ``SCORING_SPLIT_MIN_BLOCKS`` blocks, the table is read
    in ``SCORING_COUNT_CONNECTIONS`` parts by block ranges (a TID range scan each), the others on
    extra connections that import this transaction's snapshot (``pg_export_snapshot``), so every
    part sees exactly the same responses and each core does its share: PostgreSQL's own parallel
    aggregate would need the query flattened, which reads the answer array once per count.
    Counts add up, so the caller adds the parts' rows."""
    params = [survey_round.pk, survey_round.score_over_quota]
    for statement in COUNT_SETTINGS:
        cursor.execute(statement)
    parts = max(1, settings.SCORING_COUNT_CONNECTIONS) if split else 1
    if parts > 1:
        cursor.execute(f"SELECT pg_export_snapshot(), pg_relation_size('{Response._meta.db_table}') "
                       "/ current_setting('block_size')::int")
        snapshot, blocks = cursor.fetchone()
        if blocks < settings.SCORING_SPLIT_MIN_BLOCKS:
            parts = 1
    if parts == 1:
        cursor.execute(counters.full_sql(by_field=by_field), params)
        return [counters.decode(row) for row in cursor.fetchall()]
    starts = [f"({blocks * k // parts},0)" for k in range(parts)]  # the first tuple of a block
    bounded, last = counters.full_sql(by_field=by_field, blocks="from-to"), counters.full_sql(by_field=by_field,
                                                                                               blocks="from")
    jobs = [(bounded if k < parts - 1 else last, params + [starts[k]] + ([starts[k + 1]] if k < parts - 1 else []))
            for k in range(parts)]
    with ThreadPoolExecutor(max_workers=parts - 1) as pool:
        others = [(pool.submit(_count_part, snapshot, sql, part_params), sql, part_params)
                  for sql, part_params in jobs[1:]]
        cursor.execute(*jobs[0])
        rows = cursor.fetchall()
        for other, sql, part_params in others:
            try:
                rows += other.result()
            except Exception:  # e.g. no connection slot left: this transaction has the same snapshot
                logger.warning("a part of the score count failed on its own connection; counted on the main one",
                               exc_info=True)
                cursor.execute(sql, part_params)
                rows += cursor.fetchall()
    return [counters.decode(row) for row in rows]


def _count_part(snapshot, sql, params):
    """One part of a split count, on a connection of its own in the given snapshot."""
    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        raw.autocommit = True
        with raw.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
            for statement in COUNT_SETTINGS:
                cursor.execute(statement)
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            cursor.execute("ROLLBACK")
        return rows
    finally:
        raw.close()


def _write_counts(cursor, survey_round, rows):
    """Insert count vectors as array literals: far faster than one parameter per number."""
    from psycopg2.extras import execute_values

    execute_values(
        cursor,
        f"INSERT INTO {UnitCounts._meta.db_table} (round_id, unit_id, stratum, counts) VALUES %s",
        [(survey_round.pk, unit_id, stratum, "{" + ",".join(map(str, vector)) + "}")
         for (unit_id, stratum), vector in rows],
        template="(%s, %s, %s, %s::bigint[])", page_size=1000,
    )


def _update_counts(cursor, rows):
    """Rewrite stored count vectors in one statement (bulk_update writes a CASE per row)."""
    from psycopg2.extras import execute_values

    execute_values(
        cursor,
        f"UPDATE {UnitCounts._meta.db_table} AS c SET counts = v.counts::bigint[] FROM (VALUES %s) AS v(id, counts) "
        "WHERE c.id = v.id",
        [(row.pk, "{" + ",".join(map(str, row.counts)) + "}") for row in rows],
        page_size=1000,
    )


def _count_changes(survey_round, counters, tree, by_field):
    """Add the round's pending changes to the stored pooled counts. Reads only the responses that
    changed, and touches only their units and those above them. Returns the pooled counts of the
    touched units (all their strata) and the set of touched units."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(counters.sql(delta=True),
                       [survey_round.pk, survey_round.score_over_quota])
        deltas = {}
        for unit_id, stratum, *delta in cursor.fetchall():
            key = (unit_id, _stratum(stratum, by_field))
            deltas[key] = _plus(deltas.get(key), delta)
        pooled_deltas = _roll_up(deltas, tree)
        touched = {unit_id for unit_id, _ in pooled_deltas}
        stored = {(c.unit_id, c.stratum): c for c in
                  UnitCounts.objects.select_for_update().filter(round=survey_round, unit_id__in=touched)}
        created = []
        for key, delta in sorted(pooled_deltas.items()):
            row = stored.get(key)
            if row is None:
                row = stored[key] = UnitCounts(round=survey_round, unit_id=key[0], stratum=key[1],
                                               counts=[0] * len(delta))
                created.append(row)
            row.counts = _plus(row.counts, delta)
        # A stratum whose responses were all excluded again has nothing left: as if never counted.
        UnitCounts.objects.filter(pk__in=[r.pk for r in stored.values() if r.pk and not any(r.counts)]).delete()
        _update_counts(cursor, [r for r in stored.values() if r.pk and any(r.counts)])
        _write_counts(cursor, survey_round, [((r.unit_id, r.stratum), r.counts) for r in created if any(r.counts)])
    return {key: row.counts for key, row in stored.items() if any(row.counts)}, touched


def has_counts(survey_round, counters, by_field) -> bool:
    """Whether the round has stored counts of the current layout, split the way they are needed
    now (a dossier list added later needs them by service field), to add changes to."""
    rows = UnitCounts.objects.filter(round=survey_round)
    rows = rows.filter(stratum__gte=0) if by_field else rows.filter(stratum=ALL_FIELDS)
    row = rows.only("counts").first()
    return row is not None and len(row.counts) == len(counters.names)


def _roll_up(own, tree):
    """Counts keyed (unit, *rest) added into (each unit they count towards, *rest)."""
    totals = {}
    for (unit_id, *rest), vector in sorted(own.items()):
        for target in tree.counted_in(unit_id):
            key = (target, *rest)
            totals[key] = _plus(totals.get(key), vector)
    return totals


def _plus(total, vector):
    return list(vector) if total is None else list(map(operator.add, total, vector))


def _dossier_fields(survey_round, tree):
    """Per unit, dossiers per service field in its subtree from the round's latest dossier list;
    None when the round has no dossier list."""
    latest = DossierList.objects.filter(round=survey_round).order_by("-imported_at", "-pk").first()
    if latest is None:
        return None
    counts = defaultdict(lambda: defaultdict(int))
    rows = (Dossier.objects.filter(dossier_list=latest).values("unit_id", "service_field")
            .annotate(count=Count("pk")).order_by("unit_id", "service_field")
            .values_list("unit_id", "service_field", "count"))
    for unit_id, service_field, count in rows:
        for target in tree.counted_in(unit_id):
            counts[target][service_field] += count
    return counts


# ---------------------------------------------------------------------------------------------
# Figures from counts


class Figures:
    """The version's formulas applied to one vector of counts. The positions of the counts each
    figure reads are looked up once per version, not once per unit (3,500 units in a full run)."""

    def __init__(self, counters: Counters):
        self.c = counters
        self.scoring = counters.scoring
        index = counters.index
        self.item_counts = [(code, index[("satisfied", code)], index[("valid", code)])
                            for code in counters.satisfaction]
        self.method = self.scoring.get("factor_method", "mean_of_item_rates")
        self.factor_specs = sorted(self.scoring["factors"].items())
        self.choices = {}
        expectations = counters.definition.doc.get("expectations")
        for code in [*counters.indicators, *([expectations] if expectations else [])]:
            item = counters.definition.by_code[code]
            self.choices[code] = (index[("answered", code)],
                                  [(option, index[("option", code, option)]) for option, _ in option_values(item)])

    def items(self, vector):
        result = {}
        for code, satisfied_at, valid_at in self.item_counts:
            satisfied, n = vector[satisfied_at], vector[valid_at]
            ci = formulas.wilson(satisfied, n)
            result[code] = {"n": n, "satisfied": satisfied, "rate": formulas.rate(satisfied, n),
                            "ci": list(ci) if ci else None}
        return result

    def _item_variance(self, vector, code):
        return formulas.binomial_variance(self.c.get(vector, "satisfied", code), self.c.get(vector, "valid", code))

    def factor(self, vector, items, factor):
        """(value, variance) of a factor by the version's factor method."""
        spec = self.scoring["factors"][factor]
        if self.method == "general_item":
            code = spec["general_item"]
            return items[code]["rate"], self._item_variance(vector, code)
        if self.method == "pooled_answers":
            satisfied = sum(items[code]["satisfied"] for code in spec["items"])
            n = sum(items[code]["n"] for code in spec["items"])
            return formulas.rate(satisfied, n), formulas.binomial_variance(satisfied, n)
        value = formulas.mean(items[code]["rate"] for code in spec["items"])
        variance = formulas.mean_variance(formulas.binomial_variance(items[code]["satisfied"], items[code]["n"])
                                          for code in spec["items"])
        return value, variance

    def factor_values(self, vector, items):
        """{factor: (value, variance)}, for ``factors`` and ``headline`` to share."""
        return {factor: self.factor(vector, items, factor) for factor, _ in self.factor_specs}

    def factors(self, vector, items, values=None):
        values = values if values is not None else self.factor_values(vector, items)
        result = {}
        for factor, spec in self.factor_specs:
            value, variance = values[factor]
            ci = formulas.normal_interval(value, variance)
            general = spec.get("general_item")
            result[factor] = {"value": value, "n": self.c.get(vector, "factor", factor),
                              "ci": list(ci) if ci else None, "general": dict(items[general]) if general else None}
        return result

    def headline(self, vector, items=None, values=None):
        """(value, 95 % interval) of the headline by the version's declared method."""
        items = items if items is not None else self.items(vector)
        spec = self.scoring["headline"]
        if spec["method"] == "item":
            figures = items[spec["item"]]
            return figures["rate"], tuple(figures["ci"]) if figures["ci"] else None
        values = values if values is not None else self.factor_values(vector, items)
        pairs = [values[factor] for factor in spec["factors"]]
        value = formulas.mean(v for v, _ in pairs)
        variance = formulas.mean_variance(var for v, var in pairs if v is not None)
        return value, formulas.normal_interval(value, variance)

    def indicators(self, vector):
        return {code: self._shares(vector, code) for code in self.c.indicators}

    def _shares(self, vector, code):
        answered_at, options = self.choices[code]
        n = vector[answered_at]
        shares = {option: formulas.share(vector[at], n) for option, at in options}
        shares["n"] = n
        return shares

    def expectations(self, vector):
        code = self.c.definition.doc.get("expectations")
        if not code:
            return []
        answered_at, options = self.choices[code]
        n = vector[answered_at]
        rows = [{"code": option, "count": vector[at]} for option, at in options]
        rows.sort(key=lambda row: (-row["count"], row["code"]))
        for row in rows:
            row["share"] = formulas.share(row["count"], n)
        return rows

    def weighted_headline(self, unit_id, strata, fields):
        """Σ share_f × headline_f over the service fields with dossiers (see the module docstring)."""
        if fields is None:
            return None
        dossiers = {f: count for f, count in fields.get(unit_id, {}).items() if count > 0}
        total = sum(dossiers.values())
        if total == 0:
            return None
        field_item = self.c.definition.by_code.get(FIELD_ITEM)
        values = dict(option_values(field_item)) if field_item else {}
        parts = []
        for service_field in sorted(dossiers):
            vector = strata.get((unit_id, values.get(service_field)))
            if vector is None:
                return None
            value, _ = self.headline(vector)
            if value is None:
                return None
            parts.append(dossiers[service_field] / total * value)
        return math.fsum(parts)


# ---------------------------------------------------------------------------------------------
# The round


@contextmanager
def without_gc():
    """Python's cyclic garbage collector off meanwhile: the figures are acyclic dicts and lists,
    freed by reference counting, but the thousands of them made full collections of the worker's
    heap start in the middle of a run (90-180 ms of a 250 ms refresh, bench/scoring.py)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compute_round(survey_round: Round, progress=None, *, full=True) -> RoundResult:
    """The round's figures (see the module docstring and ``_compute_round``)."""
    with without_gc():
        return _compute_round(survey_round, progress, full=full)


def _compute_round(survey_round: Round, progress=None, *, full=True) -> RoundResult:
    """The round's figures (see the module docstring).

    ``full=True`` counts every response and returns every unit. ``full=False`` adds only the
    changes since the last count and returns only the units they touched (with ``removed``: touched
    units left without responses, and ``published_updates``: untouched units whose withholding,
    rank or change moved); it
    counts in full when there is nothing stored to add to."""
    survey_round = Round.objects.select_related("questionnaire", "unit").get(pk=survey_round.pk)
    counters = Counters(survey_round.questionnaire.parsed)
    tree = Tree(survey_round.unit)
    fields = _dossier_fields(survey_round, tree)
    by_field = fields is not None
    full = full or not has_counts(survey_round, counters, by_field)
    if full:
        pooled, touched = _count_full(survey_round, counters, tree, by_field), None
    else:
        pooled, touched = _count_changes(survey_round, counters, tree, by_field)
    totals, strata = {}, {}
    for (unit_id, stratum), vector in pooled.items():
        totals[unit_id] = _plus(totals.get(unit_id), vector)
        if stratum > 0:
            strata[(unit_id, stratum)] = vector
    figures = Figures(counters)
    minimum = counters.scoring.get("min_responses", 30)
    unit_ids = sorted((u for u in totals if totals[u][0] > 0), key=lambda u: tree.paths.get(u, ""))
    results = []
    for done, unit_id in enumerate(unit_ids, start=1):
        vector = totals[unit_id]
        items = figures.items(vector)
        values = figures.factor_values(vector, items)
        headline, ci = figures.headline(vector, items, values)
        n = vector[0]
        results.append(UnitResult(
            unit_id=unit_id, n=n, enough=n >= minimum, headline=headline, headline_ci=ci,
            weighted_headline=figures.weighted_headline(unit_id, strata, fields),
            factors=figures.factors(vector, items, values), items=items, indicators=figures.indicators(vector),
            expectations=figures.expectations(vector),
        ))
        if progress:
            progress(done, len(unit_ids))
    removed = [] if full else sorted(touched - set(unit_ids))
    updates = _publish(results, removed, tree, survey_round, minimum, incremental=not full)
    if full:
        top = totals.get(survey_round.unit_id)
        return RoundResult(units=results, responses_used=top[0] if top else 0)
    return RoundResult(units=results, responses_used=_responses_used(survey_round, totals, touched), full=False,
                       removed=removed, published_updates=updates)


def _responses_used(survey_round, totals, touched):
    if survey_round.unit_id in totals:
        return totals[survey_round.unit_id][0]
    if survey_round.unit_id in touched:
        return 0  # the changes left the round without a counted response (its counts were dropped)
    top = UnitScore.objects.filter(round=survey_round, unit_id=survey_round.unit_id).values_list("n", flat=True)
    return next(iter(top), 0)


PUBLISHED = ("enough", "withheld", "rank", "rank_of", "change_points", "change_places")


def _publish(results, removed, tree, survey_round, minimum, *, incremental):
    """What may be shown of every unit of the round, decided over the whole tree at once: which
    units are withheld (``scoring.disclosure``), ranks among shown siblings, and the change since
    the previous round where both figures are shown. ``enough`` is stored as "figures shown".

    Sets these on ``results``; a refresh also reads the stored units it did not touch (their
    withholding and ranks move with their siblings') and returns {unit: values in ``PUBLISHED``
    order} of those whose values moved, for the store to update."""
    new = {r.unit_id: r for r in results}
    stored = {}
    if incremental:
        rows = (UnitScore.objects.filter(round=survey_round).exclude(unit_id__in=[*new, *removed])
                .values_list("unit_id", "n", "headline", *PUBLISHED))
        stored = {row[0]: row for row in rows}
    n = {u: r.n for u, r in new.items()} | {u: row[1] for u, row in stored.items()}
    headline = {u: r.headline for u, r in new.items()} | {u: row[2] for u, row in stored.items()}
    withheld = disclosure.withheld_units(n, tree.parents, minimum)
    by_parent = defaultdict(dict)
    for unit_id in n:
        if unit_id != tree.top.id:
            by_parent[tree.parents.get(unit_id)][unit_id] = headline[unit_id] if unit_id not in withheld else None
    ranks = {}
    for siblings in by_parent.values():
        ranked = formulas.competition_ranks(siblings)
        ranks.update({unit_id: (rank, len(ranked)) for unit_id, rank in ranked.items()})
    before = _previous_figures(survey_round)
    published = {}
    for unit_id in n:
        shown = unit_id not in withheld
        rank, rank_of = ranks.get(unit_id, (None, None))
        old_headline, old_rank = before.get(unit_id, (None, None)) if shown else (None, None)
        now = headline[unit_id]
        points = now - old_headline if now is not None and old_headline is not None else None
        places = old_rank - rank if rank is not None and old_rank is not None else None
        published[unit_id] = (shown, withheld.get(unit_id, ""), rank, rank_of, points, places)
    for unit_id, result in new.items():
        for name, value in zip(PUBLISHED, published[unit_id], strict=True):
            setattr(result, name, value)
    return {u: published[u] for u, row in stored.items() if tuple(row[3:]) != published[u]}


def previous_round(survey_round: Round):
    """The latest earlier round of the same questionnaire family over the same unit that was opened
    (a draft, or a round never opened, has no figures to compare with)."""
    def started(r):
        return r.opened_at or r.created_at

    candidates = (Round.objects.filter(questionnaire__family=survey_round.questionnaire.family,
                                       unit_id=survey_round.unit_id, opened_at__isnull=False)
                  .exclude(status=Round.Status.DRAFT).exclude(pk=survey_round.pk))
    earlier = [r for r in candidates if (started(r), r.pk) < (started(survey_round), survey_round.pk)]
    return max(earlier, key=lambda r: (started(r), r.pk), default=None)


def _previous_figures(survey_round):
    """{unit: (headline, rank)} of the previous round's shown units."""
    previous = previous_round(survey_round)
    if previous is None:
        return {}
    rows = UnitScore.objects.filter(round=previous, enough=True).values_list("unit_id", "headline", "rank")
    return {unit_id: (headline, rank) for unit_id, headline, rank in rows}
