"""Reads for the department heads' score pages (and the exports), from the stored score tables.

Each function runs a fixed, small number of queries whatever the number of units:

- ``get_round_for_scores(user, round_id, capability=access.SCORES) -> Round``: the round (with its
  unit and questionnaire) or Http404; ``scope_paths`` as ``fieldwork.selectors.get_round_for_user``.
- ``get_unit_in_round(user, survey_round, code, capability=access.SCORES) -> Unit``: a unit inside
  the round's subtree the user may see, or Http404 (1-2 queries).
- ``unit_score(*, survey_round, unit) -> UnitScore | None`` (1 query, with its run).
- ``child_scores(*, survey_round, unit) -> list[tuple[Unit, UnitScore | None]]``: the direct
  sub-units that existed during the round (or have a score in it), ranked units first in rank
  order, then units with too few responses (most responses first), then units without a score
  (2 queries).
- ``sibling_scores(*, survey_round, unit) -> list[dict]``: the unit and its siblings in the round,
  headline and rank only (``unit``, ``n``, ``enough``, ``headline``, ``rank``, ``rank_of``,
  ``current``), in rank order; [] for the round's own unit (2 queries).
- ``trend(*, survey_round, unit) -> list[dict]``: the unit's headline per round of the same
  questionnaire family, up to this round, oldest first (``round``, ``label``, ``headline``,
  ``low``, ``high``, ``n``, ``enough``, ``current``) (1 query).
- ``labels(survey_round, language) -> dict``: texts from the round's questionnaire definition:
  ``headline`` (what the headline is called), ``headline_method``, ``items`` {code: text},
  ``general_items`` {factor: code}, ``factors`` {code: label}, ``factor_items`` {factor: [codes]},
  ``indicators`` {code: {"text", "options": {code: label}}}, ``expectations`` {code: label},
  ``min_responses`` (no query).
- ``last_run(*, survey_round) -> ScoreRun | None`` and ``last_done_run(*, survey_round)`` (1 query each).
- ``round_sources(*, survey_round, unit) -> dict``: where the round's responses come from, for the
  round overview: the unit's stored score and its direct sub-units' stored ``n`` (2 queries).
- ``rounds_with_scores(user) -> list[dict]``: the rounds a user may see scores or the overview
  of, with the units where their roles start (3 queries).
"""

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext as _

from fieldwork.models import Round
from fieldwork.selectors import get_round_for_user
from questionnaires.definition import YESNO
from scoring.models import ScoreRun, UnitScore
from units import access
from units.models import Role, Unit

# ---------------------------------------------------------------------------------------------
# Lookups that check permission


def get_round_for_scores(user, round_id, capability=access.SCORES) -> Round:
    """The round, if the user holds the capability on its unit or on a unit inside it; else 404."""
    return get_round_for_user(user, round_id, capability)


def get_unit_in_round(user, survey_round: Round, code: str, capability=access.SCORES) -> Unit:
    """A unit of the round's subtree the user may see for the capability; Http404 otherwise."""
    unit = Unit.objects.select_related("parent").filter(code=code).first()
    if unit is None or not unit.path.startswith(survey_round.unit.path):
        raise Http404("No such unit in this round.")
    if not any(unit.path.startswith(path) for path in getattr(survey_round, "scope_paths", [])):
        access.check_unit_access(user, unit, capability)
    return unit


# ---------------------------------------------------------------------------------------------
# Scores


def unit_score(*, survey_round: Round, unit: Unit) -> UnitScore | None:
    """The unit's stored score in the round, with its run; None when none is stored."""
    return UnitScore.objects.select_related("run").filter(round=survey_round, unit=unit).first()


def _round_days(survey_round: Round):
    start = survey_round.period_start or (survey_round.opened_at or survey_round.created_at).date()
    end = survey_round.period_end or (survey_round.closed_at.date() if survey_round.closed_at else None)
    return start, end


def _existed_during(survey_round: Round) -> Q:
    start, end = _round_days(survey_round)
    condition = Q(valid_to__isnull=True) | Q(valid_to__gte=start)
    if end is not None:
        condition &= Q(valid_from__isnull=True) | Q(valid_from__lte=end)
    return condition


