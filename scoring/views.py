"""Department heads' score pages (issue 6): the rounds a user can see, a round's overview (where
responses come from, freshness, recompute), and a unit's page for a round. Figures come from the
stored score tables only (scoring.selectors); a page runs a fixed number of queries."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fieldwork.selectors import get_round_for_user
from scoring import charts, selectors
from scoring.integrity import headline_without_flagged
from scoring.services import score_run_request
from units import access

MAX_CHART_ROWS = 40  # sub-units drawn in the round overview's chart


@login_required
@require_GET
def scores_home(request):
    """The rounds whose scores (or overview) the user may open, with where they enter each."""
    return render(request, "scoring/home.html", {"rounds": selectors.rounds_with_scores(request.user)})


def _overview_unit(request, survey_round):
    """The unit the overview is about: ?unit=CODE inside the user's part of the round, else the
    round's unit (or, for someone working on part of it, the first unit of their part)."""
    code = request.GET.get("unit")
    if code:
        return selectors.get_unit_in_round(request.user, survey_round, code, access.OVERVIEW)
    if survey_round.whole_scope:
        return survey_round.unit
    first_code = survey_round.scope_paths[0].strip("/").split("/")[-1]
    return selectors.get_unit_in_round(request.user, survey_round, first_code, access.OVERVIEW)


@login_required
@require_GET
def round_overview(request, round_id):
    survey_round = selectors.get_round_for_scores(request.user, round_id, access.OVERVIEW)
    unit = _overview_unit(request, survey_round)
    context = selectors.overview(survey_round=survey_round, unit=unit, user=request.user)
    rows = context["sources"]["rows"]
    if 1 < len(rows) <= MAX_CHART_ROWS:  # beyond that the table says it better
        context["chart"] = charts.bar_chart_svg(
            [{"label": _("%(unit)s itself") % {"unit": r["unit"].name} if r["own"] else r["unit"].name,
              "value": r["n"] or None, "muted": not r["enough"] and not r["own"], "note": r["reason"]}
             for r in rows],
            max_value=max(r["n"] for r in rows) or 1, unit="", decimals=0, title=_("Valid responses by unit"))
    return render(request, "scoring/round_overview.html", context)


@login_required
@require_POST
def recompute(request, round_id):
    """Queue a recompute of the round (officers and administrators of the round's unit)."""
    survey_round = get_round_for_user(request.user, round_id, access.FIELDWORK, whole=True)
    _run, queued = score_run_request(round_id=survey_round.pk, reason="page")
    if not queued:
        messages.info(request, _("A recompute is already queued; it will include every response received so far."))
    else:
        messages.success(request, _("Recompute queued. This page follows its progress."))
    return redirect("scores-round", survey_round.pk)


@login_required
@require_GET
def run_status(request, round_id):
    """The state of the round's last score run, polled by the overview page."""
    survey_round = selectors.get_round_for_scores(request.user, round_id, access.OVERVIEW)
    body = selectors.run_status(survey_round=survey_round,
                                with_error=access.user_can(request.user, survey_round.unit, access.FIELDWORK))
    response = JsonResponse(body)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def unit_page(request, round_id, unit_code):
    survey_round = selectors.get_round_for_scores(request.user, round_id)
    unit = selectors.get_unit_in_round(request.user, survey_round, unit_code)
    context = selectors.unit_page(survey_round=survey_round, unit=unit, language=get_language(),
                                  sort=request.GET.get("sort", "rank"), by=request.GET.get("by", ""))
    context.update(_unit_charts(context))
    context["integrity"] = headline_without_flagged(survey_round=survey_round, unit=unit, score=context["score"])
    return render(request, "scoring/unit_page.html", context)


def _unit_charts(context) -> dict:
    texts = context["labels"]
    charts_ = {"trend_chart": charts.trend_chart_svg(
        [{"label": p["label"], "value": p["headline"] if p["enough"] else None, "muted": not p["enough"],
          "note": p["reason"]}
         for p in context["trend"]],
        title=_("%(index)s by round") % {"index": texts["headline"]})}
    if context["enough"]:
        charts_["factor_chart"] = charts.bar_chart_svg(
            [{"label": f"{r['code']} · {r['label']}", "value": r["value"], "marker": r["general_rate"]}
             for r in context["factors"]], title=_("Factor indices"))
    return charts_
