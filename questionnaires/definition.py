"""A questionnaire version as data: checking a definition file, and reading one.

The definition files live in ``questionnaires/definitions/*.json``. A definition lists sections
(one kiosk screen each) of items; each item has a stable code, a kind, options and an optional
condition on earlier answers. ``scoring`` declares how items form factors and factors the headline.

Answers are stored compactly as one ``smallint[]`` per response, one slot per item in definition
order (``Definition.positions``): satisfaction 1-5 (0 = not applicable), single choice = option
number (1-based), multiple choice = bit mask of option numbers, yes/no = 1 yes / 2 no, number =
the number; text answers go to a separate JSON column. NULL = not asked or not answered.

Optional, for what the person is not asked:
- a section's ``lead`` ({"vi", "en"}): a short lead-in the kiosk may show under its title;
- an item's ``known_from``: the answer is filled in by the server, not asked. The one source is
  ``{"unit_level": {unit level: option code}}``: the level of the response's unit, or for a level
  the map does not list (a department, a service centre), that of the nearest unit above it that
  it lists. A unit with no listed level on its way up leaves the item asked as usual. Such an
  item is a single choice without a condition, and no condition may refer to it (a kiosk that is
  not sent the item could not evaluate one).
"""

import re
from dataclasses import dataclass
from functools import cached_property

KINDS = ("satisfaction", "single", "multiple", "yesno", "number", "text")
FACTOR_METHODS = ("mean_of_item_rates", "pooled_answers", "general_item")
HEADLINE_METHODS = ("item", "mean_of_factors")
ITEM_CODE = re.compile(r"^[A-Z][A-Z0-9]*\.[A-Z0-9_]+$")
VERSION_CODE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
OPTION_CODE = re.compile(r"^[a-z0-9_+-]+$")
YESNO = [("yes", {"vi": "Có", "en": "Yes"}), ("no", {"vi": "Không", "en": "No"})]
SMALLINT_MAX = 32767
MAX_MULTIPLE_OPTIONS = 15  # a bit mask in a smallint
# The values of units.models.Unit.Level (a test keeps the two equal): the keys of a known_from map.
UNIT_LEVELS = ("province", "department", "centre", "district", "commune")


class DefinitionError(Exception):
    def __init__(self, errors):
        super().__init__("; ".join(errors))
        self.errors = errors


def _text_ok(value):
    return isinstance(value, dict) and all(isinstance(value.get(k), str) and value[k].strip() for k in ("vi", "en"))


def condition_items(condition):
    """Every item code a condition refers to."""
    if not condition:
        return []
    if "item" in condition:
        return [condition["item"]]
    if "not" in condition:
        return condition_items(condition["not"])
    return [code for part in condition.get("all", condition.get("any", [])) for code in condition_items(part)]


def condition_holds(condition, answers):
    """Whether an item with this condition is asked, given the answers so far (API form)."""
    if not condition:
        return True
    if "all" in condition:
        return all(condition_holds(c, answers) for c in condition["all"])
    if "any" in condition:
        return any(condition_holds(c, answers) for c in condition["any"])
    if "not" in condition:
        return not condition_holds(condition["not"], answers)
    value = answers.get(condition["item"])
    wanted = [condition["equals"]] if "equals" in condition else condition["in"]
    if isinstance(value, list):
        return any(v in wanted for v in value)
    return value in wanted


def _check_condition(condition, earlier, where, errors):
    if not isinstance(condition, dict) or len(condition) == 0:
        errors.append(f"{where}: a condition must be an object")
        return
    if set(condition) in ({"all"}, {"any"}):
        parts = next(iter(condition.values()))
        if not isinstance(parts, list) or not parts:
            errors.append(f"{where}: 'all'/'any' take a non-empty list")
            return
        for part in parts:
            _check_condition(part, earlier, where, errors)
    elif set(condition) == {"not"}:
        _check_condition(condition["not"], earlier, where, errors)
    elif set(condition) in ({"item", "equals"}, {"item", "in"}):
        if condition["item"] not in earlier:
            errors.append(f"{where}: condition refers to '{condition['item']}', which is not an earlier item")
        elif earlier[condition["item"]].get("known_from") is not None:
            errors.append(f"{where}: condition refers to '{condition['item']}', which is filled in from the unit "
                          "and not asked (the kiosk is not sent it)")
        elif "in" in condition and not isinstance(condition["in"], list):
            errors.append(f"{where}: 'in' takes a list")
    else:
        errors.append(f"{where}: unknown condition {sorted(condition)}")


