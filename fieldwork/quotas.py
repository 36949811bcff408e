"""Quotas: the rules (MATCHING), claiming a place with the response, releasing it on exclusion,
setting targets, and which groups a kiosk must no longer ask.

A response matches every quota of its round whose unit is the response's unit or an ancestor,
and whose stratum (if any) the response's answer equals. It is in quota when every matching quota
has room; then each of them counts it. Places are claimed under row locks taken in id order, so
concurrent submissions never push a quota past its target (the database also refuses it).
"""

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fieldwork.models import Quota, Round
from surveyapp.errors import UserError
from surveyapp.limits import INT_MAX, whole_number
from units.models import Unit

# The questions a quota may be stratified by: single-choice screening questions.
STRATUM_ITEMS = ("E.FIELD", "E.LEVEL", "D.GENDER", "D.AGE")


class QuotaError(UserError):
    """Why a quota cannot be set, worded when shown (surveyapp.errors)."""


class QuotaFull(Exception):
    """Every matching quota that is full, for the caller to explain or flag."""

    def __init__(self, quotas):
        super().__init__(", ".join(str(q) for q in quotas))
        self.quotas = quotas


def quota_keys(*, unit: Unit, answers: dict | None) -> dict:
    """What a response's quotas are found by (the parameters of MATCHING): its unit's path and those
    above it, and its answers to the stratum questions as "item=value". ``answers=None``: every
    stratum, for "which of this unit's quotas are closed"."""
    if answers is None:
        strata = None
    else:
        strata = [f"{item}={answers[item]}" for item in STRATUM_ITEMS if isinstance(answers.get(item), str)]
    return {"paths": unit.ancestor_paths(), "strata": strata}


# The quota rules, once. A response matches every quota of its round whose unit is the response's
# unit or above it and whose stratum is empty or the response's answer; a quota is full when it has
# counted its target; a full quota closes the survey when its policy, or else its round's, is
# "close" (Quota.effective_policy says the same for display). Parameters: round, paths, strata
# (None: every stratum). Used by the statement that stores a response (fieldwork.responses) and by
# everything below, so that claiming, releasing and "is this group closed" never disagree.
MATCHING = """
    SELECT q.id, q.filled >= q.target AS is_full,
           COALESCE(NULLIF(q.policy, ''), r.quota_policy) = 'close' AS closes
    FROM fieldwork_quota q
    JOIN units_unit u ON u.id = q.unit_id
    JOIN fieldwork_round r ON r.id = q.round_id
    WHERE q.round_id = %(round)s::int AND u.path = ANY(%(paths)s::text[])
      AND (q.stratum_item = '' OR %(strata)s::text[] IS NULL
           OR q.stratum_item || '=' || q.stratum_value = ANY(%(strata)s::text[]))
"""

# Claiming, as common table expressions of the storing statement (fieldwork.responses.STORE_SQL).
# CLAIM_LOCK locks the matching quotas in id order (so concurrent claims never deadlock) as
# ``quota``; ``verdict`` says whether the response is over quota (some matching quota is full) and
# whether it is refused (a full quota closes the survey and the statement's ``refuse_when_closed``
# says this response may be turned away: a kiosk's, not queued offline).
CLAIM_LOCK = f"""
quota AS ({MATCHING} ORDER BY q.id FOR UPDATE OF q),
verdict AS (
    SELECT COALESCE(bool_or(is_full), false) AS over_quota,
           COALESCE(bool_or(is_full AND closes), false) AND %(refuse_when_closed)s::boolean AS refused
    FROM quota
)"""
# CLAIM_COUNT runs after the insert, which it reads as ``stored`` (id, over_quota): an in-quota
# response takes a place in every matching quota (and its day's count); an over-quota one counts
# one over quota in every matching quota, full or not (the progress page's row of a commune then
# shows the forms it lost because its province's quota was full). Nothing when nothing was stored.
CLAIM_COUNT = """
claimed AS (
    UPDATE fieldwork_quota SET filled = filled + 1
    WHERE id IN (SELECT id FROM quota) AND EXISTS (SELECT 1 FROM stored WHERE NOT over_quota)
    RETURNING id
),
turned_away AS (
    UPDATE fieldwork_quota SET "over" = "over" + 1
    WHERE id IN (SELECT id FROM quota) AND EXISTS (SELECT 1 FROM stored WHERE over_quota)
),
quota_day AS (
    INSERT INTO fieldwork_quotaday (quota_id, day, responses) SELECT id, %(day)s::date, 1 FROM claimed
    ON CONFLICT (quota_id, day) DO UPDATE SET responses = fieldwork_quotaday.responses + 1
)"""


