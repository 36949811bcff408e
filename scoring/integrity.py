"""A unit's headline with and without the responses fieldwork's integrity checks flagged
(fieldwork.integrity: bursts, runs of identical or all-top answers, outside opening hours, more
responses than dossiers). Flagged responses are few and counts add up, so the figure without them
is made from the unit's stored counts (``UnitCounts``, its whole subtree) minus the counts of its
flagged responses, counted by the same SQL as every count (``Counters.full_sql``), with the
version's own formulas (``Figures``). Nothing is excluded: the page shows both figures when the one
without the flagged responses lies outside the headline's 95 % interval.

Between score runs the stored counts lag the responses: only flagged responses received before the
unit's figures were computed are taken out, so the two figures count the same responses (a flagged
response excluded since then is still in the stored counts and is not taken out)."""

from django.db import connection

from fieldwork import integrity
from fieldwork.models import Round
from scoring.counting import MAIN, Counters, unit_totals
from scoring.figures import Figures
from scoring.models import UnitCounts, UnitScore
from units.models import Unit


def headline_without_flagged(*, survey_round: Round, unit: Unit, score: UnitScore | None) -> dict | None:
    """{"flagged", "n", "value", "ci", "shown"} for a unit whose figures are shown and have flagged
    responses, else None. ``shown``: the figure without them lies outside the headline's interval
    and rests on at least the version's minimum of responses. One query without flagged responses,
    three with."""
    if score is None or not score.enough or score.headline is None or score.headline_low is None:
        return None
    ids = integrity.flagged_for_scores(survey_round=survey_round, unit=unit, received_before=score.computed_at)
    if not ids:
        return None
    counters = Counters(survey_round.questionnaire.parsed)
    with connection.cursor() as cursor:
        cursor.execute(counters.full_sql(by_field=False, only_ids=True),
                       [survey_round.pk, survey_round.score_over_quota, [str(pk) for pk in ids]])
        flagged = [0] * len(counters.names)
        for _unit, _dimension, _stratum, vector in map(counters.decode, cursor.fetchall()):
            flagged = [a + b for a, b in zip(flagged, vector, strict=True)]
    stored = {(row.unit_id, row.dimension, row.stratum): row.counts
              for row in UnitCounts.objects.filter(round=survey_round, unit=unit, dimension=MAIN)
              .only("unit_id", "dimension", "stratum", "counts")}
    totals = unit_totals(stored)[0].get(unit.pk)
    if totals is None or len(totals) != len(flagged):  # counts of another layout: the next run rewrites them
        return None
    without = [a - b for a, b in zip(totals, flagged, strict=True)]
    value, ci = Figures(counters).headline(without) if without[0] > 0 else (None, None)
    outside = value is not None and not (score.headline_low <= value <= score.headline_high)
    return {"flagged": flagged[0], "n": without[0], "value": value, "ci": ci,
            "shown": outside and without[0] >= survey_round.questionnaire.min_responses}
