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
- ``run_status(*, survey_round, with_error) -> dict``: the last run's state for the status JSON.
- ``overview(*, survey_round, unit, user) -> dict`` and ``unit_page(*, survey_round, unit,
  language, sort, by) -> dict``: everything the round overview and the unit page show (7 and 8 queries;
  the unit page of a unit with figures 2 more for its place in its block, as kept for the last runs:
  ``scoring.ranking.block_place``; one more for a breakdown, ``breakdown_section``).
- Rows for tables: ``child_rows``, ``sort_children``, ``item_rows`` (weakest first),
  ``factor_rows``, ``indicator_rows``, ``expectation_rows``. Their texts (rank and change, why
  figures are withheld, numbers, the language) are ``scoring.wording``'s.

Figures of units below the version's minimum number of responses are never handed to a page:
rows carry ``enough`` and a ``reason`` instead.
"""

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext as _

from fieldwork.models import Round
from fieldwork.selectors import get_round_for_user
from questionnaires.definition import YESNO
from scoring import breakdowns, ranking, wording
from scoring.models import ApiToken, ScoreRun, UnitScore
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


def _rank_key(pair):
    unit, score = pair
    if score is None:
        return (3, 0, 0, unit.code)
    if not score.enough or score.rank is None:
        return (2, 0, -score.n, unit.code)
    return (1, score.rank, -(score.headline or 0), unit.code)


def children_in_round(*, survey_round: Round, unit: Unit) -> tuple[list[tuple[Unit, UnitScore | None]], list[Unit]]:
    """Direct sub-units of the unit in the round, each with its stored score or None (ranked units by
    rank, then units with too few responses, then units without a score), and the sub-units left
    out: those that did not exist during the round (merged away before it began) and have no score
    in it. Two queries."""
    scores = {s.unit_id: s for s in UnitScore.objects.filter(round=survey_round, unit__parent=unit)}
    listed, left_out = [], []
    for child in Unit.objects.filter(parent=unit).order_by("path"):
        if child.pk in scores or survey_round.has_unit_open(child):
            listed.append((child, scores.get(child.pk)))
        else:
            left_out.append(child)
    return sorted(listed, key=_rank_key), left_out


def child_scores(*, survey_round: Round, unit: Unit) -> list[tuple[Unit, UnitScore | None]]:
    """The sub-units of ``children_in_round``, without those left out. Two queries."""
    return children_in_round(survey_round=survey_round, unit=unit)[0]


def sibling_scores(*, survey_round: Round, unit: Unit) -> list[dict]:
    """The unit and its siblings in the round, with only what a comparison needs: headline and rank.

    Empty for the round's own unit (its siblings are outside the round). Two queries."""
    if unit.pk == survey_round.unit_id or unit.parent_id is None:
        return []
    scores = {s["unit_id"]: s for s in UnitScore.objects.filter(round=survey_round, unit__parent_id=unit.parent_id)
              .values("unit_id", "n", "enough", "withheld", "headline", "rank", "rank_of")}
    units = Unit.objects.filter(parent_id=unit.parent_id).filter(survey_round.units_open() | Q(pk__in=list(scores)))
    rows = []
    for sibling in units:
        score = scores.get(sibling.pk) or {}
        rows.append({
            "unit": sibling, "current": sibling.pk == unit.pk, "n": score.get("n"),
            "enough": bool(score.get("enough")), "headline": score.get("headline") if score.get("enough") else None,
            "rank": score.get("rank"), "rank_of": score.get("rank_of"), "scored": bool(score),
            "withheld": score.get("withheld", ""),
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
        "headline": s.headline if s.enough else None, "low": s.headline_low if s.enough else None,
        "high": s.headline_high if s.enough else None, "n": s.n, "enough": s.enough, "withheld": s.withheld,
    } for s in scores]


# ---------------------------------------------------------------------------------------------
# Questionnaire labels


def headline_label(definition_doc) -> str:
    """What the headline is called: the SIPAS index when it is the overall item, the services index
    when it is the mean of the service factors (the 2023 method's services block)."""
    if definition_doc["scoring"]["headline"]["method"] == "mean_of_factors":
        return _("Services index")
    return _("SIPAS index")


