"""Which units' figures are withheld: statistical disclosure control, as statistical offices do it.

**Primary suppression.** A unit with fewer valid responses than its questionnaire version's
``min_responses`` is withheld (``TOO_FEW``): rates from a handful of answers look trustworthy and
are not, and a handful of answers can point at the people who gave them.

**Secondary suppression.** Figures add up: a unit's counts are its sub-units' counts plus the
responses collected at the unit itself (its "own" part, which no page shows on its own). So in each
group of a parent and its parts, one withheld part could be worked out by subtracting the shown
parts from the parent. The rule, applied to every group of the round's tree until nothing changes:

    In every group (a parent = its sub-units + its own part), a part that must stay hidden (a
    withheld unit, or an own part with fewer than the minimum responses) is never the only
    unknown: when it would be, the shown sub-unit with the fewest responses is withheld too
    (``PROTECTS``), and the rule is applied again to that unit's own group.

A withheld parent counts as an unknown of its group, so a parent withheld to protect a sibling is
not given away by its sub-units either. Parts with no responses are known (zero) and protect
nothing. The responses counted ``n`` are not withheld: a unit's n is shown with the reason. Ranks
leave withheld units out (a tie would give a withheld figure away), and the change since the
previous round is blank when either round's figure is withheld.

Pure functions of the counts, so that the scoring engine, a migration and the tests share them; how
the reasons are written for people is ``scoring.wording``.
"""

from collections import defaultdict, deque

TOO_FEW = "too_few"
PROTECTS = "protects"


def withheld_units(n: dict, parents: dict, minimum: int) -> dict:
    """``{unit: TOO_FEW | PROTECTS}`` for the units whose figures are withheld.

    ``n``: the responses counted per unit (pooled over its subtree), for the units with scores;
    ``parents``: each unit's parent (units outside ``n`` are ignored); ``minimum``: the version's
    ``min_responses``."""
    children = defaultdict(list)
    for unit in n:
        parent = parents.get(unit)
        if parent in n:
            children[parent].append(unit)
    return withheld_in_sums(n, [(parent, children[parent]) for parent in sorted(children)], minimum)


def withheld_in_sums(n: dict, sums: list, minimum: int, hidden: dict | None = None) -> dict:
    """The rule above over any figures that add up: ``{key: TOO_FEW | PROTECTS | a given reason}``.

    ``n``: the responses of each figure (any hashable keys, ordered); ``sums``: [(total, [parts])],
    each total = its parts + a remainder nobody sees on its own (the forms collected at a unit
    itself, or the responses that did not answer a breakdown's question); ``hidden``: figures
    withheld already, with their reason (they count as unknowns and are kept). A figure of
    ``n`` below ``minimum`` is withheld (``TOO_FEW``); then, until nothing changes, in every sum
    whose one unknown is a hidden part, the shown part with the fewest responses is withheld too
    (``PROTECTS``). Unit trees (``withheld_units``) and breakdown cells (``scoring.breakdowns``,
    where a cell is part of its unit's sum and of its parent unit's cell) both use it."""
    withheld = {key: TOO_FEW for key, count in n.items() if count < minimum}
    withheld.update(hidden or {})
    own = [n[total] - sum(map(n.__getitem__, parts)) for total, parts in sums]  # counts are never negative
    sums_of = defaultdict(list)  # a figure -> the sums it is in (as their total or a part)
    for index, (total, parts) in enumerate(sums):
        for key in (total, *parts):
            sums_of[key].append(index)
    # Each sum is checked in order, then again whenever a figure of it is withheld: the rule
    # applied until nothing changes, at the cost of the sums it touches, not of every sum again.
    waiting, queued = deque(range(len(sums))), [True] * len(sums)
    while waiting:
        index = waiting.popleft()
        queued[index] = False
        total, parts = sums[index]
        pick = _second_to_withhold(total, parts, own[index], n, withheld, minimum)
        if pick is not None:
            withheld[pick] = PROTECTS
            for again in sums_of[pick]:
                if not queued[again]:
                    queued[again] = True
                    waiting.append(again)
    return withheld


def _second_to_withhold(parent, kids, own, n, withheld, minimum):
    """The part to withhold so that the sum's one hidden part is not the only unknown, or None."""
    hidden = [child for child in kids if child in withheld and n[child] > 0]
    if parent in withheld:
        hidden.append(parent)
    unknowns = len(hidden) + (1 if own > 0 else 0)
    if unknowns != 1:
        return None
    if not hidden and own >= minimum:
        return None  # the only unknown is a large own part: it may be worked out, it has enough answers
    shown = [child for child in kids if child not in withheld and n[child] > 0]
    return min(shown, key=lambda child: (n[child], child), default=None)
