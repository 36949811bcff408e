"""Reads for the versions pages: the list, and a version laid out for reading on paper."""

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from questionnaires.access import rounds_in_scope
from questionnaires.definition import SMALLINT_MAX
from questionnaires.models import QuestionnaireVersion
from units import access
from units.models import Unit

PREVIEW_UNITS_LIMIT = 300

KIND_LABELS = {
    "satisfaction": gettext_lazy("Satisfaction, 5 levels"),
    "single": gettext_lazy("Single choice"),
    "multiple": gettext_lazy("Multiple choice"),
    "yesno": gettext_lazy("Yes or no"),
    "number": gettext_lazy("Number"),
    "text": gettext_lazy("Free text"),
}
FACTOR_METHOD_LABELS = {
    "mean_of_item_rates": gettext_lazy("the mean of its criteria's rates"),
    "pooled_answers": gettext_lazy("the satisfied answers among all valid answers to its criteria"),
    "general_item": gettext_lazy("the rate of its “in general” question"),
}


def versions_for_list(user):
    """Every version, with the rounds that use it within the user's units (``rounds_count``).
    Rounds point at their version (fieldwork.Round.questionnaire, related name ``rounds``): counted
    through that relation, without importing fieldwork. One query."""
    scope = rounds_in_scope(user)
    count = Count("rounds") if scope is None else Count("rounds", filter=scope)
    return QuestionnaireVersion.objects.defer("definition").annotate(rounds_count=count).order_by("family", "code")


def _in(text, language):
    return text.get(language) or text["vi"]


def _option_label(definition, item, value, language):
    for option in definition.options(item):
        if option["code"] == value:
            return f"{_in(option['label'], language)} ({value})"
    return str(value)


def condition_text(condition, definition, language, nested=False) -> str:
    """A condition in words, with the answers' labels: "F5.0 is Có (yes)"."""
    if not condition:
        return ""
    if "all" in condition or "any" in condition:
        joiner = pgettext("condition", "and") if "all" in condition else pgettext("condition", "or")
        parts = [condition_text(part, definition, language, nested=True) for part in next(iter(condition.values()))]
        text = f" {joiner} ".join(parts)
        return f"({text})" if nested and len(parts) > 1 else text
    if "not" in condition:
        return _("not (%(condition)s)") % {"condition": condition_text(condition["not"], definition, language)}
    item = definition.by_code[condition["item"]]
    values = [condition["equals"]] if "equals" in condition else condition["in"]
    labels = ", ".join(_option_label(definition, item, value, language) for value in values)
    if item["kind"] == "multiple":
        return _("%(item)s includes %(values)s") % {"item": item["code"], "values": labels}
    if len(values) > 1:
        return _("%(item)s is one of %(values)s") % {"item": item["code"], "values": labels}
    return _("%(item)s is %(values)s") % {"item": item["code"], "values": labels}


def _item_notes(definition, item, language) -> list[str]:
    notes = [_("required") if item["required"] else _("optional")]
    if item.get("factor"):
        notes.append(_("factor %(code)s") % {"code": item["factor"]})
    if item.get("role") == "general":
        notes.append(_("the factor's “in general” question"))
    elif item.get("role") == "overall":
        notes.append(_("the overall question"))
    if item.get("allow_na"):
        notes.append(_("“not applicable” offered"))
    if item.get("max_choices"):
        notes.append(_("at most %(count)s choices") % {"count": item["max_choices"]})
    if item["kind"] == "number":
        notes.append(_("from %(low)s to %(high)s") % {"low": item.get("min", 0), "high": item.get("max", SMALLINT_MAX)})
    if item["kind"] == "text":
        notes.append(_("at most %(count)s characters") % {"count": item.get("max_length", 500)})
    return notes


def _known_text(definition, item, language):
    by_level = item.get("known_from", {}).get("unit_level")
    if not by_level:
        return ""
    pairs = "; ".join(f"{level} → {_option_label(definition, item, option, language)}"
                      for level, option in by_level.items())
    return _("Not asked: filled in from the level of the response's unit (%(levels)s).") % {"levels": pairs}


def version_outline(version: QuestionnaireVersion, language: str) -> dict:
    """Everything a reader checks on paper: each section and item with its options, condition and
    notes, then how it is scored."""
    definition, doc = version.parsed, version.definition
    sections = []
    for section in doc["sections"]:
        items = [{
            "code": item["code"], "text": item["text"], "kind": KIND_LABELS[item["kind"]],
            "options": definition.options(item), "notes": _item_notes(definition, item, language),
            "condition": condition_text(item.get("condition"), definition, language),
            "known": _known_text(definition, item, language),
        } for item in section["items"]]
        sections.append({"code": section["code"], "title": section["title"], "lead": section.get("lead"),
                         "items": items})
    return {"doc": doc, "sections": sections, "scoring": _scoring(doc, language)}


def _scoring(doc, language) -> dict:
    scoring = doc["scoring"]
    labels = {f["code"]: _in(f["label"], language) for f in doc.get("factors") or []}
    headline = scoring["headline"]
    if headline["method"] == "item":
        headline_text = _("the rate of %(item)s") % {"item": headline["item"]}
    else:
        headline_text = _("the mean of the factors %(factors)s") % {"factors": ", ".join(headline["factors"])}
    return {
        "satisfied": ", ".join(map(str, scoring["satisfied_levels"])),
        "min_responses": scoring["min_responses"],
        "factor_method": FACTOR_METHOD_LABELS[scoring["factor_method"]],
        "headline": headline_text,
        "factors": [{"code": code, "label": labels.get(code, code), "items": spec["items"],
                     "general_item": spec.get("general_item")} for code, spec in scoring["factors"].items()],
        "indicators": doc.get("indicators") or [],
        "expectations": doc.get("expectations"),
    }


def preview_units(user):
    """Where a version can be previewed (what a kiosk there asks: an item known from the unit is
    not asked): the user's top administered units and the units open today right below them."""
    tops = list(access.top_units(user, access.ADMINISTER)[:50])
    today = timezone.localdate()
    below = (Unit.objects.filter(parent__in=tops).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
             .order_by("path")[:PREVIEW_UNITS_LIMIT])
    return sorted([*tops, *below], key=lambda unit: unit.path)