def _rank_key(pair):
    unit, score = pair
    if score is None:
        return (3, 0, 0, unit.code)
    if not score.enough or score.rank is None:
        return (2, 0, -score.n, unit.code)
    return (1, score.rank, -(score.headline or 0), unit.code)


def child_scores(*, survey_round: Round, unit: Unit) -> list[tuple[Unit, UnitScore | None]]:
    """Direct sub-units of the unit in the round, each with its stored score or None: ranked units
    by rank, then units with too few responses, then units without a score. Two queries."""
    scores = {s.unit_id: s for s in UnitScore.objects.filter(round=survey_round, unit__parent=unit)}
    units = Unit.objects.filter(parent=unit).filter(_existed_during(survey_round) | Q(pk__in=list(scores)))
    return sorted(((u, scores.get(u.pk)) for u in units), key=_rank_key)


def sibling_scores(*, survey_round: Round, unit: Unit) -> list[dict]:
    """The unit and its siblings in the round, with only what a comparison needs: headline and rank.

    Empty for the round's own unit (its siblings are outside the round). Two queries."""
    if unit.pk == survey_round.unit_id or unit.parent_id is None:
        return []
    scores = {s["unit_id"]: s for s in UnitScore.objects.filter(round=survey_round, unit__parent_id=unit.parent_id)
              .values("unit_id", "n", "enough", "headline", "rank", "rank_of")}
    units = Unit.objects.filter(parent_id=unit.parent_id).filter(
        _existed_during(survey_round) | Q(pk__in=list(scores)))
    rows = []
    for sibling in units:
        score = scores.get(sibling.pk) or {}
        rows.append({
            "unit": sibling, "current": sibling.pk == unit.pk, "n": score.get("n"),
            "enough": bool(score.get("enough")), "headline": score.get("headline") if score.get("enough") else None,
            "rank": score.get("rank"), "rank_of": score.get("rank_of"), "scored": bool(score),
        })
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, not r["scored"], -(r["n"] or 0), r["unit"].code))
    return rows


def _started():
    return Coalesce("round__opened_at", "round__created_at")


def trend(*, survey_round: Round, unit: Unit) -> list[dict]:
    """The unit's headline in every round of this round's questionnaire family up to this one,
    oldest first. One query."""
    this_start = survey_round.opened_at or survey_round.created_at
    scores = (UnitScore.objects.filter(unit=unit, round__questionnaire__family=survey_round.questionnaire.family)
              .annotate(started=_started())
              .filter(Q(started__lt=this_start) | Q(started=this_start, round_id__lte=survey_round.pk))
              .select_related("round").order_by("started", "round_id"))
    return [{
        "round": s.round, "label": s.round.name, "current": s.round_id == survey_round.pk,
        "headline": s.headline, "low": s.headline_low, "high": s.headline_high, "n": s.n, "enough": s.enough,
    } for s in scores]


# ---------------------------------------------------------------------------------------------
# Questionnaire labels


def _text(value, language):
    if isinstance(value, dict):
        return value.get(language) or value.get("vi") or ""
    return str(value or "")


def headline_label(definition_doc) -> str:
    """What the headline is called: the SIPAS index when it is the overall item, the services index
    when it is the mean of the service factors (the 2023 method's services block)."""
    if definition_doc["scoring"]["headline"]["method"] == "mean_of_factors":
        return _("Services index")
    return _("SIPAS index")


