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
- ``count_full(survey_round, counters, tree, by_field) -> {(unit, stratum): counts}``: every
  response counted again, the stored counts rewritten; ``count_changes(...) -> (counts, touched)``:
  the pending changes added to the stored counts; ``has_counts(...)``: whether there are stored
  counts of this layout to add to; ``count_responses(cursor, ...)``: the full count's rows.
- ``unit_totals(pooled) -> (totals, strata)``: per unit, all strata added, and each service field's.
- ``dossier_fields(survey_round, tree)``: per unit, dossiers per service field (the weights).

Every response of a round is in the round's questionnaire layout: a response does not store the
version, and the database refuses to change a round's version once it has responses (trigger
fieldwork_round_questionnaire_frozen). A response unit outside the round's subtree counts for the
round's unit only.
"""

import logging
import operator
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from fieldwork.models import Dossier, DossierList, Exclusion, Response, ResponseChange
from scoring.models import UnitCounts
from units.models import PATH_SEPARATOR, Unit

logger = logging.getLogger(__name__)

SATISFACTION_LEVELS = "BETWEEN 1 AND 5"
FIELD_ITEM = "E.FIELD"


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

    def full_sql(self, *, by_field, blocks=None, only_ids=False):
        """Every valid response of the round counted per unit (and service-field answer when
        ``by_field``): rows of (unit, stratum, *columns) for ``decode``. Parameters: round,
        whether over-quota responses count, then with ``blocks`` ("from", or
        "from-to") the tids where the table part to read starts (and where the next one starts), or
        with ``only_ids`` the ids of the only responses to count (a list)."""
        stratum = f"a[{self.field_slot}]" if by_field and self.field_slot else "NULL::smallint"
        columns = [f"count(*) FILTER (WHERE {c})" if c != "TRUE" else "count(*)"
                   for c in self._conditions(self.plain, "a[{}]")]
        columns += [f"sum(({literal})[a[{slot}]])" for slot, literal, _ in self.packs]
        part = ""
        if blocks:
            part = "\n    AND r.ctid >= %s::tid" + (" AND r.ctid < %s::tid" if blocks == "from-to" else "")
        elif only_ids:
            part = "\n    AND r.id = ANY(%s::uuid[])"
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


def count_full(survey_round, counters, tree, by_field):
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


def count_changes(survey_round, counters, tree, by_field):
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
    """({unit: counts of all its strata}, {(unit, service field): counts}) from the pooled counts
    keyed (unit, stratum); stratum 0 (no field answer) and ``ALL_FIELDS`` are in the totals only."""
    totals, strata = {}, {}
    for (unit_id, stratum), vector in pooled.items():
        totals[unit_id] = _plus(totals.get(unit_id), vector)
        if stratum > 0:
            strata[(unit_id, stratum)] = vector
    return totals, strata
