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

``check_definition`` names every problem of a definition as a ``Problem``: where it is in the file
(a path such as ``sections[2].items[0].options[1].label``, with the item's code beside it) and what
is wrong, in the active language. It takes any JSON value without failing, since an uploaded file
can hold anything, and it lists every problem rather than stopping at the first.
"""

import json
import re
from dataclasses import dataclass
from functools import cached_property

from django.utils.translation import gettext as _

from surveyapp.limits import INT_MAX, control_character, describe

KINDS = ("satisfaction", "single", "multiple", "yesno", "number", "text")
FACTOR_METHODS = ("mean_of_item_rates", "pooled_answers", "general_item")
HEADLINE_METHODS = ("item", "mean_of_factors")
# Matched whole (fullmatch): "$" alone would let a trailing line break through.
ITEM_CODE = re.compile(r"[A-Z][A-Z0-9]*\.[A-Z0-9_]+")
VERSION_CODE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
OPTION_CODE = re.compile(r"[a-z0-9_+-]+")
SECTION_CODE = re.compile(r"[A-Z][A-Z0-9]*")  # sections and factors: "F1", "E"
CODE_MAX_LENGTH = 64  # QuestionnaireVersion.code and .family
TITLE_MAX_LENGTH = 300  # QuestionnaireVersion.title_vi and .title_en
TEXT_ANSWER_MAX_LENGTH = 5000  # a text item's max_length: its answer still fits the kiosk's request
ROLES = ("general", "overall")
FACTUAL_KINDS = ("single", "multiple", "yesno", "number")  # what a perception indicator can count
MAX_DEPTH = 32  # objects and lists nested deeper than this are refused (conditions need a few levels)
# The keys each part of a definition may have: anything else is a typo that would be ignored.
KEYS = {
    "definition": ("schema", "code", "family", "title", "legal_basis", "intro", "thanks", "scale", "sections",
                   "factors", "scoring", "indicators", "expectations", "notes"),
    "scale": ("levels", "not_applicable"),
    "level": ("code", "label"),
    "factor": ("code", "label"),
    "section": ("code", "title", "lead", "items"),
    "item": ("code", "factor", "kind", "text", "required", "options", "allow_na", "max_choices", "min", "max",
             "max_length", "condition", "role", "known_from"),
    "option": ("code", "label", "legacy"),
    "scoring": ("satisfied_levels", "min_responses", "factor_method", "factors", "headline"),
    "scored_factor": ("items", "general_item"),
    "headline": ("method", "item", "factors"),
}
YESNO = [("yes", {"vi": "Có", "en": "Yes"}), ("no", {"vi": "Không", "en": "No"})]
SMALLINT_MAX = 32767
MAX_MULTIPLE_OPTIONS = 15  # a bit mask in a smallint
# The values of units.models.Unit.Level (a test keeps the two equal): the keys of a known_from map.
UNIT_LEVELS = ("province", "department", "centre", "district", "commune", "vertical")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition: where (a path in the file, "" for the whole file; the
    item's code when it is inside an item) and what, in the language active when it was found."""

    path: str
    message: str
    item: str = ""

    def __post_init__(self):
        # A path holds the file's own keys, and a message may quote its values: an invisible or half
        # character in them is spelt out, so that the page can show (and encode) the problem.
        for name in ("path", "message", "item"):
            object.__setattr__(self, name, _spelt(str(getattr(self, name))))

    @property
    def where(self):
        return f"{self.path} ({self.item})" if self.item and self.path else self.path or self.item

    def __str__(self):
        return f"{self.where}: {self.message}" if self.where else self.message


class DefinitionError(Exception):
    """A definition that cannot be stored; ``errors`` lists every ``Problem`` found."""

    def __init__(self, errors):
        super().__init__("; ".join(map(str, errors)))
        self.errors = list(errors)


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


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _join(path, key):
    return f"{path}.{key}" if path else str(key)


def _shown(value):
    """A value as the author wrote it, for a message (shortened: it may be anything)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:59] + "…"


def _spelt(text):
    """Text with its control characters, direction marks and half surrogate pairs spelt out (\\u0000)."""
    if control_character(text) is None:
        return text
    return "".join(char.encode("unicode_escape").decode("ascii") if control_character(char) else char
                   for char in text)


class _Checker:
    """Collects the problems of one definition; each method checks one part of the file."""

    def __init__(self):
        self.problems = []
        self.items = {}  # item code → item, in definition order (the earlier items a condition may use)
        self.factor_codes = []

    def add(self, path, message, item=""):
        self.problems.append(Problem(path, message, item))

    # ------------------------------------------------------------------ shapes

    def obj(self, value, path, keys, item=""):
        """True if ``value`` is an object; names each key it may not have."""
        if not isinstance(value, dict):
            self.add(path, _("must be a JSON object, {…}") if value is not None else _("is missing"), item)
            return False
        for key in value:
            if key not in KEYS[keys]:
                self.add(_join(path, key), _("unknown key (a typo?): allowed here are %(keys)s")
                         % {"keys": ", ".join(KEYS[keys])}, item)
        return True

    def text(self, value, path, item="", limit=None):
        """A text in both languages: {"vi": "…", "en": "…"}."""
        if value is None:
            self.add(path, _("is missing"), item)
        elif not (isinstance(value, dict) and all(isinstance(value.get(k), str) and value[k].strip()
                                                  for k in ("vi", "en"))):
            self.add(path, _("needs a non-empty text in both 'vi' and 'en', e.g. {\"vi\": \"…\", \"en\": \"…\"}"), item)
        elif limit and any(len(value[k]) > limit for k in ("vi", "en")):
            self.add(path, _("is longer than %(limit)s characters") % {"limit": limit}, item)

    def code(self, value, path, pattern, message, item=""):
        if value is None:
            self.add(path, _("is missing"), item)
        elif not (isinstance(value, str) and pattern.fullmatch(value)):
            self.add(path, message, item)
        else:
            return value
        return None

    def one_of(self, value, choices, path, item=""):
        if not (isinstance(value, str) and value in choices):
            if value is None:
                self.add(path, _("is missing: use one of %(choices)s") % {"choices": ", ".join(choices)}, item)
            else:
                self.add(path, _("'%(value)s' is not one of %(choices)s")
                         % {"value": _shown(value), "choices": ", ".join(choices)}, item)
            return False
        return True

    def whole(self, value, low, high, path, item=""):
        if not (_is_int(value) and low <= value <= high):
            self.add(path, _("must be a whole number from %(low)s to %(high)s") % {"low": low, "high": high}, item)
            return False
        return True

    def strings(self, value, path="", depth=0):
        """Every text and key of the file: nothing the database cannot hold or a reader cannot see."""
        if depth > MAX_DEPTH:
            self.add(path, _("nests more than %(depth)s levels deep") % {"depth": MAX_DEPTH})
            return False
        if isinstance(value, str):
            char = control_character(value, multiline=True)
            if char is not None:
                self.add(path, _("contains the invisible character %(char)s, which cannot be stored: remove it")
                         % {"char": describe(char)})
        elif isinstance(value, dict):
            for key, inner in value.items():
                self.strings(key, path or "(key)", depth + 1)
                if not self.strings(inner, _join(path, key), depth + 1):
                    return False
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                if not self.strings(inner, f"{path}[{index}]", depth + 1):
                    return False
        return True

    # ------------------------------------------------------------------ the definition

    def definition(self, doc):
        if not isinstance(doc, dict):
            self.add("", _("the file must hold one JSON object, {…}: the definition"))
            return
        if not self.strings(doc):
            return  # too deep to walk: the rest would only fail on it again
        self.obj(doc, "", "definition")
        version = _("must be lower-case letters and digits in words joined by '-', e.g. sipas-2027, "
                    "at most %(length)s characters") % {"length": CODE_MAX_LENGTH}
        for key in ("code", "family"):
            value = doc.get(key)
            if (key == "code" or value is not None) and self.code(value, key, VERSION_CODE, version) \
                    and len(value) > CODE_MAX_LENGTH:
                self.add(key, version)
        if "schema" in doc and not (_is_int(doc["schema"]) and doc["schema"] == 1):
            self.add("schema", _("must be 1, the one schema this software reads"))
        self.text(doc.get("title"), "title", limit=TITLE_MAX_LENGTH)
        self.text(doc.get("intro"), "intro")
        self.text(doc.get("thanks"), "thanks")
        for key in ("legal_basis", "notes"):
            if doc.get(key) is not None and not isinstance(doc[key], str):
                self.add(key, _("must be text, \"…\""))
        self.factors(doc.get("factors"))
        sections = doc.get("sections")
        self.scale(doc.get("scale"), needs_not_applicable=_any_not_applicable(sections))
        self.sections(sections)
        self.scoring(doc.get("scoring"))
        self.indicators(doc.get("indicators"), doc.get("expectations"))

    def scale(self, scale, needs_not_applicable):
        if not self.obj(scale, "scale", "scale"):
            return
        levels = scale.get("levels")
        codes = [level.get("code") if isinstance(level, dict) and _is_int(level.get("code")) else None
                 for level in levels] if isinstance(levels, list) else None
        if codes != [1, 2, 3, 4, 5]:
            self.add("scale.levels", _("must be the five levels with the codes 1 to 5, in order"))
        else:
            for index, level in enumerate(levels):
                self.obj(level, f"scale.levels[{index}]", "level")
                self.text(level.get("label"), f"scale.levels[{index}].label")
        na = scale.get("not_applicable")
        if na is None:
            if needs_not_applicable:
                self.add("scale.not_applicable", _("is missing: an item allows “not applicable” (allow_na)"))
        elif not (isinstance(na, dict) and _is_int(na.get("code")) and na["code"] == 0):
            self.add("scale.not_applicable", _("must be {\"code\": 0, \"label\": {\"vi\": \"…\", \"en\": \"…\"}}"))
        else:
            self.obj(na, "scale.not_applicable", "level")
            self.text(na.get("label"), "scale.not_applicable.label")

    def factors(self, factors):
        if factors is None:
            return
        if not isinstance(factors, list):
            self.add("factors", _("must be a list, […]"))
            return
        message = _("must be upper-case letters and digits, starting with a letter, e.g. F1")
        for index, factor in enumerate(factors):
            path = f"factors[{index}]"
            if not self.obj(factor, path, "factor"):
                continue
            code = self.code(factor.get("code"), f"{path}.code", SECTION_CODE, message)
            if code in self.factor_codes:
                self.add(f"{path}.code", _("'%(code)s' is used twice") % {"code": code})
            elif code:
                self.factor_codes.append(code)
            self.text(factor.get("label"), f"{path}.label")

    def sections(self, sections):
        if sections is None or (isinstance(sections, list) and not sections):
            self.add("sections", _("a definition needs at least one section") if sections is not None
                     else _("is missing"))
            return
        if not isinstance(sections, list):
            self.add("sections", _("must be a list, […]"))
            return
        seen = set()
        message = _("must be upper-case letters and digits, starting with a letter, e.g. F1")
        for index, section in enumerate(sections):
            path = f"sections[{index}]"
            if not self.obj(section, path, "section"):
                continue
            code = self.code(section.get("code"), f"{path}.code", SECTION_CODE, message)
            if code in seen:
                self.add(f"{path}.code", _("'%(code)s' is used twice") % {"code": code})
            seen.add(code)
            self.text(section.get("title"), f"{path}.title")
            if section.get("lead") is not None:
                self.text(section["lead"], f"{path}.lead")
            items = section.get("items")
            if not isinstance(items, list) or not items:
                self.add(f"{path}.items", _("a section needs a list of at least one item") if items is not None
                         else _("is missing"))
                continue
            for number, item in enumerate(items):
                self.item(item, f"{path}.items[{number}]")

    # ------------------------------------------------------------------ items

    def item(self, item, path):
        code = item.get("code") if isinstance(item, dict) else None
        tag = code if isinstance(code, str) and ITEM_CODE.fullmatch(code) else ""
        if not self.obj(item, path, "item", tag):
            return
        self.code(code, f"{path}.code", ITEM_CODE,
                  _("must be an item code such as F3.2: upper-case letters and digits, a dot, then upper-case "
                    "letters, digits or _"))
        if tag in self.items:
            self.add(f"{path}.code", _("'%(code)s' is used twice") % {"code": tag}, tag)
        kind = item.get("kind") if self.one_of(item.get("kind"), KINDS, f"{path}.kind", tag) else None
        self.text(item.get("text"), f"{path}.text", tag)
        if not isinstance(item.get("required"), bool):
            self.add(f"{path}.required", _("must be true or false"), tag)
        factor = item.get("factor")
        if factor is not None and not (isinstance(factor, str) and factor in self.factor_codes):
            self.add(f"{path}.factor", _("'%(code)s' is not a factor listed in 'factors'") % {"code": _shown(factor)},
                     tag)
        options = self.options(item, path, kind, tag)
        self.kind_keys(item, path, kind, options, tag)
        if item.get("condition") is not None:
            self.condition(item["condition"], f"{path}.condition", tag)
        if item.get("known_from") is not None:
            self.known_from(item, f"{path}.known_from", kind, options, tag)
        if tag and tag not in self.items:
            self.items[tag] = item

    def only(self, path, key, kinds, tag):
        self.add(_join(path, key), _("only %(kinds)s items take '%(key)s'") % {"kinds": kinds, "key": key}, tag)

    def options(self, item, path, kind, tag):
        """The item's options, checked (an empty list where there are none or they are unusable)."""
        options = item.get("options")
        if kind not in ("single", "multiple"):
            if options is not None and kind is not None:
                self.only(path, "options", "single, multiple", tag)
            return []
        path = f"{path}.options"
        if not isinstance(options, list) or len(options) < 2:
            self.add(path, _("a %(kind)s item needs a list of at least two options") % {"kind": kind}, tag)
            return []
        seen = set()
        message = _("must be a lower-case code: letters a-z, digits, _, + or -")
        for index, option in enumerate(options):
            where = f"{path}[{index}]"
            if not self.obj(option, where, "option", tag):
                continue
            code = self.code(option.get("code"), f"{where}.code", OPTION_CODE, message, tag)
            if code in seen:
                self.add(f"{where}.code", _("'%(code)s' is used twice") % {"code": code}, tag)
            seen.add(code)
            self.text(option.get("label"), f"{where}.label", tag)
            if "legacy" in option and not isinstance(option["legacy"], bool):
                self.add(f"{where}.legacy", _("must be true or false"), tag)
        if len(options) > SMALLINT_MAX:
            self.add(path, _("a single choice has at most %(count)s options (its answer is stored as one small "
                             "number)") % {"count": SMALLINT_MAX}, tag)
        if kind == "multiple" and len(options) > MAX_MULTIPLE_OPTIONS:
            self.add(path, _("a multiple choice has at most %(count)s options (its answer is stored as bits of "
                             "one number)") % {"count": MAX_MULTIPLE_OPTIONS}, tag)
        return [option for option in options if isinstance(option, dict)]

    def kind_keys(self, item, path, kind, options, tag):
        """The keys that belong to one kind of item."""
        if "allow_na" in item:
            if kind != "satisfaction":
                self.only(path, "allow_na", "satisfaction", tag)
            elif not isinstance(item["allow_na"], bool):
                self.add(f"{path}.allow_na", _("must be true or false"), tag)
        if "max_choices" in item:
            if kind != "multiple":
                self.only(path, "max_choices", "multiple", tag)
            else:
                self.whole(item["max_choices"], 1, max(len(options), 1), f"{path}.max_choices", tag)
        for key in ("min", "max"):
            if key in item:
                if kind != "number":
                    self.only(path, key, "number", tag)
                else:
                    self.whole(item[key], -SMALLINT_MAX, SMALLINT_MAX, f"{path}.{key}", tag)
        low, high = item.get("min", 0), item.get("max", SMALLINT_MAX)
        if kind == "number" and _is_int(low) and _is_int(high) and low > high:
            self.add(f"{path}.min", _("is larger than max (%(max)s)") % {"max": high}, tag)
        if "max_length" in item:
            if kind != "text":
                self.only(path, "max_length", "text", tag)
            else:
                self.whole(item["max_length"], 1, TEXT_ANSWER_MAX_LENGTH, f"{path}.max_length", tag)
        if "role" in item:
            if kind != "satisfaction":
                self.only(path, "role", "satisfaction", tag)
            else:
                self.one_of(item["role"], ROLES, f"{path}.role", tag)

    def condition(self, condition, path, tag):
        shape = _("must be one of {\"item\": …, \"equals\": …}, {\"item\": …, \"in\": […]}, {\"all\": […]}, "
                  "{\"any\": […]} or {\"not\": …}")
        if not isinstance(condition, dict) or not condition:
            self.add(path, shape, tag)
            return
        keys = set(condition)
        if keys in ({"all"}, {"any"}):
            key = next(iter(keys))
            parts = condition[key]
            if not isinstance(parts, list) or not parts:
                self.add(f"{path}.{key}", _("takes a non-empty list of conditions"), tag)
                return
            for index, part in enumerate(parts):
                self.condition(part, f"{path}.{key}[{index}]", tag)
        elif keys == {"not"}:
            self.condition(condition["not"], f"{path}.not", tag)
        elif keys in ({"item", "equals"}, {"item", "in"}):
            ref = condition["item"]
            if not isinstance(ref, str) or ref not in self.items:
                self.add(f"{path}.item", _("'%(code)s' is not an earlier item (a condition can only look back)")
                         % {"code": _shown(ref)}, tag)
            elif self.items[ref].get("known_from") is not None:
                self.add(f"{path}.item", _("'%(code)s' is filled in from the unit and not asked, so no condition "
                                           "can use it (the kiosk is not sent it)") % {"code": ref}, tag)
            if "in" in keys and (not isinstance(condition["in"], list) or not condition["in"]):
                self.add(f"{path}.in", _("takes a non-empty list of answers"), tag)
        else:
            self.add(path, shape, tag)

    def known_from(self, item, path, kind, options, tag):
        known = item["known_from"]
        if not isinstance(known, dict) or set(known) != {"unit_level"}:
            self.add(path, _("takes one source: {\"unit_level\": {unit level: option code}}"), tag)
            return
        if kind != "single":
            self.add(path, _("only a single choice can be known from the unit"), tag)
        if item.get("condition") is not None:
            self.add(path, _("an item known from the unit cannot have a condition"), tag)
        by_level = known["unit_level"]
        if not isinstance(by_level, dict) or not by_level:
            self.add(f"{path}.unit_level", _("maps unit levels to option codes, e.g. {\"commune\": \"commune\"}"), tag)
            return
        codes = {o.get("code") for o in options if isinstance(o.get("code"), str)}
        for level, option in by_level.items():
            where = f"{path}.unit_level.{level}"
            if level not in UNIT_LEVELS:
                self.add(where, _("'%(level)s' is not a unit level (%(levels)s)")
                         % {"level": level, "levels": ", ".join(UNIT_LEVELS)}, tag)
            if not isinstance(option, str) or option not in codes:
                self.add(where, _("'%(option)s' is not an option of the item") % {"option": _shown(option)}, tag)

    # ------------------------------------------------------------------ scoring

    def scored_item(self, code, path):
        if not (isinstance(code, str) and self.items.get(code, {}).get("kind") == "satisfaction"):
            self.add(path, _("'%(code)s' is not a satisfaction item of this definition") % {"code": _shown(code)})

    def scoring(self, scoring):
        if not self.obj(scoring, "scoring", "scoring"):
            return
        levels = scoring.get("satisfied_levels")
        if not isinstance(levels, list) or not levels or any(not _is_int(x) or not 1 <= x <= 5 for x in levels) \
                or len(set(levels)) != len(levels):
            self.add("scoring.satisfied_levels", _("must be a non-empty list of different levels from 1 to 5"))
        method = scoring.get("factor_method")
        self.one_of(method, FACTOR_METHODS, "scoring.factor_method")
        self.whole(scoring.get("min_responses"), 1, INT_MAX, "scoring.min_responses")
        scored = self.scored_factors(scoring.get("factors"), method)
        headline = scoring.get("headline")
        if not self.obj(headline, "scoring.headline", "headline"):
            return
        if not self.one_of(headline.get("method"), HEADLINE_METHODS, "scoring.headline.method"):
            return
        if headline["method"] == "item":
            self.scored_item(headline.get("item"), "scoring.headline.item")
            return
        factors = headline.get("factors")
        if not isinstance(factors, list) or any(not isinstance(f, str) or f not in scored for f in factors) \
                or len(set(factors)) != len(factors):
            self.add("scoring.headline.factors", _("must list different factors scored in scoring.factors"))

    def scored_factors(self, factors, method):
        if not isinstance(factors, dict):
            self.add("scoring.factors", _("must be a JSON object, {…}") if factors is not None else _("is missing"))
            return []
        for factor, spec in factors.items():
            path = f"scoring.factors.{factor}"
            if factor not in self.factor_codes:
                self.add(path, _("'%(code)s' is not a factor listed in 'factors'") % {"code": factor})
            if not self.obj(spec, path, "scored_factor"):
                continue
            items = spec.get("items")
            if not isinstance(items, list) or not items:
                self.add(f"{path}.items", _("a scored factor needs a list of at least one item"))
            else:
                for index, code in enumerate(items):
                    self.scored_item(code, f"{path}.items[{index}]")
            if spec.get("general_item") is not None:
                self.scored_item(spec["general_item"], f"{path}.general_item")
            elif method == "general_item":
                self.add(f"{path}.general_item", _("is needed for every factor when factor_method is general_item"))
        return list(factors)

    def indicators(self, indicators, expectations):
        if indicators is not None and not isinstance(indicators, list):
            self.add("indicators", _("must be a list, […]"))
        for index, code in enumerate(indicators if isinstance(indicators, list) else []):
            kind = self.items.get(code, {}).get("kind") if isinstance(code, str) else None
            if kind is None:
                self.add(f"indicators[{index}]", _("'%(code)s' is not an item of this definition")
                         % {"code": _shown(code)})
            elif kind in KINDS and kind not in FACTUAL_KINDS:
                self.add(f"indicators[{index}]", _("'%(code)s' is a %(kind)s item: an indicator counts the answers "
                                                   "of a single, multiple, yesno or number item")
                         % {"code": code, "kind": kind})
        if expectations is not None:
            kind = self.items.get(expectations, {}).get("kind") if isinstance(expectations, str) else None
            if kind != "multiple":
                self.add("expectations", _("'%(code)s' is not a multiple choice item of this definition")
                         % {"code": _shown(expectations)})


def _any_not_applicable(sections):
    """Whether an item allows "not applicable" (then the scale must name it)."""
    return isinstance(sections, list) and any(
        isinstance(item, dict) and item.get("allow_na") is True
        for section in sections if isinstance(section, dict) and isinstance(section.get("items"), list)
        for item in section["items"]
    )


def check_definition(doc) -> list[Problem]:
    """Every problem with a definition, in file order as far as the checks allow; empty when it is fine."""
    checker = _Checker()
    checker.definition(doc)
    return checker.problems


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
