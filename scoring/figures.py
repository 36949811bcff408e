"""Figures from counts: a unit's rates, indices, intervals, shares and weighted headline, by the plain
functions of ``scoring.formulas`` applied as the version's declared ``scoring`` block says (SIPAS.md
§5: nothing hard-coded per instrument), to the counts of ``scoring.counting``.

- ``Figures(counters)``: the version's formulas, with the positions of the counts each figure reads
  looked up once; ``Figures.unit(unit_id, vector, strata, fields, minimum) -> UnitResult``.
- ``UnitResult``: one unit's figures, and what ``scoring.ranking`` publishes of them (withheld,
  rank, change).

Choices (documented here because they are ours, not the method's):
- A ``mean_of_factors`` headline is the mean of the listed factors that have a value (a factor
  with no valid answers is left out, not counted as 0); its 95 % interval (our addition) is a
  normal approximation by the delta method, treating the item rates as independent binomial
  proportions: var(mean of k) = Σ var / k², with var(rate) = p(1-p)/n. Answers of one citizen are
  positively correlated, so this interval is somewhat too narrow; it is labelled approximate.
- The weighted headline (our addition) is post-stratified by service field (``E.FIELD``) with the
  dossier counts of the round's most recent dossier list in the unit's subtree: Σ share_f ×
  headline within field f. It is None when the round has no dossier list, the unit's subtree has
  no dossiers, or a field with dossiers has no responses (or no headline) in the subtree — a
  weight that cannot be applied would silently reweight the others. Responses without a field
  answer are left out of the weighted figure only.
- Indicator shares and expectation shares are of the responses that answered that question.
"""

import math
from dataclasses import dataclass

from scoring import formulas
from scoring.counting import FIELD_ITEM, Counters, option_values


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
    withheld: str = ""  # scoring.disclosure: TOO_FEW, PROTECTS, or "" (shown)
    rank: int | None = None
    rank_of: int | None = None
    change_points: float | None = None
    change_places: int | None = None


class Figures:
    """The version's formulas applied to one vector of counts. The positions of the counts each
    figure reads are looked up once per version, not once per unit (3,500 units in a full run)."""

    def __init__(self, counters: Counters):
        self.c = counters
        self.scoring = counters.scoring
        index = counters.index
        self.item_counts = [(code, index[("satisfied", code)], index[("valid", code)])
                            for code in counters.satisfaction]
        self.method = self.scoring.get("factor_method", "mean_of_item_rates")
        self.factor_specs = sorted(self.scoring["factors"].items())
        self.choices = {}
        expectations = counters.definition.doc.get("expectations")
        for code in [*counters.indicators, *([expectations] if expectations else [])]:
            item = counters.definition.by_code[code]
            self.choices[code] = (index[("answered", code)],
                                  [(option, index[("option", code, option)]) for option, _ in option_values(item)])

    def items(self, vector):
        result = {}
        for code, satisfied_at, valid_at in self.item_counts:
            satisfied, n = vector[satisfied_at], vector[valid_at]
            ci = formulas.wilson(satisfied, n)
            result[code] = {"n": n, "satisfied": satisfied, "rate": formulas.rate(satisfied, n),
                            "ci": list(ci) if ci else None}
        return result

    def _item_variance(self, vector, code):
        return formulas.binomial_variance(self.c.get(vector, "satisfied", code), self.c.get(vector, "valid", code))

    def factor(self, vector, items, factor):
        """(value, variance) of a factor by the version's factor method."""
        spec = self.scoring["factors"][factor]
        if self.method == "general_item":
            code = spec["general_item"]
            return items[code]["rate"], self._item_variance(vector, code)
        if self.method == "pooled_answers":
            satisfied = sum(items[code]["satisfied"] for code in spec["items"])
            n = sum(items[code]["n"] for code in spec["items"])
            return formulas.rate(satisfied, n), formulas.binomial_variance(satisfied, n)
        value = formulas.mean(items[code]["rate"] for code in spec["items"])
        variance = formulas.mean_variance(formulas.binomial_variance(items[code]["satisfied"], items[code]["n"])
                                          for code in spec["items"])
        return value, variance

    def factor_values(self, vector, items):
        """{factor: (value, variance)}, for ``factors`` and ``headline`` to share."""
        return {factor: self.factor(vector, items, factor) for factor, _ in self.factor_specs}

    def factors(self, vector, items, values=None):
        values = values if values is not None else self.factor_values(vector, items)
        result = {}
        for factor, spec in self.factor_specs:
            value, variance = values[factor]
            ci = formulas.normal_interval(value, variance)
            general = spec.get("general_item")
            result[factor] = {"value": value, "n": self.c.get(vector, "factor", factor),
                              "ci": list(ci) if ci else None, "general": dict(items[general]) if general else None}
        return result

    def headline(self, vector, items=None, values=None):
        """(value, 95 % interval) of the headline by the version's declared method."""
        items = items if items is not None else self.items(vector)
        spec = self.scoring["headline"]
        if spec["method"] == "item":
            figures = items[spec["item"]]
            return figures["rate"], tuple(figures["ci"]) if figures["ci"] else None
        values = values if values is not None else self.factor_values(vector, items)
        pairs = [values[factor] for factor in spec["factors"]]
        value = formulas.mean(v for v, _ in pairs)
        variance = formulas.mean_variance(var for v, var in pairs if v is not None)
        return value, formulas.normal_interval(value, variance)

    def indicators(self, vector):
        return {code: self._shares(vector, code) for code in self.c.indicators}

    def _shares(self, vector, code):
        answered_at, options = self.choices[code]
        n = vector[answered_at]
        shares = {option: formulas.share(vector[at], n) for option, at in options}
        shares["n"] = n
        return shares

    def expectations(self, vector):
        code = self.c.definition.doc.get("expectations")
        if not code:
            return []
        answered_at, options = self.choices[code]
        n = vector[answered_at]
        rows = [{"code": option, "count": vector[at]} for option, at in options]
        rows.sort(key=lambda row: (-row["count"], row["code"]))
        for row in rows:
            row["share"] = formulas.share(row["count"], n)
        return rows

    def unit(self, unit_id, vector, strata, fields, minimum) -> UnitResult:
        """The unit's figures from its counts (``strata``: {(unit, field): counts} and ``fields``:
        dossiers per field, for the weighted headline); ``enough`` when it has ``minimum`` responses."""
        items = self.items(vector)
        values = self.factor_values(vector, items)
        headline, ci = self.headline(vector, items, values)
        n = vector[0]
        return UnitResult(
            unit_id=unit_id, n=n, enough=n >= minimum, headline=headline, headline_ci=ci,
            weighted_headline=self.weighted_headline(unit_id, strata, fields),
            factors=self.factors(vector, items, values), items=items, indicators=self.indicators(vector),
            expectations=self.expectations(vector),
        )

    def weighted_headline(self, unit_id, strata, fields):
        """Σ share_f × headline_f over the service fields with dossiers (see the module docstring)."""
        if fields is None:
            return None
        dossiers = {f: count for f, count in fields.get(unit_id, {}).items() if count > 0}
        total = sum(dossiers.values())
        if total == 0:
            return None
        field_item = self.c.definition.by_code.get(FIELD_ITEM)
        values = dict(option_values(field_item)) if field_item else {}
        parts = []
        for service_field in sorted(dossiers):
            vector = strata.get((unit_id, values.get(service_field)))
            if vector is None:
                return None
            value, _ = self.headline(vector)
            if value is None:
                return None
            parts.append(dossiers[service_field] / total * value)
        return math.fsum(parts)