def _check_item(item, scale_codes, earlier, errors):
    code = item.get("code")
    where = f"item {code}"
    if not isinstance(code, str) or not ITEM_CODE.match(code):
        errors.append(f"item code {code!r} must look like 'F3.2'")
        return
    if code in earlier:
        errors.append(f"{where}: code used twice")
    kind = item.get("kind")
    if kind not in KINDS:
        errors.append(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if not _text_ok(item.get("text")):
        errors.append(f"{where}: text needs non-empty 'vi' and 'en'")
    if not isinstance(item.get("required"), bool):
        errors.append(f"{where}: 'required' must be true or false")
    options = item.get("options")
    if kind in ("single", "multiple"):
        if not isinstance(options, list) or not options:
            errors.append(f"{where}: a {kind} item needs options")
            options = []
        codes = [o.get("code") for o in options if isinstance(o, dict)]
        if len(set(codes)) != len(options) or not all(isinstance(c, str) and OPTION_CODE.match(c) for c in codes):
            errors.append(f"{where}: option codes must be unique lower-case codes")
        if any(not _text_ok(o.get("label")) for o in options if isinstance(o, dict)):
            errors.append(f"{where}: every option needs a label in 'vi' and 'en'")
        if kind == "multiple" and len(options) > MAX_MULTIPLE_OPTIONS:
            errors.append(f"{where}: at most {MAX_MULTIPLE_OPTIONS} options for a multiple choice")
        if len(options) > SMALLINT_MAX:
            errors.append(f"{where}: too many options")
    elif options is not None:
        errors.append(f"{where}: only single and multiple choice items list options")
    if kind == "number":
        low, high = item.get("min", 0), item.get("max", SMALLINT_MAX)
        if not (isinstance(low, int) and isinstance(high, int) and -SMALLINT_MAX <= low <= high <= SMALLINT_MAX):
            errors.append(f"{where}: min and max must be whole numbers within ±{SMALLINT_MAX}")
    if item.get("condition") is not None:
        _check_condition(item["condition"], earlier, where, errors)
    if item.get("known_from") is not None:
        _check_known_from(item, where, errors)


def _check_known_from(item, where, errors):
    known = item["known_from"]
    if not isinstance(known, dict) or set(known) != {"unit_level"}:
        errors.append(f"{where}: known_from takes one source, {{\"unit_level\": {{level: option}}}}")
        return
    if item.get("kind") != "single":
        errors.append(f"{where}: only a single choice can be known from the unit")
    if item.get("condition") is not None:
        errors.append(f"{where}: an item known from the unit cannot have a condition")
    by_level = known["unit_level"]
    if not isinstance(by_level, dict) or not by_level:
        errors.append(f"{where}: known_from.unit_level maps unit levels to option codes")
        return
    options = {o.get("code") for o in item.get("options") or [] if isinstance(o, dict)}
    for level, option in by_level.items():
        if level not in UNIT_LEVELS:
            errors.append(f"{where}: known_from: '{level}' is not a unit level ({', '.join(UNIT_LEVELS)})")
        if option not in options:
            errors.append(f"{where}: known_from: {option!r} is not an option of the item")


def check_definition(doc):
    """Every problem with a definition, as readable messages; empty when it is fine."""
    errors = []
    if not isinstance(doc, dict):
        return ["a definition must be a JSON object"]
    code = doc.get("code")
    if not isinstance(code, str) or not VERSION_CODE.match(code):
        errors.append(f"version code {code!r} must be lower-case words joined by '-'")
    for key in ("title", "intro", "thanks"):
        if not _text_ok(doc.get(key)):
            errors.append(f"'{key}' needs non-empty 'vi' and 'en'")
    scale = doc.get("scale") or {}
    levels = [level.get("code") for level in scale.get("levels", [])]
    if levels != [1, 2, 3, 4, 5]:
        errors.append("the scale must have the five levels 1-5 in order")
    sections = doc.get("sections")
    if not isinstance(sections, list) or not sections:
        return errors + ["a definition needs sections"]
    earlier = {}
    for section in sections:
        if not _text_ok(section.get("title")):
            errors.append(f"section {section.get('code')}: title needs 'vi' and 'en'")
        if section.get("lead") is not None and not _text_ok(section["lead"]):
            errors.append(f"section {section.get('code')}: lead needs 'vi' and 'en'")
        for item in section.get("items") or []:
            _check_item(item, levels, earlier, errors)
            if isinstance(item.get("code"), str):
                earlier[item["code"]] = item
    _check_scoring(doc.get("scoring"), earlier, [f.get("code") for f in doc.get("factors", [])], errors)
    for indicator in doc.get("indicators", []):
        if indicator not in earlier:
            errors.append(f"indicator '{indicator}' is not an item")
    if doc.get("expectations") and doc["expectations"] not in earlier:
        errors.append(f"expectations item '{doc['expectations']}' is not an item")
    return errors


def _check_scoring(scoring, items, factor_codes, errors):
    if not isinstance(scoring, dict):
        errors.append("'scoring' is missing")
        return
    levels = scoring.get("satisfied_levels")
    if not isinstance(levels, list) or not levels or not set(levels) <= {1, 2, 3, 4, 5}:
        errors.append("scoring.satisfied_levels must list levels from 1-5")
    if scoring.get("factor_method") not in FACTOR_METHODS:
        errors.append(f"scoring.factor_method must be one of {', '.join(FACTOR_METHODS)}")
    if not isinstance(scoring.get("min_responses"), int) or scoring["min_responses"] < 1:
        errors.append("scoring.min_responses must be a positive whole number")
    factors = scoring.get("factors") or {}
    for factor, spec in factors.items():
        if factor not in factor_codes:
            errors.append(f"scoring factor '{factor}' is not declared in 'factors'")
        for code in list(spec.get("items", [])) + ([spec["general_item"]] if spec.get("general_item") else []):
            if code not in items or items[code].get("kind") != "satisfaction":
                errors.append(f"scoring factor '{factor}': '{code}' is not a satisfaction item")
        if not spec.get("items"):
            errors.append(f"scoring factor '{factor}' lists no items")
    headline = scoring.get("headline") or {}
    method = headline.get("method")
    if method not in HEADLINE_METHODS:
        errors.append(f"scoring.headline.method must be one of {', '.join(HEADLINE_METHODS)}")
    elif method == "item" and (headline.get("item") not in items or items[headline["item"]]["kind"] != "satisfaction"):
        errors.append("scoring.headline.item must be a satisfaction item")
    elif method == "mean_of_factors" and not set(headline.get("factors", [])) <= set(factors):
        errors.append("scoring.headline.factors must be scored factors")


@dataclass(frozen=True)
class Definition:
    """A checked definition, with what the rest of the code needs to read from it."""

    doc: dict

    @classmethod
    def from_doc(cls, doc):
        errors = check_definition(doc)
        if errors:
            raise DefinitionError(errors)
        return cls(doc)

    @cached_property
    def items(self):
        """Every item in definition order (which is also the order of the stored answer slots)."""
        return [item for section in self.doc["sections"] for item in section["items"]]

    @cached_property
    def by_code(self):
        return {item["code"]: item for item in self.items}

    @cached_property
    def positions(self):
        """Item code → 1-based slot in the stored ``smallint[]``."""
        return {item["code"]: i for i, item in enumerate(self.items, start=1)}

    @cached_property
    def known_from_unit_level(self):
        """Item code → {unit level: option code}, for the items filled in from the response's unit."""
        return {item["code"]: item["known_from"]["unit_level"] for item in self.items if item.get("known_from")}

    def known_answers(self, unit_levels) -> dict:
        """The answers known from a unit, given the levels of the unit and of the units above it,
        nearest first: each known item takes the option of the nearest level its map lists. An item
        none of them lists is left out: it is asked."""
        answers = {}
        for code, by_level in self.known_from_unit_level.items():
            option = next((by_level[level] for level in unit_levels if level in by_level), None)
            if option is not None:
                answers[code] = option
        return answers

    @cached_property
    def option_numbers(self):
        """Choice item code → {option code: its number from 1, in definition order}: the stored value
        of a single choice, one more than the bit of a multiple choice (answers.pack_answers)."""
        return {item["code"]: {option["code"]: n for n, option in enumerate(item["options"], start=1)}
                for item in self.items if item["kind"] in ("single", "multiple")}

    def options(self, item):
        """The normalised options of an item, as the kiosk API shows them."""
        kind = item["kind"]
        if kind == "satisfaction":
            scale = self.doc["scale"]
            options = [{"code": level["code"], "label": level["label"]} for level in scale["levels"]]
            if item.get("allow_na"):
                options.append({"code": 0, "label": scale["not_applicable"]["label"]})
            return options
        if kind == "yesno":
            return [{"code": code, "label": label} for code, label in YESNO]
        if kind in ("single", "multiple"):
            return [{"code": o["code"], "label": o["label"]} for o in item["options"]]
        return []

    def api_item(self, item):
        return {
            "code": item["code"],
            "factor": item.get("factor"),
            "kind": item["kind"],
            "required": item["required"],
            "text": item["text"],
            "options": self.options(item),
            "condition": item.get("condition"),
            "allow_na": bool(item.get("allow_na", False)),
            "max_choices": item.get("max_choices"),
            "min": item.get("min") if item["kind"] == "number" else None,
            "max": item.get("max") if item["kind"] == "number" else None,
            "max_length": item.get("max_length") if item["kind"] == "text" else None,
        }

    def api(self, known=()):
        """What a kiosk needs to show the questionnaire offline. The items in ``known`` (their
        answers are filled in from the kiosk's unit) are left out, and so is a section left empty."""
        doc = self.doc
        sections = []
        for s in doc["sections"]:
            items = [self.api_item(i) for i in s["items"] if i["code"] not in known]
            if items:
                sections.append({"code": s["code"], "title": s["title"], "lead": s.get("lead"), "items": items})
        return {"code": doc["code"], "title": doc["title"], "intro": doc["intro"], "thanks": doc["thanks"],
                "sections": sections}
