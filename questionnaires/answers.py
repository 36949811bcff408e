"""Checking a respondent's answers against a questionnaire version, and packing them for storage.

The same rules serve the kiosk API, the no-JavaScript form and paper entry. Their messages are in
the active language: the page's on the form and the paper pages, English in the kiosk API (which
answers the device, fieldwork.kiosk_api).
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from questionnaires.definition import SMALLINT_MAX, Definition, condition_holds
from surveyapp.limits import control_character, describe


@dataclass
class PackedAnswers:
    slots: list  # one smallint (or None) per item, in definition order
    texts: dict | None  # text answers by item code, or None when there are none
    known: dict = field(default_factory=dict)  # the answers filled in from the unit (pack_answers' known)


class AnswerErrors(Exception):
    def __init__(self, errors: dict):
        super().__init__("invalid answers")
        self.errors = errors


def _is_whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _pack_one(definition: Definition, item, value):
    """The stored smallint for one answer; raises ValueError with a message for the citizen's data."""
    kind = item["kind"]
    if kind == "satisfaction":
        if _is_whole(value) and (1 <= value <= 5 or (value == 0 and item.get("allow_na"))):
            return value
        allowed = [1, 2, 3, 4, 5] + ([0] if item.get("allow_na") else [])
        raise ValueError(_("must be one of %(values)s") % {"values": ", ".join(map(str, allowed))})
    if kind == "yesno":
        if value not in ("yes", "no"):
            raise ValueError(_("must be 'yes' or 'no'"))
        return 1 if value == "yes" else 2
    if kind == "single":
        number = definition.option_numbers[item["code"]].get(value) if isinstance(value, str) else None
        if number is None:
            codes = [o["code"] for o in item["options"]]
            raise ValueError(_("'%(value)s' is not an option: use one of %(options)s")
                             % {"value": value, "options": ", ".join(codes)})
        return number
    if kind == "multiple":
        return _pack_multiple(definition, item, value)
    if kind == "number":
        low, high = item.get("min", 0), item.get("max", SMALLINT_MAX)
        if not _is_whole(value) or not low <= value <= high:
            raise ValueError(_("must be a whole number from %(low)s to %(high)s") % {"low": low, "high": high})
        return value
    raise AssertionError(kind)


def _pack_multiple(definition, item, value):
    numbers = definition.option_numbers[item["code"]]
    if not isinstance(value, list) or not value:
        raise ValueError(_("must be a non-empty list of options"))
    unknown = [v for v in value if not isinstance(v, str) or v not in numbers]
    if unknown:
        raise ValueError(_("%(values)s not an option: use %(options)s")
                         % {"values": ", ".join(map(str, unknown)), "options": ", ".join(numbers)})
    if len(set(value)) != len(value):
        raise ValueError(_("an option is chosen twice"))
    if item.get("max_choices") and len(value) > item["max_choices"]:
        raise ValueError(_("at most %(count)s choices") % {"count": item["max_choices"]})
    mask = 0
    for v in value:
        mask |= 1 << (numbers[v] - 1)
    return mask


def _check_text(item, value):
    limit = item.get("max_length", 500)
    if not isinstance(value, str):
        raise ValueError(_("must be text"))
    if len(value) > limit:
        raise ValueError(_("must be at most %(limit)s characters") % {"limit": limit})
    char = control_character(value, multiline=True)
    if char is not None and "\ud800" <= char <= "\udfff":  # from JSON "\ud800": no such character exists
        raise ValueError(_("must be valid Unicode text (it holds half of a surrogate pair)"))
    if char is not None:
        raise ValueError(_("must not contain the invisible control character %(character)s")
                         % {"character": describe(char)})
    return value.strip()


def _empty(value):
    return value is None or value == "" or value == []


def pack_answers(definition: Definition, answers, known: dict | None = None) -> PackedAnswers:
    """Check every answer and pack them; raises AnswerErrors naming each bad item.

    ``known``: the answers the server knows from the response's unit (``Definition.known_answers``),
    filled in where the answer is left out; a different answer to such an item is refused (it
    usually means the wrong unit). None when the unit is not known yet (a paper form checked
    before its unit is chosen): then an item that would be known may be left out."""
    if not isinstance(answers, dict):
        raise AnswerErrors({"answers": [_("must be an object of item codes to answers")]})
    errors = {}
    for code in answers:
        if code not in definition.by_code:
            errors[code] = [_("unknown item '%(code)s' in %(version)s") % {"code": code,
                                                                             "version": definition.doc["code"]}]
    slots, texts = [None] * len(definition.items), {}
    given = {}  # answers accepted so far, which later conditions are evaluated on
    for index, item in enumerate(definition.items):
        code = item["code"]
        asked = condition_holds(item.get("condition"), given)
        value = answers.get(code)
        if known and code in known:
            if not _empty(value) and value != known[code]:
                errors[code] = [_("is known from the response's unit ('%(value)s'): leave it out or give "
                                  "'%(value)s' (a different answer usually means the wrong unit)")
                                % {"value": known[code]}]
                continue
            value = known[code]
        if _empty(value):
            unit_to_come = known is None and item.get("known_from") is not None
            if asked and item["required"] and not unit_to_come:
                errors[code] = [_("an answer is required")]
            continue
        if not asked:
            errors[code] = [_("this item is not asked given the earlier answers (its condition is false)")]
            continue
        try:
            if item["kind"] == "text":
                texts[code] = _check_text(item, value)
            else:
                slots[index] = _pack_one(definition, item, value)
        except ValueError as exc:
            errors[code] = [str(exc)]
            continue
        given[code] = value
    if errors:
        raise AnswerErrors(errors)
    return PackedAnswers(slots=slots, texts=texts or None, known=known or {})


def unpack_answers(definition: Definition, slots, texts) -> dict:
    """The answers in API form again: the inverse of pack_answers."""
    answers = {}
    for item, value in zip(definition.items, slots, strict=False):
        if value is None:
            continue
        kind = item["kind"]
        if kind in ("satisfaction", "number"):
            answers[item["code"]] = value
        elif kind == "yesno":
            answers[item["code"]] = "yes" if value == 1 else "no"
        elif kind == "single":
            answers[item["code"]] = item["options"][value - 1]["code"]
        elif kind == "multiple":
            answers[item["code"]] = [o["code"] for i, o in enumerate(item["options"]) if value & (1 << i)]
    answers.update(texts or {})
    return answers