def labels(survey_round: Round, language: str) -> dict:
    """Item, factor, indicator and expectation labels of the round's questionnaire, in the language."""
    definition = survey_round.questionnaire.parsed
    doc = definition.doc
    scoring = doc["scoring"]
    by_code = definition.by_code

    def options(item):
        if item["kind"] == "yesno":
            return {code: _text(label, language) for code, label in YESNO}
        return {o["code"]: _text(o["label"], language) for o in item.get("options", [])}

    expectations = by_code.get(doc.get("expectations")) if doc.get("expectations") else None
    return {
        "headline": headline_label(doc),
        "headline_method": scoring["headline"]["method"],
        "min_responses": scoring["min_responses"],
        "items": {item["code"]: _text(item["text"], language) for item in definition.items},
        "factors": {f["code"]: _text(f["label"], language) for f in doc.get("factors", [])},
        "factor_items": {code: list(spec["items"]) for code, spec in scoring["factors"].items()},
        "general_items": {code: spec.get("general_item") for code, spec in scoring["factors"].items()
                          if spec.get("general_item")},
        "indicators": {code: {"text": _text(by_code[code]["text"], language), "options": options(by_code[code]),
                              "kind": by_code[code]["kind"]}
                       for code in doc.get("indicators", [])},
        "expectations": options(expectations) if expectations else {},
    }


# ---------------------------------------------------------------------------------------------
# Runs and the round overview


def last_run(*, survey_round: Round) -> ScoreRun | None:
    """The round's most recent score run, whatever its state."""
    return ScoreRun.objects.filter(round=survey_round).order_by("-created_at", "-pk").first()


def last_done_run(*, survey_round: Round) -> ScoreRun | None:
    return ScoreRun.objects.filter(round=survey_round, status=ScoreRun.Status.DONE).order_by(
        "-finished_at", "-pk").first()


def round_sources(*, survey_round: Round, unit: Unit) -> dict:
    """Where the round's responses come from, under the unit: the stored n of the unit and of each
    direct sub-unit (pooled over its subtree), with shares. Two queries."""
    children = child_scores(survey_round=survey_round, unit=unit)
    total = sum(score.n for _unit, score in children if score is not None)
    rows = [{"unit": child, "score": score, "n": score.n if score else 0,
             "share": (100.0 * score.n / total) if score and total else None}
            for child, score in children]
    rows.sort(key=lambda r: (-r["n"], r["unit"].code))
    return {"rows": rows, "total": total}


def rounds_with_scores(user) -> list[dict]:
    """Rounds whose scores (or overview) the user may open, newest first, each with the units where
    the user's roles start inside it (their entry points) and whether they may see scores there."""
    if not user.is_authenticated or not user.is_active:
        return []
    kinds = access.ROLES_WITH[access.OVERVIEW]
    if user.is_superuser:
        roles = []  # a superuser starts at every round's unit
    else:
        roles = [(role.unit, role.kind) for role in
                 Role.objects.filter(user=user, kind__in=kinds).select_related("unit").order_by("unit__path")]
        if not roles:
            return []
    rounds = Round.objects.exclude(status=Round.Status.DRAFT).select_related("unit", "questionnaire")
    if not user.is_superuser:
        condition = Q()
        for unit, _kind in roles:
            condition |= Q(unit__path__startswith=unit.path) | Q(unit__path__in=unit.ancestor_paths())
        rounds = rounds.filter(condition)
    rounds = list(rounds.order_by("-created_at", "-pk"))
    scored = set(UnitScore.objects.filter(round__in=rounds, unit_id__in={r.unit_id for r in rounds})
                 .values_list("round_id", flat=True))
    result = []
    for survey_round in rounds:
        entries = _entries(user, survey_round, roles)
        if entries:
            result.append({"round": survey_round, "entries": entries, "scored": survey_round.pk in scored})
    return result


def _entries(user, survey_round, roles):
    """The units where the user enters this round: the round's unit when a role covers it, else the
    units of their roles inside it. Each as {"unit", "scores": may see scores, "overview": True}."""
    if user.is_superuser:
        return [{"unit": survey_round.unit, "scores": True}]
    top = survey_round.unit
    above = [kind for unit, kind in roles if top.path.startswith(unit.path)]
    if above:
        return [{"unit": top, "scores": any(k in access.ROLES_WITH[access.SCORES] for k in above)}]
    inside = {}
    for unit, kind in roles:
        if unit.path.startswith(top.path):
            entry = inside.setdefault(unit.pk, {"unit": unit, "scores": False})
            entry["scores"] = entry["scores"] or kind in access.ROLES_WITH[access.SCORES]
    return list(inside.values())
