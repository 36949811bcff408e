"""Counting a round's responses: the SQL, and the counts it stores (``UnitCounts``).

Figures are made from counts only (``scoring.figures``), and counts add up; so this module reads
the round's valid responses (not excluded; over-quota ones only if the round counts them) with
grouped SQL over the compact answer layout, never a Python loop over responses, and keeps per unit
the counts of its whole subtree.

1. One generated SELECT counts, per response unit (and service-field answer when the weighted
   headline needs it), for every satisfaction item the satisfied and the valid answers, for every
   factor the responses with a valid answer to any of its items, for every indicator option the
   responses that chose it, and the responses in the group (``Counters``: the count layout, and
   the lookup-array form of the full count with its measurements). A large table is read in two
   parts by two connections sharing one snapshot (``count_responses``). At 5M responses in 3,503
   units: 13.5 s of backend CPU on one connection, 8-12 s wall split over two on this shared
   2-core machine (bench/scoring.py; the earlier per-count FILTER query took 4.6 µs a response,
   this one 2.8 µs). A refresh counts only the pending changes, with one FILTER per count
   (``count_changes``), and consumes them in the transaction that counts them.
2. Counts add up, so Python rolls the (small) per-unit table up to every ancestor inside the
   round's subtree by ``Unit.path`` (``Tree``): a parent's counts are exactly those of its pooled
   subtree.

- ``Counters(definition)``: the count layout of a questionnaire version (``names``), its SQL and
  ``decode``; ``option_values(item)``: a choice item's stored values.
- ``Tree(top)``: the round's subtree; ``counted_in(unit)``: the units a unit's responses count for.
- ``count_full(survey_round, counters, tree, by_field) -> {(unit, MAIN, stratum): counts}``:
  every response counted again, the stored main counts rewritten; ``count_changes(...) -> (counts,
  touched)``: the pending changes added to the stored counts; ``has_counts(...)``: whether there are
  stored counts of this layout to add to; ``count_responses(cursor, ...)``: the full count's rows.
- ``count_breakdowns(survey_round, tree)``: the breakdowns' cells (``BREAKDOWNS``: service field,
  agency level, filing channel, collection channel, gender, age band), the same counts per unit and
  answer, one grouping set per breakdown in one pass over the responses (``GROUP BY GROUPING
  SETS``), pooled and stored as ``UnitCounts`` rows of their ``dimension``. Not part of a run: it
  costs twice the main count (some 110,000 cells to roll up and store at 1M responses, where a
  run has 3,503 rows), so it follows the runs (``scoring.breakdowns``) and the runs keep their
  speed. Which cells may be shown is decided on read (``scoring.breakdowns``).
- ``unit_totals(pooled) -> (totals, strata)``: per unit, all strata added, and each service field's.
- ``dossier_fields(survey_round, tree)``: per unit, dossiers per service field (the weights).

Every response of a round is in the round's questionnaire layout: a response does not store the
version, and the database refuses to change a round's version once it has responses (trigger
fieldwork_round_questionnaire_frozen). A response unit outside the round's subtree counts for the
round's unit only.
"""

import io
import logging
import operator
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from fieldwork.models import Dossier, DossierList, Exclusion, Response, ResponseChange
from scoring.models import UnitCounts
from units.models import PATH_SEPARATOR, Unit

logger = logging.getLogger(__name__)

SATISFACTION_LEVELS = "BETWEEN 1 AND 5"
FIELD_ITEM = "E.FIELD"
MAIN = ""  # UnitCounts.dimension of the counts behind a unit's own figures


@dataclass(frozen=True)
class Dimension:
    """A breakdown of every figure: the responses split by the answer to ``question`` (a single
    choice of the round's questionnaire version), or by how the response was collected (``question``
    None: ``fieldwork.models.Response.channel``). ``key`` names it in the API (``?by=``), the page's
    selector and ``UnitCounts.dimension``."""

    key: str
    question: str | None


