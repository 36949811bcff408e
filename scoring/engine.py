"""Turning a round's responses into per-unit scores (the contract; the implementation follows).

``compute_round(survey_round, progress=None) -> RoundResult`` reads the round's valid responses
(not excluded; over-quota ones only if the round counts them) with grouped SQL over the compact
answer layout, never a Python loop over responses, and returns every unit's figures: the round's
unit and every unit below it that has responses, pooled over each subtree.
"""

from dataclasses import dataclass, field


@dataclass
class UnitResult:
    unit_id: int
    n: int
    enough: bool
    headline: float | None
    headline_ci: tuple[float, float] | None
    weighted_headline: float | None
    factors: dict
    items: dict
    indicators: dict
    expectations: list
    rank: int | None = None
    rank_of: int | None = None
    change_points: float | None = None
    change_places: int | None = None


@dataclass
class RoundResult:
    units: list[UnitResult] = field(default_factory=list)
    responses_used: int = 0
