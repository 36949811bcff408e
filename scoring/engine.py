"""Turning a round's responses into per-unit scores: the three jobs in their order.

``compute_round(survey_round, progress=None, *, full=True) -> RoundResult`` returns every unit's
figures: the round's unit and every unit below it that has responses, pooled over each subtree.

1. ``scoring.counting``: the round's valid responses counted with grouped SQL (in full, or only
   the changes since the last count, added to the stored counts), rolled up the round's tree.
2. ``scoring.figures``: each unit's figures from its counts, by the version's declared formulas.
3. ``scoring.ranking``: what may be shown (withheld units), ranks among siblings and the change
   since the previous round, decided over the whole tree. (Which breakdown cells may be shown is
   decided on read, ``scoring.breakdowns``.)

Nothing is written for people here (``scoring.wording``) nor stored as scores (``scoring.services``
stores the ``RoundResult``).
"""

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field

from fieldwork.models import Round
from scoring import counting, ranking
from scoring.figures import Figures, UnitResult
from scoring.models import UnitScore


@dataclass
class RoundResult:
    units: list[UnitResult] = field(default_factory=list)
    responses_used: int = 0
    full: bool = True  # every response counted again and every unit returned
    removed: list = field(default_factory=list)  # incremental: touched units left without responses
    # incremental: {unit: values in ranking.PUBLISHED order} of untouched units whose withholding, rank or
    # change moved
    published_updates: dict = field(default_factory=dict)


@contextmanager
def without_gc():
    """Python's cyclic garbage collector off meanwhile: the figures are acyclic dicts and lists,
    freed by reference counting, but the thousands of them made full collections of the worker's
    heap start in the middle of a run (90-180 ms of a 250 ms refresh, bench/scoring.py)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compute_round(survey_round: Round, progress=None, *, full=True) -> RoundResult:
    """The round's figures (see the module docstring and ``_compute_round``)."""
    with without_gc():
        return _compute_round(survey_round, progress, full=full)


def _compute_round(survey_round: Round, progress=None, *, full=True) -> RoundResult:
    """The round's figures (see the module docstring).

    ``full=True`` counts every response and returns every unit. ``full=False`` adds only the
    changes since the last count and returns only the units they touched (with ``removed``: touched
    units left without responses, and ``published_updates``: untouched units whose withholding,
    rank or change moved); it counts in full when there is nothing stored to add to."""
    survey_round = Round.objects.select_related("questionnaire", "unit").get(pk=survey_round.pk)
    counters = counting.Counters(survey_round.questionnaire.parsed)
    tree = counting.Tree(survey_round.unit)
    fields = counting.dossier_fields(survey_round, tree)
    by_field = fields is not None
    full = full or not counting.has_counts(survey_round, counters, by_field)
    if full:
        pooled, touched = counting.count_full(survey_round, counters, tree, by_field), None
    else:
        pooled, touched = counting.count_changes(survey_round, counters, tree, by_field)
    totals, strata = counting.unit_totals(pooled)
    unit_figures = Figures(counters)
    minimum = counters.scoring.get("min_responses", 30)
    unit_ids = sorted((u for u in totals if totals[u][0] > 0), key=lambda u: tree.paths.get(u, ""))
    results = []
    for done, unit_id in enumerate(unit_ids, start=1):
        results.append(unit_figures.unit(unit_id, totals[unit_id], strata, fields, minimum))
        if progress:
            progress(done, len(unit_ids))
    removed = [] if full else sorted(touched - set(unit_ids))
    updates = ranking.publish(results, removed, tree, survey_round, minimum, incremental=not full)
    if full:
        top = totals.get(survey_round.unit_id)
        return RoundResult(units=results, responses_used=top[0] if top else 0)
    return RoundResult(units=results, responses_used=_responses_used(survey_round, totals, touched), full=False,
                       removed=removed, published_updates=updates)


def _responses_used(survey_round, totals, touched):
    if survey_round.unit_id in totals:
        return totals[survey_round.unit_id][0]
    if survey_round.unit_id in touched:
        return 0  # the changes left the round without a counted response (its counts were dropped)
    top = UnitScore.objects.filter(round=survey_round, unit_id=survey_round.unit_id).values_list("n", flat=True)
    return next(iter(top), 0)
