"""One tap an answer: a whole response on the kiosk, counted in taps, at the two tablet sizes and on a
phone. The figure is printed (and kept in test-artifacts/kiosk/taps.txt) for the README."""

import datetime

import pytest

from fieldwork.models import Response
from tests.browser.kiosk import SIZES, SKIP, TABLETS, complete_questionnaire, make_survey, pair, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A citizen in a hurry: got the result on time (so the results questions are asked), gave no feedback
# (F5.0 = no), passes the optional "what to improve" and leaves no comment; answers the rest.
HURRIED = {"E.ONTIME": "on_time", "F5.0": "no", "X.EXPECT": SKIP}


@pytest.fixture
def survey():
    return make_survey()


@pytest.mark.parametrize("size", SIZES)
def test_a_whole_response_takes_one_tap_a_question_plus_two_and_no_scrolling_on_a_tablet(
        chromium, live_server, survey, artifacts, capsys, size):
    shots = artifacts / "kiosk" / f"one-tap-{size}"
    shots.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport=SIZES[size], locale="vi-VN", has_touch=True)
    page = context.new_page()
    errors, sent = [], []
    page.on("pageerror", lambda error: errors.append(error))
    page.on("request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/api/kiosk/v1/responses") else None)
    pair(page, live_server, survey["pairing_code"])

    walk = complete_questionnaire(page, shots, choices=HURRIED, touch=True)

    figure = f"{size}: {walk.taps} taps for {len(walk.asked)} questions asked"
    with capsys.disabled():
        print(f"\n[kiosk taps] {figure}")
    with (artifacts / "kiosk" / "taps.txt").open("a", encoding="utf-8") as out:
        out.write(f"{datetime.date.today().isoformat()} {figure}\n")
    assert walk.taps <= len(walk.asked) + 2, figure
    assert "E.LEVEL" not in walk.asked  # the server knows it from the kiosk's unit
    assert "F4.1" in walk.asked and "F5.1" not in walk.asked  # results asked, feedback ratings not
    if size in TABLETS:
        assert {screen: px for screen, px in walk.overflows.items() if px > 0} == {}
    assert wait_for(lambda: Response.objects.count() == 1)
    # Playwright hands the page's events to the test only while it talks to the page: ask it something
    assert wait_for(lambda: page.evaluate("true") and sent)
    answers = sent[0]["answers"]
    assert answers["F5.0"] == "no" and "X.EXPECT" not in answers and "C.COMMENT" not in answers
    assert len(answers) == len(walk.asked) - 2
    assert errors == []
    context.close()
