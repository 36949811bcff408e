"""The league table of a round: every block's units in their places (``scoring.ranking.league``),
for heads and administrators of the round (someone with the capability on part of the round sees
only that part's units, with their places among the whole block). Sorted on the server (``?sort=``
index, change or name), so the table reads the same without a script."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from scoring import ranking, selectors, wording
from units import access

SORTS = ("index", "change", "name")


def _sorted(rows, sort):
    if sort == "name":
        return sorted(rows, key=lambda row: (wording.name_key(row[0].unit.name), row[0].unit.code))
    if sort == "change":
        # biggest climb first; units without a change (new to the block, withheld) last, in rank order
        return sorted(rows, key=lambda row: (row[1].change_places is None, -(row[1].change_places or 0),
                                             row[1].rank is None, row[1].rank or 0, row[0].unit.code))
    return rows  # ranking.league's order: by rank, withheld units last


@login_required
@require_GET
def league(request, round_id):
    survey_round = selectors.get_round_for_scores(request.user, round_id, access.SCORES)
    sort = request.GET.get("sort")
    sort = sort if sort in SORTS else "index"
    minimum = survey_round.questionnaire.min_responses
    tables = []
    for block in ranking.league(survey_round, None if survey_round.whole_scope else survey_round.scope_paths):
        rows = [{"unit": score.unit, "score": score, "place": place,
                 "rank": wording.block_rank(place.rank, place.rank_of, block.key),
                 "short": wording.rank_short(place.rank, place.rank_of),  # "3/64" on a phone
                 "places": wording.places(place.change_places),
                 "points": wording.signed(score.change_points) if score.enough else "",
                 "reason": "" if score.enough else wording.withheld_reason(score.n, minimum, score.withheld)}
                for score, place in _sorted(block.rows, sort)]
        tables.append({"block": block, "rows": rows})
    return render(request, "scoring/league.html", {"round": survey_round, "tables": tables, "sort": sort,
                                                   "sorts": SORTS})
