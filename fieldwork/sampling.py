"""The sampling frame for follow-up interviews, seeded stratified samples, and quota proposals.

A dossier list (the province's export of completed dossiers, no names) is imported all or
nothing. A sample is drawn from it with ``random.Random(seed)`` over dossiers in dossier-code
order, so the same seed and the same list (even imported again) give the same sample and the same
call list. ``allocate_proportional`` and ``sample_size`` are pure helpers; ``propose_quotas``
suggests quota targets that the officer edits before ``quota_proposal_save`` stores them.
"""

import datetime
import itertools
import math
import random
import re
import secrets
from dataclasses import dataclass
from fractions import Fraction

from django.db import connection, transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.utils.formats import localize
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from fieldwork.models import Dossier, DossierList, Round, Sample, SampleMember
from fieldwork.quotas import QuotaError, quota_set
from surveyapp.spreadsheet import CsvReadError, Problems, csv_records, csv_text
from units.models import Unit
from units.selectors import units_by_codes

COLUMNS = ["dossier_code", "unit_code", "service_field", "completed_on"]
FIELD_ITEM = "E.FIELD"  # the questionnaire item whose option codes are the service fields
STRATA = ("unit", "service_field")
CODE_MAX_LENGTH = Dossier._meta.get_field("code").max_length
NAME_MAX_LENGTH = DossierList._meta.get_field("name").max_length
BATCH_SIZE = 5000
MAX_SEED = 2**63 - 1  # the seed is stored in a signed 64-bit column
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SamplingError(Exception):
    """Nothing was stored. ``errors`` explain why, naming the row of each problem in a file; ``more``
    problems were found but not listed (IMPORT_ERROR_LIMIT)."""

    def __init__(self, errors: list[str], more: int = 0):
        super().__init__("; ".join(errors[:3]) + (" …" if len(errors) > 3 or more else ""))
        self.errors = errors
        self.more = more


class AllocationError(ValueError):
    """An allocation that cannot be made (a minimum above the total, a total above the strata)."""


# ---------------------------------------------------------------------------------------------
# Importing a dossier list


def service_fields(survey_round: Round, language: str | None = None) -> dict[str, str]:
    """The service field codes of the round's questionnaire (options of E.FIELD) → their labels."""
    item = survey_round.questionnaire.parsed.by_code.get(FIELD_ITEM) or {}
    language = "en" if (language or get_language() or "").startswith("en") else "vi"
    return {o["code"]: o["label"].get(language) or o["label"]["vi"] for o in item.get("options", [])}


def _check_header(header, problems, columns=COLUMNS):
    missing = [c for c in columns if c not in header]
    unknown = [c for c in header if c not in columns]
    repeated = sorted({c for c in header if header.count(c) > 1 and c in columns})
    if missing:
        problems.add(_("row 1: missing column(s): %(columns)s") % {"columns": ", ".join(missing)}, 1)
    if unknown:
        problems.add(_("row 1: unknown column(s): %(columns)s (the header is %(header)s)")
                     % {"columns": ", ".join(unknown) or "''", "header": ",".join(columns)}, 1)
    if repeated:
        problems.add(_("row 1: repeated column(s): %(columns)s") % {"columns": ", ".join(repeated)}, 1)
    return not (missing or unknown or repeated)


def _read_rows(source, problems, columns=COLUMNS):
    """(row number, stripped values) for each non-blank row, read as a stream, if the header is right
    (``columns``: the dossier list's, or another file's)."""
    records = csv_records(source)
    _line, header = next(records, (1, []))
    header = [h.strip() for h in header]
    if not _check_header(header, problems, columns):
        return
    for number, cells in records:
        if len(cells) > len(header):
            problems.add(_("row %(row)d: more values than columns") % {"row": number}, number)
            continue
        values = dict(zip(header, (c.strip() for c in cells), strict=False))
        if any(values.values()):  # else a blank line
            yield number, {column: values.get(column, "") for column in columns}


def _units_by_code(rows):
    """Unit code → unit for the unit codes the rows use: one query."""
    return units_by_codes({values["unit_code"] for _number, values in rows}, Unit.objects.select_related("successor"))


