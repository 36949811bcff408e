"""What may be shown of a round's units, and their places: decided over the whole tree at once, after
the figures (``scoring.figures``), full run or refresh alike.

- ``publish(results, removed, tree, survey_round, minimum, *, incremental)``: which units are
  withheld (``scoring.disclosure``), competition ranks among shown siblings (1 = best, ties share
  a place: ``scoring.formulas.competition_ranks``), and the change since the previous round in
  points and places where both rounds' figures are shown. ``PUBLISHED`` names what it decides.
- ``previous_round(survey_round)``: the round a change is measured against.

How ranks and changes are written for people is ``scoring.wording``.
"""

from collections import defaultdict

from fieldwork.models import Round
from scoring import disclosure, formulas
from scoring.models import UnitScore

PUBLISHED = ("enough", "withheld", "rank", "rank_of", "change_points", "change_places")


def publish(results, removed, tree, survey_round, minimum, *, incremental):
    """What may be shown of every unit of the round, decided over the whole tree at once: which
    units are withheld (``scoring.disclosure``), ranks among shown siblings, and the change since
    the previous round where both figures are shown. ``enough`` is stored as "figures shown".

    Sets these on ``results``; a refresh also reads the stored units it did not touch (their
    withholding and ranks move with their siblings') and returns {unit: values in ``PUBLISHED``
    order} of those whose values moved, for the store to update."""
    new = {r.unit_id: r for r in results}
    stored = {}
    if incremental:
        rows = (UnitScore.objects.filter(round=survey_round).exclude(unit_id__in=[*new, *removed])
                .values_list("unit_id", "n", "headline", *PUBLISHED))
        stored = {row[0]: row for row in rows}
    n = {u: r.n for u, r in new.items()} | {u: row[1] for u, row in stored.items()}
    headline = {u: r.headline for u, r in new.items()} | {u: row[2] for u, row in stored.items()}
    withheld = disclosure.withheld_units(n, tree.parents, minimum)
    by_parent = defaultdict(dict)
    for unit_id in n:
        if unit_id != tree.top.id:
            by_parent[tree.parents.get(unit_id)][unit_id] = headline[unit_id] if unit_id not in withheld else None
    ranks = {}
    for siblings in by_parent.values():
        ranked = formulas.competition_ranks(siblings)
        ranks.update({unit_id: (rank, len(ranked)) for unit_id, rank in ranked.items()})
    before = _previous_figures(survey_round)
    published = {}
    for unit_id in n:
        shown = unit_id not in withheld
        rank, rank_of = ranks.get(unit_id, (None, None))
        old_headline, old_rank = before.get(unit_id, (None, None)) if shown else (None, None)
        now = headline[unit_id]
        points = now - old_headline if now is not None and old_headline is not None else None
        places = old_rank - rank if rank is not None and old_rank is not None else None
        published[unit_id] = (shown, withheld.get(unit_id, ""), rank, rank_of, points, places)
    for unit_id, result in new.items():
        for name, value in zip(PUBLISHED, published[unit_id], strict=True):
            setattr(result, name, value)
    return {u: published[u] for u, row in stored.items() if tuple(row[3:]) != published[u]}


def previous_round(survey_round: Round):
    """The latest earlier round of the same questionnaire family over the same unit that was opened
    (a draft, or a round never opened, has no figures to compare with)."""
    def started(r):
        return r.opened_at or r.created_at

    candidates = (Round.objects.filter(questionnaire__family=survey_round.questionnaire.family,
                                       unit_id=survey_round.unit_id, opened_at__isnull=False)
                  .exclude(status=Round.Status.DRAFT).exclude(pk=survey_round.pk))
    earlier = [r for r in candidates if (started(r), r.pk) < (started(survey_round), survey_round.pk)]
    return max(earlier, key=lambda r: (started(r), r.pk), default=None)


def _previous_figures(survey_round):
    """{unit: (headline, rank)} of the previous round's shown units."""
    previous = previous_round(survey_round)
    if previous is None:
        return {}
    rows = UnitScore.objects.filter(round=previous, enough=True).values_list("unit_id", "headline", "rank")
    return {unit_id: (headline, rank) for unit_id, headline, rank in rows}