def _matching(survey_round: Round, unit: Unit, answers: dict | None, *, lock=False) -> list[tuple]:
    """(id, is_full, closes) of the quotas a response matches, locked in id order if ``lock``."""
    sql = MATCHING + (" ORDER BY q.id FOR UPDATE OF q" if lock else " ORDER BY q.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"round": survey_round.pk, **quota_keys(unit=unit, answers=answers)})
        return cursor.fetchall()


def _quotas(ids) -> list[Quota]:
    return list(Quota.objects.filter(pk__in=ids).select_related("unit", "round").order_by("pk"))


def quota_closing(*, survey_round: Round, unit: Unit, answers: dict) -> list[Quota]:
    """The full quotas that close the survey for this response (read only: why it was refused)."""
    return _quotas([pk for pk, is_full, closes in _matching(survey_round, unit, answers) if is_full and closes])


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
    ids = [pk for pk, _full, _closes in _matching(response.round, response.unit, answers, lock=True)]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE fieldwork_quota SET filled = filled - 1 WHERE id = ANY(%s) AND filled > 0 RETURNING id",
                       [ids])
        released = [row[0] for row in cursor.fetchall()]
    _count_day(released, timezone.localdate(response.received_at), -1)


def quota_reclaim(*, response, answers: dict) -> None:
    """Take the places back when an exclusion is reversed; QuotaFull if a quota filled meanwhile."""
    if response.over_quota:
        return
    matching = _matching(response.round, response.unit, answers, lock=True)
    full = [pk for pk, is_full, _closes in matching if is_full]
    if full:
        raise QuotaFull(_quotas(full))
    ids = [pk for pk, _full, _closes in matching]
    Quota.objects.filter(pk__in=ids).update(filled=F("filled") + 1)
    _count_day(ids, timezone.localdate(response.received_at), +1)


@transaction.atomic
def quota_set(*, survey_round: Round, unit: Unit, target: int, stratum_item="", stratum_value="",
              policy="") -> Quota:
    """Create or change a quota. The in-quota count is kept; a target below it is refused."""
    if survey_round.status == Round.Status.CLOSED:
        raise QuotaError(_("round %(id)s is closed: its quotas are frozen"), id=str(survey_round.pk))
    if not survey_round.unit.path or not unit.path.startswith(survey_round.unit.path):
        raise QuotaError(_("unit %(code)s is not covered by round %(id)s"), code=unit.code, id=str(survey_round.pk))
    if not survey_round.has_unit_open(unit):
        raise QuotaError(survey_round.unit_not_open_reason(unit))
    if whole_number(target, high=INT_MAX) is None:
        raise QuotaError(_("a target is a whole number from 0 to %(max)s, not %(value)s"), max=INT_MAX,
                         value=f"{target!r:.40}")
    if bool(stratum_item) != bool(stratum_value):
        raise QuotaError(_("a stratum needs both a question and an answer, e.g. E.FIELD=land"))
    if stratum_item:
        _check_stratum(survey_round, stratum_item, stratum_value)
    if policy not in ("", *Quota.Policy.values):
        raise QuotaError(_("policy must be one of %(values)s"), values=", ".join(Quota.Policy.values))
    quota, _created = Quota.objects.select_for_update().get_or_create(
        round=survey_round, unit=unit, stratum_item=stratum_item, stratum_value=stratum_value,
        defaults={"target": target, "policy": policy},
    )
    if target < quota.filled:
        raise QuotaError(_("%(count)s responses are already in this quota: the target cannot be below that"),
                         count=quota.filled)
    quota.target, quota.policy = target, policy
    quota.save(update_fields=["target", "policy"])
    return quota