def _check_code(number, code, problems):
    if not code:
        problems.add(_("row %(row)d: dossier_code is empty") % {"row": number}, number)
    elif len(code) > CODE_MAX_LENGTH:
        problems.add(_("row %(row)d: dossier_code is longer than %(max)d characters")
                     % {"row": number, "max": CODE_MAX_LENGTH}, number)
    else:
        return True
    return False


def _check_unit(number, code, units, survey_round, problems):
    if not code:
        problems.add(_("row %(row)d: unit_code is empty") % {"row": number}, number)
    elif code not in units:
        problems.add(_("row %(row)d: unit_code '%(code)s' is not a known unit")
                     % {"row": number, "code": code}, number)
    elif not units[code].path.startswith(survey_round.unit.path):
        problems.add(_("row %(row)d: unit %(code)s is not in the round's area (%(round_unit)s)")
                     % {"row": number, "code": code, "round_unit": survey_round.unit.code}, number)
    elif not survey_round.has_unit_open(units[code]):
        problems.add(_("row %(row)d: %(problem)s") % {
            "row": number, "problem": survey_round.unit_not_open_reason(units[code])}, number)
    else:
        return units[code].pk
    return None


def _check_date(number, value, problems):
    try:
        if ISO_DATE.match(value):
            return datetime.date.fromisoformat(value)
    except ValueError:
        pass
    problems.add(_("row %(row)d: completed_on '%(value)s' is not a date in the form YYYY-MM-DD")
                 % {"row": number, "value": value}, number)
    return None


def _checked_batch(rows, survey_round, fields, problems):
    """The rows of a batch as (row, code, unit id, field, date); a row with a problem is kept while
    its code is usable (so that a later row with the same code is still named), with None for the
    values that are wrong."""
    units, checked = _units_by_code(rows), []
    for number, values in rows:
        code_ok = _check_code(number, values["dossier_code"], problems)
        unit_id = _check_unit(number, values["unit_code"], units, survey_round, problems)
        field = values["service_field"]
        if field not in fields:
            problems.add(_("row %(row)d: service_field '%(value)s' is not one of %(codes)s")
                         % {"row": number, "value": field, "codes": ", ".join(fields)}, number)
        completed_on = _check_date(number, values["completed_on"], problems)
        if code_ok:
            checked.append((number, values["dossier_code"], unit_id, field, completed_on))
    return checked


class _Staging:
    """The rows of a file in a temporary table of this transaction, so that the file's rows never
    sit in memory together: the database finds repeated codes, and copies the rows into the list
    once the whole file is known to be good (``INSERT … SELECT FROM unnest(arrays)``: for 120,000
    rows about 3 s, where ``bulk_create`` took about 15 s building model instances)."""

    TABLE = "fieldwork_dossier_import"

    def __init__(self, cursor):
        self.cursor = cursor
        cursor.execute(f"CREATE TEMPORARY TABLE {self.TABLE} (row integer, code varchar({CODE_MAX_LENGTH}), "
                       "unit_id integer, service_field varchar(64), completed_on date) ON COMMIT DROP")

    def add(self, rows):
        if rows:
            self.cursor.execute(
                f"INSERT INTO {self.TABLE} SELECT * FROM unnest(%s::integer[], %s::varchar[], %s::integer[], "
                "%s::varchar[], %s::date[])", [list(column) for column in zip(*rows, strict=True)])

    def repeated_codes(self, problems):
        """A problem for each row whose code an earlier row has, in row order."""
        self.cursor.execute(
            f"SELECT row, code, first FROM (SELECT row, code, min(row) OVER (PARTITION BY code) AS first "
            f"FROM {self.TABLE}) rows WHERE row > first ORDER BY row LIMIT %s", [problems.limit])
        listed = self.cursor.fetchall()
        for number, code, first in listed:
            problems.add(_("row %(row)d: dossier_code '%(code)s' is already used on row %(first)d")
                         % {"row": number, "code": code, "first": first}, number)
        self.cursor.execute(f"SELECT count(*) - count(DISTINCT code), count(*) FROM {self.TABLE}")
        repeated, total = self.cursor.fetchone()
        problems.count += repeated - len(listed)  # those past the LIMIT: counted only
        return total

    def copy_into(self, dossier_list):
        quote, field = connection.ops.quote_name, Dossier._meta.get_field
        columns = ", ".join(quote(field(name).column)
                            for name in ("dossier_list", "code", "unit", "service_field", "completed_on"))
        self.cursor.execute(
            f"INSERT INTO {quote(Dossier._meta.db_table)} ({columns}) "
            f"SELECT %s, code, unit_id, service_field, completed_on FROM {self.TABLE} ORDER BY row",
            [dossier_list.pk])
        self.cursor.execute(f"DROP TABLE {self.TABLE}")  # before the commit: a test's transaction goes on


