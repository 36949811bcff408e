"""Reads for the fieldwork pages."""

import datetime
import math
from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from fieldwork.models import Kiosk, KioskDay, Quota, QuotaDay, Response, Round
from units import access
from units.models import Unit


def get_round_for_user(user, round_id, capability=access.FIELDWORK, *, whole=False) -> Round:
    """The round, with ``scope_paths``: the parts of it this user works on. 404 otherwise.

    Someone with the capability on the round's unit (or above) has the whole round. Someone with
    it only on units inside the round's subtree (a commune officer in a province-wide round) has
    just those units: pages show and change only what lies there. ``whole=True`` is for what only
    the round's owners may do (its settings, opening and closing, sampling, allocation).
    """
    survey_round = get_object_or_404(Round.objects.select_related("unit", "questionnaire"), pk=round_id)
    if access.user_can(user, survey_round.unit, capability):
        survey_round.scope_paths = [survey_round.unit.path]
    elif whole:
        raise Http404("Not found.")
    else:
        survey_round.scope_paths = access.role_paths_within(user, survey_round.unit, capability)
        if not survey_round.scope_paths:
            raise Http404("Not found.")
    survey_round.whole_scope = survey_round.scope_paths == [survey_round.unit.path]
    return survey_round


def in_scope(survey_round: Round, unit_field="unit") -> Q:
    """A filter for rows whose unit lies in the part of the round the user works on."""
    condition = Q()
    # A round not fetched through get_round_for_user (a job, a benchmark) is seen whole.
    for path in getattr(survey_round, "scope_paths", [survey_round.unit.path]):
        condition |= Q(**{f"{unit_field}__path__startswith": path})
    return condition


def round_units(survey_round: Round, user=None):
    """The units a response, a quota or a paper form of this round may be for: the round's subtree,
    less the units that did not exist during the round (merged away before it began), as far as
    the user (if given) may run fieldwork there; in tree order."""
    units = survey_round.unit.subtree().filter(survey_round.units_open())
    if user is not None:
        units = units.filter(pk__in=access.visible_units(user, access.FIELDWORK).values("pk"))
    return units.order_by("path")


def rounds_for_unit(unit: Unit):
    """Rounds over this unit's subtree or over a unit above it."""
    return (
        Round.objects.filter(Q(unit__path__startswith=unit.path) | Q(unit__path__in=unit.ancestor_paths()))
        .select_related("unit", "questionnaire")
        .order_by("-created_at")
    )


# ---------------------------------------------------------------------------------------------
# Quota progress

RATE_DAYS = 7  # responses per day are averaged over this many days


@dataclass
class QuotaProgress:
    quota: Quota
    recent: int  # in-quota responses in the last RATE_DAYS days
    per_day: float
    projected: datetime.date | None
    lagging: bool

    @property
    def fill_percent(self):
        return 100.0 * self.quota.filled / self.quota.target if self.quota.target else 100.0


def quota_progress(survey_round) -> list[QuotaProgress]:
    """Every quota of the round (in the user's part of it) with its fill, pace and projection."""
    quotas = (
        survey_round.quotas.select_related("unit")
        .only("round_id", "target", "filled", "over", "policy", "stratum_item", "stratum_value",
              "unit__code", "unit__name", "unit__path")
        .order_by("unit__path", "stratum_item", "stratum_value")
    )
    quotas = list(quotas.filter(in_scope(survey_round)))
    today = timezone.localdate()
    days = RATE_DAYS
    if survey_round.opened_at:
        days = max(1, min(RATE_DAYS, (today - timezone.localdate(survey_round.opened_at)).days + 1))
    # One grouped query over the per-day counts that claiming keeps, whatever the number of quotas.
    recent = dict(
        QuotaDay.objects.filter(quota__round=survey_round, day__gt=today - datetime.timedelta(days=days))
        .values("quota").annotate(n=Sum("responses")).values_list("quota", "n")
    )
    result = []
    for quota in quotas:
        per_day = recent.get(quota.pk, 0) / days
        remaining = quota.target - quota.filled
        projected = today if remaining <= 0 else (
            today + datetime.timedelta(days=math.ceil(remaining / per_day)) if per_day else None
        )
        deadline = survey_round.period_end
        # Silent quotas lag only once the round has had a day to get going.
        silent = projected is None and days > 1
        late = projected is not None and deadline is not None and projected > deadline
        lagging = remaining > 0 and (silent or late)
        result.append(QuotaProgress(quota, recent.get(quota.pk, 0), per_day, projected, lagging))
    return result


# ---------------------------------------------------------------------------------------------
# Kiosks

SILENT_AFTER = datetime.timedelta(days=1)


def kiosks_with_activity(unit: Unit):
    """The kiosks in a unit's subtree, each with its responses today and whether it has gone silent
    during an open round: three queries whatever the number of kiosks."""
    kiosks = list(Kiosk.objects.filter(unit__path__startswith=unit.path).select_related("unit"))
    # Counted while storing (fieldwork.services): no scan of the responses, however many there are.
    today = dict(
        KioskDay.objects.filter(kiosk__in=kiosks, day=timezone.localdate()).values_list("kiosk", "responses")
    )
    open_paths = set(Round.objects.filter(status=Round.Status.OPEN).values_list("unit__path", flat=True))
    now = timezone.now()
    for kiosk in kiosks:
        kiosk.responses_today = today.get(kiosk.pk, 0)
        covered = any(p in open_paths for p in kiosk.unit.ancestor_paths())
        seen = kiosk.last_seen_at or kiosk.paired_at
        kiosk.silent = bool(covered and not kiosk.is_revoked and kiosk.paired_at and seen
                            and now - seen > SILENT_AFTER)
    return kiosks


def round_summary(survey_round):
    """Counts for the round page (in the user's part of the round): one query."""
    return Response.objects.filter(round=survey_round).filter(in_scope(survey_round)).aggregate(
        total=Count("id"),
        over_quota=Count("id", filter=Q(over_quota=True)),
        excluded=Count("exclusion"),
        paper=Count("id", filter=Q(channel=Response.Channel.PAPER)),
        today=Count("id", filter=Q(received_at__date=timezone.localdate())),
    )
