"""Made-up answers (demo data, benchmarks) are valid for the questionnaires and look like real ones."""

import json
import random

from questionnaires.answers import pack_answers
from questionnaires.definition import Definition
from questionnaires.samples import sample_answers
from questionnaires.services import DEFINITIONS_DIR


def definition(code):
    return Definition.from_doc(json.loads((DEFINITIONS_DIR / f"{code}.json").read_text(encoding="utf-8")))


def test_every_synthetic_answer_set_passes_the_apis_checks_for_every_questionnaire():
    for path in sorted(DEFINITIONS_DIR.glob("*.json")):
        version = definition(path.stem)
        known = version.known_answers(["commune"])  # what the writer fills in for a commune's response
        rng = random.Random(3)
        for _ in range(2000):
            pack_answers(version, sample_answers(version, rng), known=known)  # AnswerErrors if one is invalid


def test_synthetic_answers_leave_what_the_unit_tells_to_the_writer_and_follow_the_results_condition():
    version = definition("sipas-2017-r2026")
    rng = random.Random(11)
    sets = [sample_answers(version, rng) for _ in range(500)]

    assert not any("E.LEVEL" in answers for answers in sets)
    waiting = [answers for answers in sets if answers["E.ONTIME"] == "not_yet"]
    assert waiting and not any("F4.1" in answers for answers in waiting)
    assert all("F4.1" in answers for answers in sets if answers["E.ONTIME"] != "not_yet")


def test_synthetic_citizens_are_mostly_satisfied_sometimes_not_and_skip_optional_items():
    version = definition("sipas-2017")
    rng = random.Random(5)
    sets = [sample_answers(version, rng) for _ in range(3000)]
    ratings = [v for answers in sets for code, v in answers.items()
               if version.by_code[code]["kind"] == "satisfaction"]
    rated = [v for v in ratings if v]

    satisfied = sum(v >= 4 for v in rated) / len(rated)
    assert 0.6 < satisfied < 0.95
    assert any(v <= 2 for v in rated)
    assert 0 < ratings.count(0) / len(ratings) < 0.1  # "not applicable" now and then
    optional = [item["code"] for item in version.items if not item["required"]]
    skipped = sum(code not in answers for answers in sets for code in optional) / (len(sets) * len(optional))
    assert 0.2 < skipped < 0.6
    # Factor 5 is asked only of those who gave feedback, and then answered.
    gave_feedback = [answers for answers in sets if answers["F5.0"] == "yes"]
    assert 0 < len(gave_feedback) < len(sets) / 2
    assert all("F5.1" in answers for answers in gave_feedback)
    assert not any("F5.1" in answers for answers in sets if answers["F5.0"] == "no")


def satisfied_share(version, rng, tilt, count=2000):
    rated = [v for _ in range(count) for code, v in sample_answers(version, rng, tilt=tilt).items()
             if version.by_code[code]["kind"] == "satisfaction" and v]
    return sum(v >= 4 for v in rated) / len(rated)


def test_a_tilt_makes_a_units_citizens_grumpier_or_happier():
    version = definition("sipas-2017")
    grumpy, usual, happy = (satisfied_share(version, random.Random(7), tilt) for tilt in (-1, 0, 1))

    assert grumpy + 0.05 < usual < happy - 0.02