def _name_problems(name, problems):
    if not name:
        problems.add(_("the list needs a name"))
    elif len(name) > NAME_MAX_LENGTH:
        problems.add(_("the name is longer than %(max)d characters") % {"max": NAME_MAX_LENGTH})


def _stage_file(source, survey_round, fields, staging, problems):
    rows = _read_rows(source, problems)
    try:
        while batch := list(itertools.islice(rows, BATCH_SIZE)):
            staging.add(_checked_batch(batch, survey_round, fields, problems))
    except CsvReadError as exc:
        problems.add(_("row %(row)d: %(problem)s") % {"row": exc.line, "problem": exc.message}, exc.line)


@transaction.atomic
def dossier_list_import(*, survey_round: Round, name: str, user, text: str | None = None, file=None) -> DossierList:
    """Store a CSV list of completed dossiers (``dossier_code,unit_code,service_field,completed_on``)
    from an uploaded ``file`` (any Django File) or ``text``, read as a stream.

    All or nothing: raises ``SamplingError`` naming the row of each problem (the header is row 1),
    the first IMPORT_ERROR_LIMIT of them, with the number of the others in ``more``. The rows go
    through a temporary table, so a list of a million dossiers holds none of them in memory.
    """
    problems = Problems()
    name = name.strip()
    _name_problems(name, problems)
    fields = service_fields(survey_round)
    if not fields:
        raise SamplingError([_("questionnaire %(code)s has no %(item)s question, so it has no service fields")
                             % {"code": survey_round.questionnaire.code, "item": FIELD_ITEM}])
    with connection.cursor() as cursor:
        staging = _Staging(cursor)
        _stage_file(file if file is not None else text, survey_round, fields, staging, problems)
        staged = staging.repeated_codes(problems)
        if not staged and not problems:
            problems.add(_("the file has no dossiers"))
        if problems:
            problems.sort()
            raise SamplingError(problems.messages, more=problems.more)  # leaves the block: nothing is kept
        dossier_list = DossierList.objects.create(round=survey_round, name=name, imported_by=user)
        staging.copy_into(dossier_list)
    return dossier_list


# ---------------------------------------------------------------------------------------------
# Allocation helpers (pure)


def sample_size(N: int, e: float = 0.05) -> int:
    """n = N / (1 + N·e²), rounded up (SIPAS.md §7): the sample for a population of N at margin e."""
    if N < 0:
        raise AllocationError(_("the population cannot be negative"))
    margin = Fraction(str(e))  # exact, so that a whole-number result is not pushed up by float error
    if not 0 < margin < 1:
        raise AllocationError(_("the margin of error must be between 0 and 1, e.g. 0.05"))
    return math.ceil(Fraction(N) / (1 + N * margin * margin))


def _clamped_shares(counts, total, low, high):
    """Exact shares proportional to the counts, each kept within [low, high], summing to total.

    A stratum whose proportional share falls outside its bounds is fixed at the bound and the rest
    is shared again among the others (fixing the side that cannot change back as the rest moves).
    """
    shares = {}
    free = set(counts)
    while free:
        remaining = total - sum(shares.values())
        weight = sum(counts[k] for k in free)
        # Nothing to be proportional to (all counts zero): equal shares.
        ideal = {k: Fraction(remaining * (counts[k] if weight else 1), weight or len(free)) for k in free}
        below = {k for k in free if ideal[k] < low[k]}
        above = {k for k in free if ideal[k] > high[k]}
        if not below and not above:
            shares.update(ideal)
            break
        excess = sum(ideal[k] - high[k] for k in above) - sum(low[k] - ideal[k] for k in below)
        # Too much once clamped: the share of the rest will fall, so those below stay below.
        fix = below if excess <= 0 and below else above
        for k in fix:
            shares[k] = low[k] if k in below else high[k]
        free -= fix
    return shares