# Breakdowns, in the order pages list them. A version that lacks a question has no breakdown by it
# (``Counters.dimensions``): which question a breakdown reads is looked up in the version, never
# assumed per version.
BREAKDOWNS = (
    Dimension("field", FIELD_ITEM),
    Dimension("level", "E.LEVEL"),
    Dimension("filing_channel", "E.CHANNEL_FILE"),
    Dimension("collection_channel", None),
    Dimension("gender", "D.GENDER"),
    Dimension("age", "D.AGE"),
)


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
      of counts, the pair packed in an int4 (first count + second × 2³⁰), unpacked by the server
      (``decode`` only puts the columns in order: at ~100,000 rows with the breakdowns, unpacking
      them in Python cost 4 s at 100,000 responses).
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

    def __init__(self, definition, *, breakdowns=False):
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
        # The breakdowns this version gives (a version without a question has none by it); counted
        # only by a breakdown count (``breakdowns=True``: one grouping set each), never by a run.
        self.dimensions = [d for d in BREAKDOWNS if d.question is None or (
            d.question in definition.by_code and definition.by_code[d.question]["kind"] == "single")]
        self.breakdowns = breakdowns
        self.grouped_by = [d.key for d in self.dimensions] if breakdowns else [MAIN]
        # which key a row's grouping set kept, by the row's GROUPING() value (``split_row``)
        width = len(self.grouped_by)
        self.kept = {sets: next(i for i in range(width) if not sets >> (width - 1 - i) & 1)
                     for sets in range(1 << width) if any(not sets >> (width - 1 - i) & 1 for i in range(width))}

    def group_keys(self, *, by_field, answer, channel):
        """[(dimension, SQL expression)] the count is grouped by, each with the unit (one grouping
        set each): the main counts' service-field answer (when ``by_field``), or with
        ``breakdowns`` each breakdown's answer. ``answer`` formats a slot's reference, ``channel``
        is the response's channel."""
        if not self.breakdowns:
            return [(MAIN, answer.format(self.field_slot) if by_field and self.field_slot else "NULL::smallint")]
        return [(dimension.key, channel if dimension.question is None
                 else answer.format(self.positions[dimension.question])) for dimension in self.dimensions]

    @staticmethod
    def _grouping(keys):
        """(the select list's set marker and keys, the GROUP BY) for the keys (one pass over the rows:
        PostgreSQL feeds each row to every grouping set)."""
        refs = ", ".join(expr for _, expr in keys)
        if len(keys) == 1:
            return f"0 AS sets, {refs}", f"unit_id, {refs}"
        sets = ", ".join(f"(unit_id, {expr})" for _, expr in keys)
        return f"GROUPING({refs}) AS sets, {refs}", f"GROUPING SETS ({sets})"

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
        the outer query. Rows as ``full_sql``'s, for ``decode``."""
        if not delta:
            raise ValueError("the full count is full_sql()")
        keys = self.group_keys(by_field=True, answer="r.answers[{}]", channel="r.channel")
        named = [(dimension, f"k{i}") for i, (dimension, _) in enumerate(keys)]
        inner_keys = "".join(f", {expr} AS k{i}" for i, (_, expr) in enumerate(keys))
        select, group_by = self._grouping(named)
        slots = "".join(f", r.answers[{i}] AS s{i}" for i in sorted(self.slots))
        columns = ",\n  ".join(f"coalesce(sum(r.sign) FILTER (WHERE {condition}), 0)"
                               for condition in self._conditions(range(len(self.names)), "s{}"))
        return (
            f"WITH consumed AS (DELETE FROM {ResponseChange._meta.db_table} WHERE round_id = %s\n"
            "  RETURNING response_id, sign)\n"
            f"SELECT unit_id, {select},\n  {columns}\n"
            f"FROM (SELECT r.unit_id, p.sign{inner_keys}{slots}\n"
            f"  FROM consumed p JOIN {Response._meta.db_table} r ON r.id = p.response_id\n"
            "  WHERE (%s OR NOT r.over_quota)\n"
            "  OFFSET 0) r\n"
            f"GROUP BY {group_by} ORDER BY 1, 2"
        )

    def full_sql(self, *, by_field, blocks=None, only_ids=False):
        """Every valid response of the round counted per unit, once per grouping key
        (``group_keys``: the main counts' unless the service-field breakdown gives them, and each
        breakdown's), in one pass over the rows: rows of (unit, sets, *keys, *columns) for
        ``decode``. Parameters: round, whether over-quota responses count, then with ``blocks``
        ("from", or "from-to") the tids where the table part to read starts (and where the next one
        starts), or with ``only_ids`` the ids of the only responses to count (a list)."""
        keys = self.group_keys(by_field=by_field, answer="a[{}]", channel="channel")
        select, group_by = self._grouping(keys)
        columns = dict(zip(self.plain, (f"count(*) FILTER (WHERE {c})" if c != "TRUE" else "count(*)"
                                        for c in self._conditions(self.plain, "a[{}]")), strict=True))
        for slot, literal, indexes in self.packs:  # unpacked and put in order by the server
            total = f"coalesce(sum(({literal})[a[{slot}]]), 0)"  # computed once however often it is named
            columns[indexes[0]] = f"{total} & {self.PACK_MASK}"
            if len(indexes) > 1:
                columns[indexes[1]] = f"{total} >> {self.PACK_SHIFT}"
        counts = ",\n  ".join(columns[i] for i in range(len(self.names)))
        part = ""
        if blocks:
            part = "\n    AND r.ctid >= %s::tid" + (" AND r.ctid < %s::tid" if blocks == "from-to" else "")
        elif only_ids:
            part = "\n    AND r.id = ANY(%s::uuid[])"
        channel = ", r.channel" if any(expr == "channel" for _, expr in keys) else ""
        return (
            f"SELECT unit_id, {select},\n  ARRAY[{counts}]::int4[]\n"
            f"FROM (SELECT r.unit_id{channel}, array_append(r.answers, NULL::smallint) AS a\n"
            f"  FROM {Response._meta.db_table} r\n"
            f"  WHERE r.round_id = %s AND (%s OR NOT r.over_quota){part}\n"
            f"    AND NOT EXISTS (SELECT 1 FROM {Exclusion._meta.db_table} e WHERE e.response_id = r.id)\n"
            "  OFFSET 0) r\n"
            f"GROUP BY {group_by}"
        )

    def split_row(self, row):
        """(unit, dimension, value or None, the columns after the keys) of a row of ``full_sql`` or
        ``sql``: the dimension is the key its grouping set kept (``GROUPING`` sets a bit, first key
        highest, for each key it did not)."""
        keys = self.grouped_by
        unit_id, sets, *rest = row
        kept = self.kept[sets]
        return unit_id, keys[kept], rest[kept], rest[len(keys):]

    def decode(self, row):
        """(unit, dimension, value or None, counts in ``names`` order) from a row of ``full_sql``
        (its counts are one array, in order: psycopg2 parses it in C)."""
        unit_id, dimension, stratum, columns = self.split_row(row)
        vector = columns[0]
        if vector[0] > self.PACK_MASK:  # a pair's first count would spill into the second
            raise OverflowError(f"{vector[0]} responses in one unit: more than a packed count holds")
        return unit_id, dimension, stratum, vector

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


