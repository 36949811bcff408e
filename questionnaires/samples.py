"""Made-up answers that look like real citizens' ones: for the demo data set and the benchmarks.

Never used for real responses. Each answer set is valid for its questionnaire version (conditions,
required items, "not applicable" only where allowed; items known from the unit left out, as a kiosk
leaves them); callers still pass them through the same
checks as the kiosk API (``pack_answers`` or ``response_submit``).
"""

import random

from questionnaires.definition import condition_holds

# How a rating falls before the citizen's mood moves it: about 80 % satisfied (4-5), as SIPAS reports.
LEVELS, LEVEL_WEIGHTS = [1, 2, 3, 4, 5], [2, 5, 13, 45, 35]
COMMENTS = ["Cán bộ nhiệt tình", "Cần thêm ghế chờ", "Thủ tục còn rườm rà", "Rất hài lòng", "Trả kết quả đúng hẹn"]


def sample_answers(definition, rng: random.Random, *, tilt: float = 0.0) -> dict:
    """One citizen's answers in API form: most satisfied (a personal mood moves every rating a
    little), "not applicable" now and then where allowed, optional items often skipped, conditional
    items answered only when their condition holds. ``tilt`` in [-1, 1] makes a unit's citizens
    grumpier (negative) or happier (positive) than most."""
    tilt = max(-1.0, min(1.0, tilt))
    mood = rng.choices([-1, 0, 1], weights=[15 - 12 * tilt, 70, 15 + 12 * tilt], k=1)[0]
    answers = {}
    for item in definition.items:
        if item.get("known_from") or not condition_holds(item.get("condition"), answers):
            continue  # an answer known from the unit is filled in when the response is stored
        if not item["required"] and rng.random() < 0.35:
            continue
        kind = item["kind"]
        if kind == "satisfaction":
            if item.get("allow_na") and rng.random() < 0.06:
                answers[item["code"]] = 0
            else:
                level = rng.choices(LEVELS, weights=LEVEL_WEIGHTS, k=1)[0] + mood
                answers[item["code"]] = max(1, min(5, level))
        elif kind == "single":
            codes = [o["code"] for o in item["options"]]
            # The first options are the common ones (land, commune level, in person, one visit...).
            answers[item["code"]] = rng.choices(codes, weights=[1 / (i + 1) for i in range(len(codes))], k=1)[0]
        elif kind == "multiple":
            codes = [o["code"] for o in item["options"]]
            answers[item["code"]] = rng.sample(codes, rng.randint(1, min(item.get("max_choices") or 2, 2)))
        elif kind == "yesno":
            answers[item["code"]] = "yes" if rng.random() < (0.25 if item["code"] == "F5.0" else 0.05) else "no"
        elif kind == "number":
            low, high = item.get("min", 0), item.get("max", 100)
            answers[item["code"]] = rng.randint(low, min(high, low + 10))
        elif kind == "text" and rng.random() < 0.1:
            answers[item["code"]] = rng.choice(COMMENTS)
    return answers
