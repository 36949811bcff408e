"""Quotas: claiming a place atomically, releasing it on exclusion, setting targets.

A response matches every quota of its round whose unit is the response's unit or an ancestor,
and whose stratum (if any) the response's answer equals. It is in quota when every matching quota
has room; then each of them counts it. Places are claimed under row locks taken in id order, so
concurrent submissions never push a quota past its target (the database also refuses it).
"""

from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from fieldwork.models import Quota, Round
from surveyapp.limits import INT_MAX, whole_number
from units.models import Unit

# The questions a quota may be stratified by: single-choice screening questions.
STRATUM_ITEMS = ("E.FIELD", "E.LEVEL", "D.GENDER", "D.AGE")


class QuotaError(Exception):
    pass


class QuotaFull(Exception):
    """Every matching quota that is full, for the caller to explain or flag."""

    def __init__(self, quotas):
        super().__init__(", ".join(str(q) for q in quotas))
        self.quotas = quotas

    @property
    def closes(self):
        return any(q.effective_policy == Quota.Policy.CLOSE for q in self.quotas)


def _matching(survey_round: Round, unit: Unit, answers: dict):
    stratum = Q(stratum_item="")
    for item in STRATUM_ITEMS:
        value = answers.get(item)
        if isinstance(value, str):
            stratum |= Q(stratum_item=item, stratum_value=value)
    return Quota.objects.filter(round=survey_round, unit__path__in=unit.ancestor_paths()).filter(stratum)


@dataclass
class Claim:
    in_quota: bool
    full: list  # the full quotas that turned the response away (empty when in quota)


def quota_claim(*, survey_round: Round, unit: Unit, answers: dict) -> Claim:
    """Claim a place in every matching quota, or none. Call inside the transaction that stores
    the response, so that a failed insert gives the places back."""
    assert transaction.get_connection().in_atomic_block, "claim quota inside the response's transaction"
    quotas = list(_matching(survey_round, unit, answers).select_for_update().select_related("round").order_by("pk"))
    if not quotas:
        return Claim(True, [])
    full = [q for q in quotas if q.filled >= q.target]
    if full:
        Quota.objects.filter(pk__in=[q.pk for q in full]).update(over=F("over") + 1)
        return Claim(False, full)
    Quota.objects.filter(pk__in=[q.pk for q in quotas]).update(filled=F("filled") + 1)
    _count_day([q.pk for q in quotas], timezone.localdate(), +1)
    return Claim(True, [])