def count_full(survey_round, counters, tree, by_field):
    """Count every valid response; store the pooled main counts (keyed (unit, ``MAIN``, stratum))
    and return them.

    ``UnitCounts`` keeps, per unit (and service-field answer when ``by_field``), the counts of the
    unit's whole subtree: what the figures are made from. A full count rewrites them all (and
    leaves the breakdowns' cells to ``count_breakdowns``)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:
            # One snapshot for clearing the pending changes and counting: a response committed
            # in between must be either counted here or left pending, never both.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute(f"DELETE FROM {ResponseChange._meta.db_table} WHERE round_id = %s", [survey_round.pk])
        pooled = _count_pooled(cursor, survey_round, counters, tree, by_field, split=outermost)
        UnitCounts.objects.filter(round=survey_round, dimension=MAIN).delete()
        _write_counts(cursor, survey_round, sorted(pooled.items()))
    return pooled


def count_breakdowns(survey_round, tree) -> int:
    """Count every valid response of the round once more, per unit and answer of each breakdown
    (``Counters(breakdowns=True)``: one grouping set a breakdown, one pass over the responses), and
    store the pooled cells in place of the previous ones. The main counts are not touched: the
    figures a run stores never wait for this count (a follow-up of the runs: ``scoring.breakdowns``).
    Returns the responses counted (the round's unit's)."""
    counters = Counters(survey_round.questionnaire.parsed, breakdowns=True)
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            # derived data that the next count makes again: no need to wait for the disk
            cursor.execute("SET LOCAL synchronous_commit = off")
        pooled = _count_pooled(cursor, survey_round, counters, tree, by_field=False, split=outermost)
        UnitCounts.objects.filter(round=survey_round).exclude(dimension=MAIN).delete()
        _write_counts(cursor, survey_round, pooled.items())
    top = counters.dimensions[0].key
    return sum(vector[0] for (unit_id, dimension, _), vector in pooled.items()
               if unit_id == survey_round.unit_id and dimension == top)


def _count_pooled(cursor, survey_round, counters, tree, by_field, *, split):
    """The full count's rows keyed (unit, dimension, stratum), rolled up the round's tree."""
    own = {}
    # Other connections see only committed rows: inside a caller's transaction, count alone.
    rows = count_responses(cursor, survey_round, counters, by_field, split=split)
    for unit_id, dimension, stratum, vector in rows:
        _add_row(own, by_field, unit_id, dimension, stratum, vector)
    del rows
    return _roll_up(own, tree)


def _add_row(into, by_field, unit_id, dimension, stratum, vector):
    """Add a counted row under its key: a main row by its stratum (``_stratum``), a breakdown's cell
    by its answer (0: none)."""
    key = (unit_id, MAIN, _stratum(stratum, by_field)) if dimension == MAIN else (unit_id, dimension, stratum or 0)
    into[key] = _plus(into.get(key), vector)


COUNT_SETTINGS = (
    # The hash of units × (service fields, and each breakdown's answers) and their sums stays in
    # memory: with the breakdowns' grouping sets, 64MB made PostgreSQL sort 1M responses for
    # several sets and spill to disk (28.7 s on one connection at 1M); 256MB keeps them hashed
    # (8.5 s; about 130MB of hash and 190MB of sort used) (2026-12-06).
    "SET LOCAL work_mem = '256MB'",
    "SET LOCAL jit = off",  # compiling the ~70 aggregates costs more than it saves (measured at 1M)
)


def count_responses(cursor, survey_round, counters, by_field, *, split=False):
    """Decoded rows (unit, dimension, stratum, counts) of ``Counters.full_sql`` in the cursor's transaction.

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
        return _decoded(cursor, counters)
    starts = [f"({blocks * k // parts},0)" for k in range(parts)]  # the first tuple of a block
    bounded, last = counters.full_sql(by_field=by_field, blocks="from-to"), counters.full_sql(by_field=by_field,
                                                                                               blocks="from")
    jobs = [(bounded if k < parts - 1 else last, params + [starts[k]] + ([starts[k + 1]] if k < parts - 1 else []))
            for k in range(parts)]
    with ThreadPoolExecutor(max_workers=parts - 1) as pool:
        others = [(pool.submit(_count_part, snapshot, sql, part_params, counters), sql, part_params)
                  for sql, part_params in jobs[1:]]
        cursor.execute(*jobs[0])
        rows = _decoded(cursor, counters)
        for other, sql, part_params in others:
            try:
                rows += other.result()
            except Exception:  # e.g. no connection slot left: this transaction has the same snapshot
                logger.warning("a part of the score count failed on its own connection; counted on the main one",
                               exc_info=True)
                cursor.execute(sql, part_params)
                rows += _decoded(cursor, counters)
    return rows