def _check_stratum(survey_round, item_code, value):
    if item_code not in STRATUM_ITEMS:
        raise QuotaError(_("a quota stratum is one of %(items)s, not '%(item)s'"), items=", ".join(STRATUM_ITEMS),
                         item=item_code)
    item = survey_round.questionnaire.parsed.by_code.get(item_code)
    if item is None:
        raise QuotaError(_("%(version)s has no item %(item)s"), version=survey_round.questionnaire.code, item=item_code)
    codes = [o["code"] for o in item.get("options", [])]
    if value not in codes:
        raise QuotaError(_("'%(value)s' is not an answer to %(item)s: use one of %(codes)s"), value=value,
                         item=item_code, codes=", ".join(codes))


def closed_for_unit(*, survey_round: Round, unit: Unit):
    """What a kiosk of this unit must no longer ask: (whole unit closed?, [closed strata]).

    Only full quotas whose policy closes the survey count; flagged quotas keep accepting."""
    closing = [pk for pk, is_full, closes in _matching(survey_round, unit, None) if is_full and closes]
    full = Quota.objects.filter(pk__in=closing).values_list("stratum_item", "stratum_value")
    strata = [{"item": item, "value": value} for item, value in full if item]
    return any(not item for item, _ in full), strata


def _grouped_responses(survey_round, strata):
    """The round's responses counted by unit path, local day, whether over quota and whether
    excluded, and stratum answers: (path, day, over_quota, excluded, *answers, count)."""
    definition = survey_round.questionnaire.parsed
    columns = "".join(f", r.answers[{definition.positions[item]}]" for item in strata)
    sql = f"""
        SELECT u.path, (r.received_at AT TIME ZONE %s)::date, r.over_quota, x.response_id IS NOT NULL{columns},
               count(*)
        FROM fieldwork_response r
        JOIN units_unit u ON u.id = r.unit_id
        LEFT JOIN fieldwork_exclusion x ON x.response_id = r.id
        WHERE r.round_id = %s
        GROUP BY 1, 2, 3, 4{columns}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.get_current_timezone_name(), survey_round.pk])
        return cursor.fetchall()


@transaction.atomic
def quota_recount(*, survey_round: Round) -> int:
    """Recompute every quota's counts from the responses: in quota (not excluded) with the per-day
    counts, and over quota (excluded or not, as the counter keeps them). A repair tool (after a
    restore or a manual fix), and the reference the counters must agree with."""
    from fieldwork.models import QuotaDay

    quotas = list(Quota.objects.select_for_update().filter(round=survey_round).select_related("unit"))
    definition = survey_round.questionnaire.parsed
    strata = sorted({q.stratum_item for q in quotas if q.stratum_item})
    options = {item: [o["code"] for o in definition.by_code[item]["options"]] for item in strata}
    by_path = {}
    for quota in quotas:
        by_path.setdefault(quota.unit.path, []).append(quota)
    days, over = {}, {}
    for row in _grouped_responses(survey_round, strata):
        path, day, over_quota, excluded, values, count = row[0], row[1], row[2], row[3], row[4:-1], row[-1]
        if excluded and not over_quota:
            continue
        answers = {item: options[item][v - 1] for item, v in zip(strata, values, strict=True) if v}
        for ancestor in Unit(path=path).ancestor_paths():
            for quota in by_path.get(ancestor, ()):
                if quota.stratum_item and answers.get(quota.stratum_item) != quota.stratum_value:
                    continue
                if over_quota:
                    over[quota.pk] = over.get(quota.pk, 0) + count
                else:
                    days[(quota.pk, day)] = days.get((quota.pk, day), 0) + count
    totals = {}
    for (quota_id, _day), count in days.items():
        totals[quota_id] = totals.get(quota_id, 0) + count
    too_many = [q for q in quotas if totals.get(q.pk, 0) > q.target]
    if too_many:
        raise QuotaError(_("more in-quota responses than the target for: %(quotas)s"),
                         quotas=", ".join(map(str, too_many)))
    for quota in quotas:
        quota.filled, quota.over = totals.get(quota.pk, 0), over.get(quota.pk, 0)
    Quota.objects.bulk_update(quotas, ["filled", "over"], batch_size=1000)
    QuotaDay.objects.filter(quota__round=survey_round).delete()
    QuotaDay.objects.bulk_create(
        [QuotaDay(quota_id=q, day=d, responses=n) for (q, d), n in days.items()], batch_size=2000
    )
    return len(quotas)
