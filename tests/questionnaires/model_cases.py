"""The condition and validation cases of model_cases.json, read once for both runners: the server's
(test_model_cases.py) and the kiosk's (tests/browser/test_kiosk_model.py). Each case comes out
complete: a checked definition document, the answers, and every expectation spelled out."""

import copy
import json
from dataclasses import dataclass
from pathlib import Path

from questionnaires.definition import Definition

CASES_FILE = Path(__file__).with_name("model_cases.json")
DEFINITIONS = Path(__file__).resolve().parents[2] / "questionnaires" / "definitions"
PROBLEMS = ("required", "not_asked", "unknown_item", "not_an_option", "chosen_twice", "too_many_choices",
            "out_of_range", "not_text", "too_long", "bad_character")


@dataclass
class Case:
    name: str
    definition: Definition
    answers: dict
    visible: list
    sent: dict
    errors: dict
    refused: dict


def _text(code):
    return {"vi": code, "en": code}


def _document(sections):
    """A whole definition around the case's sections: texts and labels filled in, nothing scored."""
    sipas = json.loads((DEFINITIONS / "sipas-2017.json").read_text(encoding="utf-8"))
    sections = copy.deepcopy(sections)
    for section in sections:
        section.setdefault("title", _text(section["code"]))
        for item in section["items"]:
            item.setdefault("text", _text(item["code"]))
            if "options" in item:
                item["options"] = [{"code": code, "label": _text(code)} for code in item["options"]]
    return {
        "code": "model-cases", "title": _text("cases"), "intro": _text("cases"), "thanks": _text("cases"),
        "scale": sipas["scale"], "sections": sections, "factors": [],
        "scoring": {"satisfied_levels": [4, 5], "factor_method": "mean_of_item_rates", "min_responses": 1,
                    "factors": {}, "headline": {"method": "mean_of_factors", "factors": []}},
    }


def _strings(value):
    """{"repeat": S, "times": N} → S * N, anywhere in a value."""
    if isinstance(value, dict) and set(value) == {"repeat", "times"}:
        return value["repeat"] * value["times"]
    if isinstance(value, dict):
        return {k: _strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings(v) for v in value]
    return value


def _answered(value):
    return value not in (None, "", []) and not (isinstance(value, str) and not value.strip())


def load_cases():
    data = json.loads(CASES_FILE.read_text(encoding="utf-8"))
    cases = []
    for raw in data["cases"]:
        raw = _strings(raw)
        source = raw["questionnaire"]
        if source in data["questionnaires"]:
            doc = _document(data["questionnaires"][source])
        else:
            doc = json.loads((DEFINITIONS / f"{source}.json").read_text(encoding="utf-8"))
        definition = Definition.from_doc(doc)
        answers = raw["answers"]
        if "answers_base" in raw:
            answers = {**_strings(data["answer_sets"][raw["answers_base"]]), **answers}
            answers = {code: value for code, value in answers.items() if value is not None}
        codes = [item["code"] for item in definition.items]
        visible = raw["visible"] if "visible" in raw else [c for c in codes if c not in raw["hidden"]]
        sent = raw.get("sent", {c: v for c, v in answers.items() if c in visible and _answered(v)})
        errors = raw.get("errors", {})
        refused = raw.get("refused", errors)
        for problems in (errors, refused):
            assert set(problems.values()) <= set(PROBLEMS), f"{raw['name']}: unknown problem in {problems}"
        cases.append(Case(raw["name"], definition, answers, visible, sent, errors, refused))
    names = [case.name for case in cases]
    assert len(set(names)) == len(names), "two cases share a name"
    return cases


CASES = load_cases()
