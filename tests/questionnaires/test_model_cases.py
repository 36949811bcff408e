"""The shared condition and validation cases (model_cases.json) against the server's own rules:
questionnaires.definition.condition_holds and questionnaires.answers.pack_answers. The same cases
run against the kiosk's model.js in tests/browser/test_kiosk_model.py."""

import re

import pytest

from questionnaires.answers import AnswerErrors, pack_answers, unpack_answers
from questionnaires.definition import condition_holds
from tests.questionnaires.model_cases import CASES

# The server's messages (questionnaires/answers.py), by the problem the cases call them.
MESSAGES = [
    (r"^an answer is required$", "required"),
    (r"^this item is not asked given the earlier answers", "not_asked"),
    (r"^unknown item '", "unknown_item"),
    (r"^must be one of [\d, ]+$", "not_an_option"),  # satisfaction: 1-5, and 0 where allowed
    (r"^must be 'yes' or 'no'$", "not_an_option"),
    (r"not an option: use ", "not_an_option"),  # single and multiple choice
    (r"^must be a non-empty list of options$", "not_an_option"),
    (r"^an option is chosen twice$", "chosen_twice"),
    (r"^at most \d+ choices$", "too_many_choices"),
    (r"^must be a whole number from -?\d+ to \d+$", "out_of_range"),
    (r"^must be text$", "not_text"),
    (r"^must be at most \d+ characters$", "too_long"),
    (r"^must be valid Unicode text", "bad_character"),
    (r"^must not contain the invisible control character", "bad_character"),
]


def problem(messages):
    [message] = messages
    for pattern, name in MESSAGES:
        if re.search(pattern, message):
            return name
    raise AssertionError(f"the server says {message!r}: name its problem in MESSAGES")


def server_problems(definition, answers):
    try:
        pack_answers(definition, answers)
    except AnswerErrors as exc:
        return {code: problem(messages) for code, messages in exc.errors.items()}
    return {}


def by_name(case):
    return case.name


@pytest.mark.parametrize("case", CASES, ids=by_name)
def test_the_items_asked_are_the_visible_ones(case):
    # In definition order, each item's condition on the earlier answers to items asked: the same
    # walk pack_answers makes, so an answer to an item not asked is one the kiosk drops.
    asked, kept = [], {}
    for item in case.definition.items:
        if condition_holds(item.get("condition"), kept):
            asked.append(item["code"])
            if item["code"] in case.answers:
                kept[item["code"]] = case.answers[item["code"]]

    assert asked == case.visible
    assert set(case.sent) <= set(kept)
    assert {c: v for c, v in case.sent.items() if case.definition.by_code[c]["kind"] != "text"} == {
        c: kept[c] for c in case.sent if case.definition.by_code[c]["kind"] != "text"}


@pytest.mark.parametrize("case", CASES, ids=by_name)
def test_the_server_finds_the_problems_of_what_the_kiosk_sends(case):
    assert server_problems(case.definition, case.sent) == case.errors
    if not case.errors:  # stored, it reads back as it was sent
        packed = pack_answers(case.definition, case.sent)
        assert unpack_answers(case.definition, packed.slots, packed.texts) == case.sent


@pytest.mark.parametrize("case", CASES, ids=by_name)
def test_the_server_finds_the_problems_of_the_answers_as_given(case):
    assert server_problems(case.definition, case.answers) == case.refused


def test_the_cases_cover_every_problem_and_every_kind_of_condition():
    named = {kind for case in CASES for kind in [*case.errors.values(), *case.refused.values()]}
    conditions = {key for case in CASES for item in case.definition.items
                  for key in _condition_keys(item.get("condition"))}

    assert len(CASES) >= 30
    assert named == {"required", "not_asked", "unknown_item", "not_an_option", "chosen_twice", "too_many_choices",
                     "out_of_range", "not_text", "too_long", "bad_character"}
    assert conditions == {"equals", "in", "all", "any", "not"}


def _condition_keys(condition):
    if not condition:
        return set()
    if "item" in condition:
        return set(condition) - {"item"}
    parts = condition.get("all") or condition.get("any") or [condition.get("not")]
    return set(condition).union(*(_condition_keys(part) for part in parts))