def labels(survey_round: Round, language: str) -> dict:
    """Item, factor, indicator and expectation labels of the round's questionnaire, in the language
    ("vi", "en"; a regional variant such as "en-gb" reads as its language, anything else as vi)."""
    language = wording.language_of(language or "vi")
    definition = survey_round.questionnaire.parsed
    doc = definition.doc
    scoring = doc["scoring"]
    by_code = definition.by_code

    def options(item):
        if item["kind"] == "yesno":
            return {code: wording.text_in(label, language) for code, label in YESNO}
        return {o["code"]: wording.text_in(o["label"], language) for o in item.get("options", [])}

    expectations = by_code.get(doc.get("expectations")) if doc.get("expectations") else None
    return {
        "headline": headline_label(doc),
        "headline_method": scoring["headline"]["method"],
        "min_responses": scoring["min_responses"],
        "items": {item["code"]: wording.text_in(item["text"], language) for item in definition.items},
        "factors": {f["code"]: wording.text_in(f["label"], language) for f in doc.get("factors", [])},
        "factor_items": {code: list(spec["items"]) for code, spec in scoring["factors"].items()},
        "general_items": {code: spec.get("general_item") for code, spec in scoring["factors"].items()
                          if spec.get("general_item")},
        "indicators": {code: {"text": wording.text_in(by_code[code]["text"], language),
                              "options": options(by_code[code]), "kind": by_code[code]["kind"]}
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


def round_sources(*, survey_round: Round, unit: Unit, score: UnitScore | None = None) -> dict:
    """Where the round's responses come from, under the unit: the stored n of each direct sub-unit
    (pooled over its subtree), most first, with its share; and, given the unit's own ``score``, the
    forms collected at the unit itself (its n less its sub-units'), so that the rows add up to the
    unit's n. Counts, not rates: shown also for units with too few responses, with the reason.
    Two queries."""
    minimum = survey_round.questionnaire.min_responses
    children = child_scores(survey_round=survey_round, unit=unit)
    below = sum(child_score.n for _unit, child_score in children if child_score is not None)
    own = max(score.n - below, 0) if score is not None else 0
    total = below + own
    rows = [{"unit": child, "score": child_score, "n": child_score.n if child_score else 0, "own": False,
             "enough": bool(child_score and child_score.enough),
             "share": (100.0 * child_score.n / total) if child_score and total else None,
             "reason": "" if child_score and child_score.enough else (
                 wording.withheld_reason(child_score.n, minimum, child_score.withheld) if child_score
                 else wording.no_responses())}
            for child, child_score in children]
    if own:
        rows.append({"unit": unit, "score": None, "n": own, "own": True, "enough": False,
                     "share": 100.0 * own / total, "reason": wording.collected_at_the_unit()})
    rows.sort(key=lambda r: (-r["n"], r["own"], r["unit"].code))
    return {"rows": rows, "total": total, "own": own, "below": below}


def run_status(*, survey_round: Round, with_error: bool) -> dict:
    """The state of the round's last score run, for the overview's progress (one query). The error
    text only for those who run the fieldwork; the round's response count only for those who see
    the whole round."""
    run = last_run(survey_round=survey_round)
    if run is None:
        return {"status": "none", "active": False, "units_done": 0, "units_total": 0}
    body = {"status": run.status, "active": run.status in (ScoreRun.Status.QUEUED, ScoreRun.Status.RUNNING),
            "units_done": run.units_done, "units_total": run.units_total, "run": run.pk,
            "created_at": run.created_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "responses_used": run.responses_used if getattr(survey_round, "whole_scope", True) else None}
    if with_error and run.status == ScoreRun.Status.FAILED:
        body["error"] = run.error
    return body


def overview(*, survey_round: Round, unit: Unit, user) -> dict:
    """The round overview at a unit: freshness of the scores, the last run, where responses come
    from. A fixed number of queries (7) whatever the number of units."""
    can_recompute = access.user_can(user, survey_round.unit, access.FIELDWORK)
    score = unit_score(survey_round=survey_round, unit=unit)
    last_done = last_done_run(survey_round=survey_round)
    if score is not None:
        responses = score.n
    else:  # the round's count only for those who see the whole round
        whole = getattr(survey_round, "whole_scope", True)
        responses = (last_done.responses_used or 0) if last_done and whole else 0
    return {
        "survey_round": survey_round, "unit": unit, "score": score, "responses": responses,
        "last_run": last_run(survey_round=survey_round), "last_done": last_done,
        "sources": round_sources(survey_round=survey_round, unit=unit, score=score),
        "can_recompute": can_recompute, "show_error": can_recompute,
        "can_see_scores": access.user_can(user, unit, access.SCORES),
        "min_responses": survey_round.questionnaire.min_responses,
    }


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


# ---------------------------------------------------------------------------------------------
# The unit page

SORT_KEYS = ("rank", "name", "index", "n", "change")  # and factor codes


def _sort_value(row, key):
    if key == "name":
        return wording.name_key(row["unit"].name)
    if key == "n":
        return row["n"]
    if key == "index":
        return row["headline"]
    if key == "change":
        return row["change_points"]
    if key == "rank":
        return row["rank"]
    return row["factors"].get(key)


def sort_children(rows, sort: str, factor_codes) -> tuple[list[dict], str]:
    """Rows sorted by ``sort`` ("index", "-index", "F1", ...; unknown: by rank). Units without
    figures to show (too few responses, no score) stay last in name order whatever the key: sorting
    them by figures we do not print would give those figures away."""
    key = sort.lstrip("-")
    if key not in SORT_KEYS and key not in factor_codes:
        sort, key = "rank", "rank"
    shown = [r for r in rows if r["enough"]]
    hidden = sorted((r for r in rows if not r["enough"]), key=lambda r: (r["scored"] is False, r["unit"].code))
    with_value = [r for r in shown if _sort_value(r, key) is not None]
    without = [r for r in shown if _sort_value(r, key) is None]
    # rank, name: ascending by default; figures: highest first
    descending = (key not in ("rank", "name")) != sort.startswith("-")
    with_value.sort(key=lambda r: (_sort_value(r, key), r["unit"].code), reverse=descending)
    return with_value + without + hidden, sort


def sort_headers(sort: str, texts: dict) -> list[dict]:
    """The sub-units table's column headers: each links to its sort (again: the other direction)."""
    columns = [("name", _("Unit"), False, ""), ("index", texts["headline"], True, "")]
    columns += [(code, code, True, label) for code, label in texts["factors"].items()]
    columns += [("n", "n", True, _("Responses")), ("rank", _("Rank"), True, ""), ("change", _("Change"), True, "")]
    headers = []
    for key, label, numeric, title in columns:
        ascending_first = key in ("rank", "name")
        current = sort.lstrip("-") == key
        ascending = ascending_first != sort.startswith("-") if current else None
        headers.append({
            "key": key, "label": label, "numeric": numeric, "title": title,
            "param": ("-" + key) if current and not sort.startswith("-") else key,
            "aria": None if ascending is None else ("ascending" if ascending else "descending"),
        })
    return headers


def child_rows(children, minimum) -> list[dict]:
    """Rows of the sub-units table from ``child_scores``; figures only for units with enough responses."""
    rows = []
    for unit, score in children:
        enough = bool(score and score.enough)
        rows.append({
            "unit": unit, "scored": score is not None, "enough": enough, "n": score.n if score else 0,
            "headline": score.headline if enough else None,
            "factors": {code: f.get("value") for code, f in score.factors.items()} if enough else {},
            "rank": score.rank if enough else None,
            "rank_text": wording.rank(score.rank, score.rank_of) if enough else "",
            "change_points": score.change_points if enough else None,
            "change_text": wording.change(score.change_points, score.change_places) if enough else "",
            "reason": (wording.withheld_reason(score.n, minimum, score.withheld) if score else wording.no_responses())
            if not enough else "",
        })
    return rows


def item_rows(score: UnitScore, texts: dict) -> list[dict]:
    """The criteria (the items factors are made of), weakest first; items without a rate last."""
    rows = []
    for factor, codes in texts["factor_items"].items():
        for code in codes:
            item = score.items.get(code) or {}
            rows.append({"code": code, "factor": factor, "text": texts["items"].get(code, code),
                         "n": item.get("n", 0), "satisfied": item.get("satisfied", 0), "rate": item.get("rate"),
                         "ci": item.get("ci")})
    rows.sort(key=lambda r: (r["rate"] is None, r["rate"] if r["rate"] is not None else 0, r["code"]))
    return rows


def factor_rows(score: UnitScore, texts: dict) -> list[dict]:
    rows = []
    for code, label in texts["factors"].items():
        factor = score.factors.get(code) or {}
        general = factor.get("general") or {}
        rows.append({"code": code, "label": label, "value": factor.get("value"), "n": factor.get("n"),
                     "general_rate": general.get("rate"), "general_n": general.get("n"),
                     "general_ci": general.get("ci")})
    return rows


def indicator_rows(score: UnitScore, texts: dict) -> list[dict]:
    """Perception indicators in definition order, each with the shares of the options someone chose,
    largest first."""
    rows = []
    for code, spec in texts["indicators"].items():
        shares = score.indicators.get(code) or {}
        options = [{"code": option, "label": label, "share": shares.get(option)}
                   for option, label in spec["options"].items() if shares.get(option)]
        options.sort(key=lambda o: -o["share"])  # stable: ties keep the questionnaire's order
        rows.append({"code": code, "text": spec["text"], "n": shares.get("n", 0),
                     "multiple": spec["kind"] == "multiple", "options": options})
    return rows


def expectation_rows(score: UnitScore, texts: dict) -> list[dict]:
    """What citizens most want improved, most chosen first; options nobody chose are left out."""
    return [{"code": e["code"], "label": texts["expectations"].get(e["code"], e["code"]), "count": e["count"],
             "share": e["share"]} for e in score.expectations if e.get("count")]


def _in_scope(survey_round, unit):
    return any(unit.path.startswith(path) for path in getattr(survey_round, "scope_paths", [survey_round.unit.path]))


def breadcrumb(*, survey_round: Round, unit: Unit) -> list[dict]:
    """The units from the round's unit down to this one's parent, each linked only when it lies in
    the user's part of the round (one query; none for the round's unit)."""
    paths = [p for p in unit.ancestor_paths()[:-1] if p.startswith(survey_round.unit.path)]
    if not paths:
        return []
    return [{"unit": u, "link": _in_scope(survey_round, u)} for u in Unit.objects.filter(path__in=paths)]


def block_rank_texts(survey_round: Round, unit: Unit, enough: bool) -> dict:
    """The unit's place in its block as the pages write it: ``block_rank_text`` ("3rd of 64 communes
    and wards"; "" when the unit is not ranked in a block) and ``block_change_text`` ("up 2 places"
    in the same block since the previous round; "" when there is nothing to compare)."""
    ranked = enough and unit.pk != survey_round.unit_id  # the round's own unit is in no block
    place = ranking.block_place(survey_round, unit) if ranked else None
    if place is None or place.rank is None:
        return {"block_rank_text": "", "block_change_text": ""}
    return {"block_rank_text": wording.block_rank(place.rank, place.rank_of, place.block),
            "block_change_text": wording.places(place.change_places)}


def breakdown_section(*, survey_round: Round, unit: Unit, score: UnitScore | None, texts: dict, by: str,
                      language: str) -> dict:
    """The unit page's breakdown: the choices (the round's questionnaire's breakdowns), and for the
    chosen one (``by``; "" none) its cells and the figures as rows, or the error naming a bad
    ``by``. One query when a breakdown is chosen, none otherwise."""
    section = {"choices": breakdowns.available(survey_round), "selected": "", "error": "", "table": None}
    if not by:
        return section
    try:
        table = breakdowns.unit_breakdown(survey_round=survey_round, unit=unit, key=by, language=language,
                                          unit_shown=bool(score and score.enough))
    except breakdowns.BreakdownError as error:
        section["error"] = str(error)
        return section
    section.update(selected=table.dimension.key, table=table, rows=table.rows(texts),
                   withheld=sum(1 for cell in table.cells if cell.figures is None))
    return section


def channel_cells(*, survey_round: Round, unit: Unit, score: UnitScore | None, language: str) -> list:
    """The unit's collection-channel cells (``scoring.breakdowns``) when its responses came by more
    than one channel: the desk figure beside the at-home one, under the headline. One query."""
    if score is None:
        return []
    table = breakdowns.unit_breakdown(survey_round=survey_round, unit=unit, key="collection_channel",
                                      language=language, unit_shown=score.enough)
    return table.cells if len([cell for cell in table.cells if cell.n]) > 1 else []


def unit_page(*, survey_round: Round, unit: Unit, language: str, sort: str = "rank", by: str = "") -> dict:
    """Everything the unit page shows, from the stored scores: 8 queries whatever the number of
    units (score, 2 for the sub-units, 2 for the siblings, the trend, the breadcrumb, the
    collection-channel cells), and one for a chosen breakdown (``by``)."""
    texts = labels(survey_round, language)
    score = unit_score(survey_round=survey_round, unit=unit)
    enough = bool(score and score.enough)
    listed, left_out = children_in_round(survey_round=survey_round, unit=unit)
    children, sort = sort_children(child_rows(listed, texts["min_responses"]), sort, texts["factors"])
    for row in children:
        row["factor_cells"] = [(code, row["factors"].get(code)) for code in texts["factors"]]
    siblings = sibling_scores(survey_round=survey_round, unit=unit)
    for row in siblings:
        row["rank_text"] = wording.rank(row["rank"], row["rank_of"]) if row["enough"] else ""
        row["reason"] = "" if row["enough"] else (
            wording.withheld_reason(row["n"], texts["min_responses"], row["withheld"]) if row["scored"]
            else wording.no_responses())
    return {
        "survey_round": survey_round, "unit": unit, "score": score, "labels": texts, "enough": enough,
        "approximate_ci": texts["headline_method"] == "mean_of_factors",
        "reason": "" if enough else (wording.withheld_sentence(score.n, texts["min_responses"], score.withheld)
                                     if score else wording.not_computed()),
        "rank_text": wording.rank(score.rank, score.rank_of) if enough else "",
        "change_text": wording.change(score.change_points, score.change_places) if enough else "",
        **block_rank_texts(survey_round, unit, enough),
        "factors": factor_rows(score, texts) if enough else [],
        "items": item_rows(score, texts) if enough else [],
        "indicators": indicator_rows(score, texts) if enough else [],
        "expectations": expectation_rows(score, texts) if enough else [],
        "trend": [{**point, "reason": "" if point["enough"] else wording.withheld_reason(
                       point["n"], texts["min_responses"], point["withheld"])}
                  for point in trend(survey_round=survey_round, unit=unit)],
        "children": children, "children_left_out": left_out,
        "children_withheld": sum(1 for row in children if not row["enough"]),
        "sort": sort, "factor_codes": list(texts["factors"]),
        "sort_headers": sort_headers(sort, texts),
        "siblings": siblings, "breadcrumb": breadcrumb(survey_round=survey_round, unit=unit),
        "breakdown": breakdown_section(survey_round=survey_round, unit=unit, score=score, texts=texts, by=by,
                                       language=language),
        "channels": channel_cells(survey_round=survey_round, unit=unit, score=score, language=language),
    }


def api_tokens_managed_by(user):
    """The read-API tokens the user may see and revoke: their own; an administrator's also those of
    the users holding a role inside their units (not superusers'); a superuser's, all. Newest first."""
    tokens = ApiToken.objects.select_related("user", "revoked_by").order_by("-created_at", "-pk")
    if user.is_superuser:
        return tokens
    units = access.visible_units(user, access.ADMINISTER)
    colleagues = Role.objects.filter(unit__in=units, user__is_superuser=False).values("user")
    return tokens.filter(Q(user=user) | Q(user__in=colleagues))