def allocate_proportional(counts: dict, total: int, minimum: int = 0, *, capped: bool = True) -> dict:
    """Share ``total`` among the keys in proportion to their counts; the parts sum exactly to total.

    Largest remainder rounding: each key gets the whole part of its share, then the units left
    go to the largest fractional parts (ties: the larger count, then the key in sorted order, so
    the keys must be comparable with each other).
    Every key gets at least ``minimum`` where it can; with ``capped`` (for drawing a sample) no
    key gets more than its count. Raises ``AllocationError`` when that cannot add up.
    """
    if total < 0 or minimum < 0 or any(n < 0 for n in counts.values()):
        raise AllocationError(_("counts, total and minimum cannot be negative"))
    if capped and total > sum(counts.values()):
        raise AllocationError(_("a total of %(total)s is more than the %(available)s available")
                              % {"total": localize(total), "available": localize(sum(counts.values()))})
    high = {k: (n if capped else total) for k, n in counts.items()}
    low = {k: min(minimum, high[k]) for k in counts}
    if sum(low.values()) > total:
        raise AllocationError(
            _("a minimum of %(minimum)s for each of %(strata)s strata needs %(needed)s, more than the total %(total)s")
            % {"minimum": localize(minimum), "strata": localize(len(counts)), "needed": localize(sum(low.values())),
               "total": localize(total)}
        )
    if not counts:
        if total:
            raise AllocationError(_("there are no strata to share a total of %(total)s among")
                                  % {"total": localize(total)})
        return {}
    shares = _clamped_shares(counts, total, low, high)
    result = {k: math.floor(share) for k, share in shares.items()}
    left = total - sum(result.values())
    by_remainder = sorted(counts, key=lambda k: (-(shares[k] - result[k]), -counts[k], k))
    for k in by_remainder[:left]:
        result[k] += 1
    return result


# ---------------------------------------------------------------------------------------------
# Drawing a sample


def _stratum_label(strata, unit_code, service_field):
    parts = {"unit": unit_code, "service_field": service_field}
    return " / ".join(parts[s] for s in strata) or "all"


def _check_draw(dossier_list, size, strata, seed, min_per_stratum):
    errors = []
    if len(set(strata)) != len(strata) or any(s not in STRATA for s in strata):
        errors.append(_("strata must be chosen from %(strata)s") % {"strata": ", ".join(STRATA)})
    if size < 1:
        errors.append(_("the sample size must be at least 1"))
    if min_per_stratum < 0:
        errors.append(_("the minimum per stratum cannot be negative"))
    if seed is not None and not 0 <= seed <= MAX_SEED:
        errors.append(_("the seed must be a whole number from 0 to %(max)s") % {"max": localize(MAX_SEED)})
    available = dossier_list.dossiers.count()
    if size > available:
        errors.append(_("a sample of %(size)s is larger than the list, which has %(available)s dossiers")
                      % {"size": localize(size), "available": localize(available)})
    if errors:
        raise SamplingError(errors)


def _frame(dossier_list, strata):
    """Stratum label → dossier ids in dossier-code order: the stable order the draw depends on.

    Sorted in Python (by code point), not with ORDER BY, whose order follows the database's
    collation and could differ between servers or after an operating system upgrade.
    """
    rows = sorted(dossier_list.dossiers.values_list("code", "pk", "unit__code", "service_field")
                  .iterator(chunk_size=BATCH_SIZE))
    frame = {}
    for _code, pk, unit_code, service_field in rows:
        frame.setdefault(_stratum_label(strata, unit_code, service_field), []).append(pk)
    return frame


