"""No ghost taps: a double or triple tap on any kind of control of the kiosk acts once. The screen
changes under the finger after a tap, and the next taps would otherwise land on whatever the next
screen has there (the next question's answer at the same place, "Skip", "Start", "Submit")."""

import pytest

from fieldwork.models import Response
from tests.browser.kiosk import (
    LANDSCAPE,
    SKIP,
    answer_question,
    answer_until,
    chosen,
    current_step,
    make_survey,
    pair,
    settle,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def survey():
    return make_survey()


def multi_tap(page, locator, times, mode, gap_ms=0):
    """`times` taps at the centre of the control, `gap_ms` apart, by a finger (touch) or a mouse; a
    mouse with no gap clicks `times` at once (one click event each, counted in its `detail`)."""
    settle(page)
    box = locator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    if mode == "mouse" and not gap_ms:
        page.mouse.click(x, y, click_count=times)
    else:
        for i in range(times):
            if i:
                page.wait_for_timeout(gap_ms)
            if mode == "touch":
                page.touchscreen.tap(x, y)
            else:
                page.mouse.click(x, y)
    page.wait_for_timeout(1000)  # past the move-on (0.3 s) and the quiet time after it (0.45 s)
    settle(page)


# A slow double tap (the second lands just after the next screen shows), a quick triple tap, and a
# mouse's double and triple click.
@pytest.mark.parametrize(("mode", "times", "gap_ms"),
                         [("touch", 2, 350), ("touch", 3, 200), ("mouse", 2, 350), ("mouse", 3, 0)])
def test_a_double_or_triple_tap_on_any_control_acts_once(chromium, live_server, survey, mode, times, gap_ms):
    context = chromium.new_context(viewport=LANDSCAPE, has_touch=mode == "touch")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    pair(page, live_server, survey["pairing_code"])

    # Start: the first question, nothing chosen on it (its options sit where Start was)
    multi_tap(page, page.get_by_test_id("start"), times, mode, gap_ms)
    assert current_step(page) == "E.FIELD" and chosen(page) == []

    # a single choice: answered, moved on once, nothing chosen on the next question
    multi_tap(page, page.locator('[data-item="E.FIELD"][data-value="transport"]'), times, mode, gap_ms)
    assert current_step(page) == "E.CHANNEL_FILE" and chosen(page) == []
    page.get_by_test_id("back").click()
    assert current_step(page) == "E.FIELD" and chosen(page) == [("E.FIELD", "transport")]
    answer_question(page, {"E.FIELD": "transport"})  # a tap on the chosen answer keeps it and moves on

    # yes / no: the next question has its "no" at the same place
    answer_until(page, "E.EXTRA_PAY", {"E.ONTIME": "on_time"})
    multi_tap(page, page.locator('[data-item="E.EXTRA_PAY"][data-value="no"]'), times, mode, gap_ms)
    assert current_step(page) == "E.HARASS" and chosen(page) == []
    answer_question(page)

    # a multiple-choice option is chosen, not chosen and un-chosen
    multi_tap(page, page.locator('[data-item="E.INFO"][data-value="media"]'), times, mode, gap_ms)
    assert current_step(page) == "E.INFO" and chosen(page) == [("E.INFO", "media")]
    # Next: one question on
    multi_tap(page, page.get_by_test_id("next"), times, mode, gap_ms)
    assert current_step(page) == "F1.1" and chosen(page) == []

    # a satisfaction level: the next rating's face is at the same place
    multi_tap(page, page.locator('[data-item="F1.1"][data-value="4"]'), times, mode, gap_ms)
    assert current_step(page) == "F1.2" and chosen(page) == []
    answer_question(page)

    # Back: one question back
    multi_tap(page, page.get_by_test_id("back"), times, mode, gap_ms)
    assert current_step(page) == "F1.2" and chosen(page) == [("F1.2", "4")]

    # Start over: the confirmation opens and stays open (its buttons are not tapped by the rest)
    multi_tap(page, page.get_by_test_id("start-over"), times, mode, gap_ms)
    assert page.get_by_test_id("restart-confirm").is_visible()
    multi_tap(page, page.get_by_test_id("restart-no"), times, mode, gap_ms)
    assert page.get_by_test_id("restart-confirm").count() == 0
    assert current_step(page) == "F1.2" and page.get_by_test_id("start-over").is_visible()

    # Skip (an optional multiple choice): the next optional question, not skipped, is shown
    answer_until(page, "X.EXPECT", {"F5.0": "no"})
    multi_tap(page, page.get_by_test_id("next"), times, mode, gap_ms)
    assert current_step(page) == "D.GENDER" and chosen(page) == []

    # Submit: one response, and the thank-you screen stays (its "Done" is not tapped)
    answer_until(page, "C.COMMENT", {"X.EXPECT": SKIP})
    multi_tap(page, page.get_by_test_id("submit"), times, mode, gap_ms)
    assert page.get_by_test_id("thanks").is_visible()
    assert wait_for(lambda: Response.objects.count() == 1)
    assert page.evaluate("window.sipasKiosk.outboxCount()") == 0

    # "Clear and start over": the welcome screen, and its Start (at the same place) not tapped
    multi_tap(page, page.get_by_test_id("thanks-done"), 1, mode)
    page.get_by_test_id("welcome").wait_for()
    multi_tap(page, page.get_by_test_id("start"), 1, mode)
    multi_tap(page, page.get_by_test_id("start-over"), 1, mode)
    multi_tap(page, page.get_by_test_id("restart-yes"), times, mode, gap_ms)
    assert page.get_by_test_id("welcome").is_visible() and page.locator("[data-step]").count() == 0

    assert Response.objects.count() == 1
    assert errors == []
    context.close()