def _count_day(quota_ids, day, delta):
    """Keep the per-day counts beside ``filled`` (under the same row locks)."""
    if not quota_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO fieldwork_quotaday (quota_id, day, responses)
               SELECT q, %s, %s FROM unnest(%s::int[]) AS q
               ON CONFLICT (quota_id, day)
               DO UPDATE SET responses = fieldwork_quotaday.responses + EXCLUDED.responses""",
            [day, delta, list(quota_ids)],
        )


def quota_release(*, response, answers: dict) -> None:
    """Give back the places of an in-quota response that is being excluded."""
    if response.over_quota:
        return
    ids = list(_matching(response.round, response.unit, answers).select_for_update().order_by("pk")
               .filter(filled__gt=0).values_list("pk", flat=True))
    Quota.objects.filter(pk__in=ids).update(filled=F("filled") - 1)
    _count_day(ids, timezone.localdate(response.received_at), -1)


def quota_reclaim(*, response, answers: dict) -> None:
    """Take the places back when an exclusion is reversed; QuotaFull if a quota filled meanwhile."""
    if response.over_quota:
        return
    quotas = list(_matching(response.round, response.unit, answers).select_for_update().order_by("pk"))
    full = [q for q in quotas if q.filled >= q.target]
    if full:
        raise QuotaFull(full)
    Quota.objects.filter(pk__in=[q.pk for q in quotas]).update(filled=F("filled") + 1)
    _count_day([q.pk for q in quotas], timezone.localdate(response.received_at), +1)


@transaction.atomic
def quota_set(*, survey_round: Round, unit: Unit, target: int, stratum_item="", stratum_value="",
              policy="") -> Quota:
    """Create or change a quota. The in-quota count is kept; a target below it is refused."""
    if survey_round.status == Round.Status.CLOSED:
        raise QuotaError(f"round {survey_round.pk} is closed: its quotas are frozen")
    if not survey_round.unit.path or not unit.path.startswith(survey_round.unit.path):
        raise QuotaError(f"unit {unit.code} is not covered by round {survey_round.pk}")
    if whole_number(target, high=INT_MAX) is None:
        raise QuotaError(f"a target is a whole number from 0 to {INT_MAX}, not {target!r:.40}")
    if bool(stratum_item) != bool(stratum_value):
        raise QuotaError("a stratum needs both a question and an answer, e.g. E.FIELD=land")
    if stratum_item:
        _check_stratum(survey_round, stratum_item, stratum_value)
    if policy not in ("", *Quota.Policy.values):
        raise QuotaError(f"policy must be one of {', '.join(Quota.Policy.values)}")
    quota, _ = Quota.objects.select_for_update().get_or_create(
        round=survey_round, unit=unit, stratum_item=stratum_item, stratum_value=stratum_value,
        defaults={"target": target, "policy": policy},
    )
    if target < quota.filled:
        raise QuotaError(f"{quota.filled} responses are already in this quota: the target cannot be below that")
    quota.target, quota.policy = target, policy
    quota.save(update_fields=["target", "policy"])
    return quota


def _check_stratum(survey_round, item_code, value):
    if item_code not in STRATUM_ITEMS:
        raise QuotaError(f"a quota stratum is one of {', '.join(STRATUM_ITEMS)}, not '{item_code}'")
    item = survey_round.questionnaire.parsed.by_code.get(item_code)
    if item is None:
        raise QuotaError(f"{survey_round.questionnaire.code} has no item {item_code}")
    codes = [o["code"] for o in item.get("options", [])]
    if value not in codes:
        raise QuotaError(f"'{value}' is not an answer to {item_code}: use one of {', '.join(codes)}")


def closed_for_unit(*, survey_round: Round, unit: Unit):
    """What a kiosk of this unit must no longer ask: (whole unit closed?, [closed strata]).

    Only full quotas whose policy closes the survey count; flagged quotas keep accepting."""
    full = (
        Quota.objects.filter(round=survey_round, unit__path__in=unit.ancestor_paths(), filled__gte=F("target"))
        .filter(Q(policy=Quota.Policy.CLOSE) | Q(policy="", round__quota_policy=Quota.Policy.CLOSE))
        .values_list("stratum_item", "stratum_value")
    )
    strata = [{"item": item, "value": value} for item, value in full if item]
    return any(not item for item, _ in full), strata


def _grouped_in_quota(survey_round, strata):
    """In-quota, not excluded responses of a round by unit path, stratum answers and local day."""
    definition = survey_round.questionnaire.parsed
    columns = "".join(f", r.answers[{definition.positions[item]}]" for item in strata)
    sql = f"""
        SELECT u.path, (r.received_at AT TIME ZONE %s)::date{columns}, count(*)
        FROM fieldwork_response r
        JOIN units_unit u ON u.id = r.unit_id
        LEFT JOIN fieldwork_exclusion x ON x.response_id = r.id
        WHERE r.round_id = %s AND NOT r.over_quota AND x.response_id IS NULL
        GROUP BY 1, 2{columns}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.get_current_timezone_name(), survey_round.pk])
        return cursor.fetchall()


@transaction.atomic
def quota_recount(*, survey_round: Round) -> int:
    """Recompute every quota's in-quota count and per-day counts from the responses: a repair
    tool (after a restore or a manual fix), and the reference the counters must agree with."""
    from fieldwork.models import QuotaDay

    quotas = list(Quota.objects.select_for_update().filter(round=survey_round).select_related("unit"))
    definition = survey_round.questionnaire.parsed
    strata = sorted({q.stratum_item for q in quotas if q.stratum_item})
    options = {item: [o["code"] for o in definition.by_code[item]["options"]] for item in strata}
    by_path = {}
    for quota in quotas:
        by_path.setdefault(quota.unit.path, []).append(quota)
    days = {}
    for row in _grouped_in_quota(survey_round, strata):
        path, day, values, count = row[0], row[1], row[2:-1], row[-1]
        answers = {item: options[item][v - 1] for item, v in zip(strata, values, strict=True) if v}
        for ancestor in Unit(path=path).ancestor_paths():
            for quota in by_path.get(ancestor, ()):
                if not quota.stratum_item or answers.get(quota.stratum_item) == quota.stratum_value:
                    days[(quota.pk, day)] = days.get((quota.pk, day), 0) + count
    totals = {}
    for (quota_id, _day), count in days.items():
        totals[quota_id] = totals.get(quota_id, 0) + count
    over = [q for q in quotas if totals.get(q.pk, 0) > q.target]
    if over:
        raise QuotaError("more in-quota responses than the target for: " + ", ".join(map(str, over)))
    for quota in quotas:
        quota.filled = totals.get(quota.pk, 0)
    Quota.objects.bulk_update(quotas, ["filled"], batch_size=1000)
    QuotaDay.objects.filter(quota__round=survey_round).delete()
    QuotaDay.objects.bulk_create(
        [QuotaDay(quota_id=q, day=d, responses=n) for (q, d), n in days.items()], batch_size=2000
    )
    return len(quotas)