def sample_draw(*, dossier_list: DossierList, size: int, strata=STRATA, seed: int | None = None,
                min_per_stratum: int = 0, user) -> Sample:
    """Draw a stratified random sample: proportional allocation, then a simple random draw per stratum.

    ``random.Random(seed)`` runs over strata in label order and dossiers in code order, so the same
    seed and list give the same dossiers in the same call order. Without a seed one is generated
    and recorded. Raises ``SamplingError`` when the draw cannot be made.
    """
    strata = tuple(strata)
    _check_draw(dossier_list, size, strata, seed, min_per_stratum)
    if seed is None:
        seed = secrets.randbits(63)
    frame = _frame(dossier_list, strata)
    try:
        allocation = allocate_proportional({label: len(ids) for label, ids in frame.items()}, size, min_per_stratum)
    except AllocationError as exc:
        raise SamplingError([str(exc)]) from exc
    rng = random.Random(seed)
    chosen = []
    for label in sorted(frame):
        chosen += [(label, pk) for pk in rng.sample(frame[label], allocation[label])]
    rng.shuffle(chosen)  # the call order
    with transaction.atomic():
        sample = Sample.objects.create(dossier_list=dossier_list, seed=seed, strata=",".join(strata), size=size,
                                       allocation=allocation, drawn_by=user)
        SampleMember.objects.bulk_create(
            (SampleMember(sample=sample, dossier_id=pk, stratum=label, position=position)
             for position, (label, pk) in enumerate(chosen, start=1)),
            batch_size=BATCH_SIZE,
        )
    return sample


CALL_LIST_COLUMNS = ["position", "dossier_code", "unit_code", "unit_name", "service_field", "completed_on", "stratum"]


def sample_call_list_csv(*, sample: Sample) -> str:
    """The call list in call order, as UTF-8 CSV text with a BOM (so spreadsheet programs read it as UTF-8)."""
    members = sample.members.select_related("dossier__unit").order_by("position")
    rows = (
        [m.position, m.dossier.code, m.dossier.unit.code, m.dossier.unit.name, m.dossier.service_field,
         m.dossier.completed_on.isoformat(), m.stratum]
        for m in members.iterator(chunk_size=BATCH_SIZE)
    )
    return csv_text([CALL_LIST_COLUMNS, *rows])


# ---------------------------------------------------------------------------------------------
# Reads for the pages


def dossier_lists_for_round(survey_round: Round):
    """The round's lists with their dossier and sample counts (subqueries: no join of the two)."""
    dossiers = (Dossier.objects.filter(dossier_list=OuterRef("pk")).order_by()
                .values("dossier_list").annotate(n=Count("pk")).values("n"))
    samples = (Sample.objects.filter(dossier_list=OuterRef("pk")).order_by()
               .values("dossier_list").annotate(n=Count("pk")).values("n"))
    return (survey_round.dossier_lists.select_related("imported_by")
            .annotate(dossier_count=Subquery(dossiers, output_field=IntegerField()),
                      sample_count=Subquery(samples, output_field=IntegerField())))


def dossier_list_strata(dossier_list: DossierList):
    """Dossiers per unit and service field: one grouped query."""
    return (dossier_list.dossiers.values("unit__code", "unit__name", "unit__path", "service_field")
            .annotate(n=Count("pk")).order_by("unit__path", "service_field"))


# ---------------------------------------------------------------------------------------------
# Proposing quotas


@dataclass
class ProposedQuota:
    unit: Unit
    stratum_value: str  # a service field code, or "" for the whole unit
    dossiers: int | None  # dossiers of the stratum in the list; None without a list
    target: int

    @property
    def stratum_item(self):
        return FIELD_ITEM if self.stratum_value else ""


def _sub_units(survey_round):
    """The direct sub-units of the round's unit that exist during the round (or the unit itself)."""
    children = list(survey_round.unit.children.filter(survey_round.units_open()).order_by("path"))
    return children or [survey_round.unit]


def _dossier_counts(dossier_list, units, by_field):
    """(unit path, field or "") → dossiers in the unit's subtree; dossiers outside these units are left out."""
    counts = {}
    grouped = dossier_list.dossiers.values("unit__path", "service_field").annotate(n=Count("pk")).order_by()
    for row in grouped:
        unit = next((u for u in units if row["unit__path"].startswith(u.path)), None)
        if unit is not None:
            key = (unit.path, row["service_field"] if by_field else "")
            counts[key] = counts.get(key, 0) + row["n"]
    return counts


