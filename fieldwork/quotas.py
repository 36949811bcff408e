"""Quotas: claiming a place atomically, releasing it on exclusion, setting targets.

A response matches every quota of its round whose unit is the response's unit or an ancestor,
and whose stratum (if any) the response's answer equals. It is in quota when every matching quota
has room; then each of them counts it. Places are claimed under row locks taken in id order, so
concurrent submissions never push a quota past its target (the database also refuses it).
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q

from fieldwork.models import Quota, Round
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
    return Claim(True, [])


def quota_release(*, response, answers: dict) -> None:
    """Give back the places of an in-quota response that is being excluded."""
    if response.over_quota:
        return
    quotas = _matching(response.round, response.unit, answers).select_for_update().order_by("pk")
    Quota.objects.filter(pk__in=[q.pk for q in quotas], filled__gt=0).update(filled=F("filled") - 1)


def quota_reclaim(*, response, answers: dict) -> None:
    """Take the places back when an exclusion is reversed; QuotaFull if a quota filled meanwhile."""
    if response.over_quota:
        return
    quotas = list(_matching(response.round, response.unit, answers).select_for_update().order_by("pk"))
    full = [q for q in quotas if q.filled >= q.target]
    if full:
        raise QuotaFull(full)
    Quota.objects.filter(pk__in=[q.pk for q in quotas]).update(filled=F("filled") + 1)


@transaction.atomic
def quota_set(*, survey_round: Round, unit: Unit, target: int, stratum_item="", stratum_value="",
              policy="") -> Quota:
    """Create or change a quota. The in-quota count is kept; a target below it is refused."""
    if survey_round.status == Round.Status.CLOSED:
        raise QuotaError(f"round {survey_round.pk} is closed: its quotas are frozen")
    if not survey_round.unit.path or not unit.path.startswith(survey_round.unit.path):
        raise QuotaError(f"unit {unit.code} is not covered by round {survey_round.pk}")
    if target < 0:
        raise QuotaError("a target cannot be negative")
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
