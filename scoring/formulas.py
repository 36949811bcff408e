"""The scoring formulas as plain functions of counts: no database, no Django (SIPAS.md §5).

Percentages are 0-100 floats, unrounded; ``None`` where a figure cannot be computed. Every
function gives the same float for the same input (a fixed order of operations), so a recompute
reproduces the stored scores to the last digit.
"""

import math

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution


def rate(satisfied: int, n: int) -> float | None:
    """Item rate: 100 × satisfied / valid answers; None without valid answers."""
    if n <= 0:
        return None
    return 100.0 * satisfied / n


def wilson(satisfied: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion, in percent (our addition: SIPAS publishes no
    intervals). Unlike p ± z·√(p(1-p)/n) it stays inside 0-100 and is sensible near 0 % and 100 %."""
    if n <= 0:
        return None
    p = satisfied / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return (100.0 * max(0.0, centre - half), 100.0 * min(1.0, centre + half))


def mean(values) -> float | None:
    """Unweighted mean of the values that exist (None is left out); None when none exist."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return math.fsum(present) / len(present)


def binomial_variance(satisfied: int, n: int) -> float | None:
    """Variance of a rate in percent points squared: p(1-p)/n × 100²; None without answers."""
    if n <= 0:
        return None
    p = satisfied / n
    return p * (1 - p) / n * 10000.0


def mean_variance(variances) -> float | None:
    """Variance of an unweighted mean of independent estimates: Σ var / k² over those that exist."""
    present = [v for v in variances if v is not None]
    if not present:
        return None
    return math.fsum(present) / (len(present) ** 2)


def normal_interval(value: float | None, variance: float | None, z: float = Z95) -> tuple[float, float] | None:
    """value ± z·√variance, kept within 0-100 (our addition, for indices built from several rates)."""
    if value is None or variance is None:
        return None
    half = z * math.sqrt(variance)
    return (max(0.0, value - half), min(100.0, value + half))


def competition_ranks(values: dict) -> dict:
    """Rank keys by value, highest first, ties sharing a rank ("1, 2, 2, 4"). Keys whose value is
    None get no rank. Returns {key: rank}."""
    ranked = sorted(((v, k) for k, v in values.items() if v is not None), key=lambda vk: -vk[0])
    ranks = {}
    previous, previous_rank = None, 0
    for position, (value, key) in enumerate(ranked, start=1):
        if value != previous:
            previous, previous_rank = value, position
        ranks[key] = previous_rank
    return ranks


def share(count: int, total: int) -> float | None:
    """count as a percentage of total; None when total is 0."""
    if total <= 0:
        return None
    return 100.0 * count / total