def _decoded(cursor, counters, chunk=5000):
    """The cursor's rows decoded a chunk at a time: the raw rows of a full count with the
    breakdowns (some 100,000 of ~70 numbers a part at 1M responses) never sit in memory all at once."""
    rows = []
    while chunk_rows := cursor.fetchmany(chunk):
        rows.extend(map(counters.decode, chunk_rows))
    return rows


def _count_part(snapshot, sql, params, counters):
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
            rows = _decoded(cursor, counters)
            cursor.execute("ROLLBACK")
        return rows
    finally:
        raw.close()


def _write_counts(cursor, survey_round, rows):
    """Insert count vectors with COPY, each as an array literal: with the breakdowns a full count
    writes some 30 rows a unit, and COPY takes them several times faster than an INSERT … VALUES."""
    text = io.StringIO()
    head = f"{survey_round.pk}\t"
    for (unit_id, dimension, stratum), vector in rows:
        text.write(f"{head}{unit_id}\t{dimension}\t{stratum}\t{{{','.join(map(str, vector))}}}\n")
    text.seek(0)
    cursor.copy_expert(f"COPY {UnitCounts._meta.db_table} (round_id, unit_id, dimension, stratum, counts) FROM STDIN",
                       text)


def _update_counts(cursor, rows):
    """Rewrite stored count vectors ([(id, counts)]) in one statement (bulk_update writes a CASE per row)."""
    from psycopg2.extras import execute_values

    execute_values(
        cursor,
        f"UPDATE {UnitCounts._meta.db_table} AS c SET counts = v.counts::int4[] "
        "FROM (VALUES %s) AS v(id, counts) "
        "WHERE c.id = v.id",
        [(pk, "{" + ",".join(map(str, counts)) + "}") for pk, counts in rows],
        page_size=1000,
    )