def _check_proposal(total, e, by, dossier_list, minimum):
    if by not in ("unit", "unit_field"):
        raise SamplingError([_("propose quotas by unit or by unit and service field")])
    if (total is None) == (e is None):
        raise SamplingError([_("give either a total sample or a margin of error, not both or neither")])
    if dossier_list is None and e is not None:
        raise SamplingError([_("the margin of error needs a dossier list: it gives the number of dossiers per unit")])
    if dossier_list is None and by == "unit_field":
        raise SamplingError([_("quotas by service field need a dossier list: it gives the fields of each unit")])
    if minimum < 0 or (total is not None and total < 0):
        raise SamplingError([_("the total and the minimum cannot be negative")])


def propose_quotas(*, survey_round: Round, total: int | None = None, e: float | None = None, minimum: int = 0,
                   by: str = "unit", dossier_list: DossierList | None = None) -> list[ProposedQuota]:
    """Suggest quota targets for the direct sub-units of the round's unit (by="unit") or for each
    sub-unit × service field that has dossiers (by="unit_field"). Saves nothing.

    With ``total``: shared in proportion to the dossiers of each stratum in the list (equal shares
    without a list), at least ``minimum`` each. With ``e``: n = N / (1 + N·e²) per stratum from its N
    dossiers, at least ``minimum``. Dossiers of the round's unit itself belong to no sub-unit and
    are not counted.
    """
    _check_proposal(total, e, by, dossier_list, minimum)
    units = _sub_units(survey_round)
    # Keys are (unit path, service field or ""): sortable, so that ties are settled in tree order.
    if dossier_list is None:
        counts = {(u.path, ""): 0 for u in units}
    else:
        counts = _dossier_counts(dossier_list, units, by_field=(by == "unit_field"))
        if by == "unit":
            counts = {(u.path, ""): counts.get((u.path, ""), 0) for u in units}
    if not counts:
        return []  # a list with no dossiers in these units
    try:
        if e is not None:
            targets = {k: max(sample_size(n, e), minimum) for k, n in counts.items()}
        else:
            targets = allocate_proportional(counts, total, minimum, capped=False)
    except AllocationError as exc:
        raise SamplingError([str(exc)]) from exc
    fields = list(service_fields(survey_round))
    by_path = {u.path: u for u in units}
    keys = sorted(counts, key=lambda k: (k[0], fields.index(k[1]) if k[1] in fields else -1, k[1]))
    return [ProposedQuota(by_path[path], field, counts[(path, field)] if dossier_list else None,
                          targets[(path, field)]) for path, field in keys]


def quota_proposal_save(*, survey_round: Round, rows) -> int:
    """Save edited proposals as quotas through ``quota_set``: all of them or none.

    ``rows`` are (unit code, service field or "", target); a row without a target or with 0 is
    skipped. An existing quota keeps its policy. Returns how many quotas were set; raises
    ``SamplingError`` with every refusal.
    """
    rows = [(code, field, target) for code, field, target in rows if target]
    units = {u.code: u for u in survey_round.unit.subtree().filter(code__in=[code for code, _f, _t in rows])}
    policies = {(q.unit.code, q.stratum_value): q.policy
                for q in survey_round.quotas.select_related("unit").filter(stratum_item__in=["", FIELD_ITEM])}
    errors = []
    with transaction.atomic():
        for code, field, target in rows:
            if code not in units:
                errors.append(_("%(code)s: not a unit of this round") % {"code": code})
                continue
            try:
                quota_set(survey_round=survey_round, unit=units[code], target=target,
                          stratum_item=FIELD_ITEM if field else "", stratum_value=field,
                          policy=policies.get((code, field), ""))
            except QuotaError as exc:
                errors.append(_("unit %(unit)s, field %(field)s: %(problem)s") % {
                    "unit": code, "field": field, "problem": exc} if field else
                    _("unit %(unit)s: %(problem)s") % {"unit": code, "problem": exc})
        if errors:
            raise SamplingError(errors)  # leaves the atomic block: nothing is kept
    return len(rows)