def count_changes(survey_round, counters, tree, by_field):
    """Add the round's pending changes to the stored pooled main counts (the breakdowns' cells are
    counted again by ``count_breakdowns``, after the run). Reads only the responses that changed, and
    touches only their units and those above them. Returns the pooled counts of the touched units
    (all their strata, as ``count_full``) and the set of touched units."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(counters.sql(delta=True),
                       [survey_round.pk, survey_round.score_over_quota])
        deltas = {}
        for row in cursor.fetchall():
            unit_id, dimension, stratum, delta = counters.split_row(row)
            _add_row(deltas, by_field, unit_id, dimension, stratum, delta)
        pooled_deltas = _roll_up(deltas, tree)
        touched = {unit_id for unit_id, _, _ in pooled_deltas}
        stored = {}
        if pooled_deltas:  # the main rows of the touched units (their figures need every stratum)
            cursor.execute(f"SELECT id, unit_id, dimension, stratum, counts FROM {UnitCounts._meta.db_table} "
                           "WHERE round_id = %s AND dimension = %s AND unit_id = ANY(%s) ORDER BY id FOR UPDATE",
                           [survey_round.pk, MAIN, sorted(touched)])
            stored = {(unit_id, dimension, stratum): [pk, counts]
                      for pk, unit_id, dimension, stratum, counts in cursor.fetchall()}
        created, changed = [], []
        for key, delta in sorted(pooled_deltas.items()):
            row = stored.get(key)
            if row is None:
                row = stored[key] = [None, [0] * len(delta)]
                created.append(key)
            else:
                changed.append(key)
            row[1] = _plus(row[1], delta)
        # A stratum whose responses were all excluded again has nothing left: as if never counted.
        UnitCounts.objects.filter(pk__in=[stored[k][0] for k in changed if not any(stored[k][1])]).delete()
        _update_counts(cursor, [stored[k] for k in changed if any(stored[k][1])])
        _write_counts(cursor, survey_round, [(key, stored[key][1]) for key in created if any(stored[key][1])])
    return {key: counts for key, (_pk, counts) in stored.items() if any(counts)}, touched


def has_counts(survey_round, counters, by_field) -> bool:
    """Whether the round has stored counts of the current layout, split the way they are needed
    now (a dossier list added later needs them by service field), to add changes to."""
    rows = UnitCounts.objects.filter(round=survey_round, dimension=MAIN)
    rows = rows.filter(stratum__gte=0) if by_field else rows.filter(stratum=ALL_FIELDS)
    counts = next(iter(rows.order_by().values_list("counts", flat=True)[:1]), None)  # any row: no sorting
    return counts is not None and len(counts) == len(counters.names)


def _roll_up(own, tree):
    """Counts keyed (unit, *rest) added into (each unit they count towards, *rest): deepest units
    first, each unit's pooled counts added once into its parent's (a response unit outside the
    round's subtree counts for the round's unit only)."""
    totals, levels = {}, defaultdict(list)
    for (unit_id, *rest), vector in own.items():
        key = (unit_id if unit_id in tree.paths else tree.top.id, *rest)
        if key not in totals:
            levels[tree.paths[key[0]].count(PATH_SEPARATOR)].append(key)
        totals[key] = _plus(totals.get(key), vector)
    for level in range(max(levels, default=0), 0, -1):
        for key in levels.get(level, []):
            parent = tree.parents.get(key[0])
            if key[0] == tree.top.id or parent not in tree.paths:
                continue
            above = (parent, *key[1:])
            if above not in totals:
                levels[level - 1].append(above)
            totals[above] = _plus(totals.get(above), totals[key])
    return totals


def _plus(total, vector):
    """Counts added: a new list, or the vector itself when there is nothing to add it to (count
    vectors are never changed in place, so sharing one is safe, and a full count with the
    breakdowns makes some 500,000 of these sums)."""
    return vector if total is None else list(map(operator.add, total, vector))


def dossier_fields(survey_round, tree):
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


def unit_totals(pooled):
    """({unit: counts of all its strata}, {(unit, service field): counts}) from the main counts of
    ``pooled`` (keyed (unit, dimension, stratum)); stratum 0 (no field answer) and ``ALL_FIELDS``
    are in the totals only."""
    totals, strata = {}, {}
    for (unit_id, dimension, stratum), vector in pooled.items():
        if dimension != MAIN:
            continue
        totals[unit_id] = _plus(totals.get(unit_id), vector)
        if stratum > 0:
            strata[(unit_id, stratum)] = vector
    return totals, strata
