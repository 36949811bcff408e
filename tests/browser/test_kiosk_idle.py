"""Nothing left for the next person, with time driven by Playwright's clock (no test sleeps for real).
After the questionnaire's idle_seconds without a touch the kiosk asks whether the citizen is still
there and gives 20 s to say so (WCAG 2.2.1 asks for at least 20 s); Continue keeps every answer.
Without an answer, and after the thank-you screen, and when someone changed the language or the text
size at the welcome screen and walked away, the kiosk returns to the welcome screen in Vietnamese, at
the default text size, with no answers."""

import pytest
from django.test import override_settings

from fieldwork.models import Response
from tests.browser.kiosk import (
    SIZES,
    answer_question,
    chosen,
    complete_questionnaire,
    current_step,
    looks,
    make_idle_kiosk,
    make_survey,
    open_kiosk,
    pair,
    run_until,
    set_looks,
    stand_still,
    tap,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IDLE_SECONDS = 40  # the questionnaire's idle_seconds (KIOSK_IDLE_SECONDS), not a number of the kiosk's own
DEFAULT = {size: {"lang": "vi", "large": False, "font": 17 if size == "360x740" else 20} for size in SIZES}
PROMPT = "[data-testid=still-there]"


@pytest.fixture
def survey():
    return make_survey()


def prompt(page):
    return page.evaluate("""() => {
        const d = document.querySelector("[data-testid=still-there]");
        return d && {count: d.querySelector(".countdown").textContent,
                     body: d.querySelector(".overlay-body").textContent,
                     focused: document.activeElement.dataset.testid, inert: document.getElementById("kiosk").inert};
    }""")


def answer_three(page, live_server, survey):
    pair(page, live_server, survey["pairing_code"])
    set_looks(page, "en", large=True)
    tap(page, page.get_by_test_id("start"))
    assert [answer_question(page)[0] for _ in range(3)] == ["E.FIELD", "E.CHANNEL_FILE", "E.VISITS"]
    assert current_step(page) == "E.ONTIME"


@override_settings(KIOSK_IDLE_SECONDS=IDLE_SECONDS)
@pytest.mark.parametrize("size", SIZES)
def test_the_idle_prompt_comes_after_idle_seconds_gives_20_s_and_continue_keeps_every_answer(
        chromium, live_server, survey, artifacts, size):
    context, page, errors = open_kiosk(chromium, size)
    page.clock.install()
    answer_three(page, live_server, survey)

    still = stand_still(page)
    assert run_until(page, f"!!document.querySelector('{PROMPT}')", IDLE_SECONDS * 1000 - 250) is None
    shown = run_until(page, f"!!document.querySelector('{PROMPT}')", 1000)
    assert shown is not None and IDLE_SECONDS * 1000 <= shown - still <= IDLE_SECONDS * 1000 + 250
    assert prompt(page) == {"count": "20", "focused": "continue", "inert": True, "body": (
        "If not, your answers will be cleared and the survey will return to the start in 20 seconds.")}
    page.screenshot(path=str(artifacts / "kiosk" / f"idle-prompt-{size}.png"))

    # A touch beside the prompt's buttons is not an answer to it, nor takes the focus from Continue
    page.mouse.click(5, page.viewport_size["height"] - 5)
    page.clock.run_for(19_250)
    assert prompt(page) == {"count": "1", "focused": "continue", "inert": True, "body": (  # 19.25 s later, still asking
        "If not, your answers will be cleared and the survey will return to the start in 1 second.")}
    page.keyboard.press("Enter")  # Continue has the focus
    assert prompt(page) is None
    page.clock.resume()
    assert current_step(page) == "E.ONTIME" and chosen(page) == []
    assert looks(page)["lang"] == "en" and looks(page)["large"]
    tap(page, page.get_by_test_id("back"))
    assert current_step(page) == "E.VISITS" and len(chosen(page)) == 1

    # Another prompt only after another full idle_seconds without a touch
    still = stand_still(page)
    shown = run_until(page, f"!!document.querySelector('{PROMPT}')", IDLE_SECONDS * 1000 + 1000)
    assert IDLE_SECONDS * 1000 <= shown - still <= IDLE_SECONDS * 1000 + 250
    page.clock.resume()
    tap(page, page.get_by_test_id("continue"))
    assert prompt(page) is None and current_step(page) == "E.VISITS" and len(chosen(page)) == 1
    assert Response.objects.count() == 0 and errors == []
    context.close()


@override_settings(KIOSK_IDLE_SECONDS=IDLE_SECONDS)
@pytest.mark.parametrize("size", SIZES)
def test_without_an_answer_to_the_prompt_the_kiosk_forgets_everything_after_20_s(
        chromium, live_server, survey, artifacts, size):
    context, page, errors = open_kiosk(chromium, size)
    page.clock.install()
    answer_three(page, live_server, survey)

    stand_still(page)
    shown = run_until(page, f"!!document.querySelector('{PROMPT}')", IDLE_SECONDS * 1000 + 1000)
    home = run_until(page, "!!document.querySelector('[data-testid=welcome]')", 30_000)
    assert 20_000 <= home - shown <= 20_500, home - shown  # 20 s to answer, and no more than a tick after
    assert looks(page) == DEFAULT[size]
    page.screenshot(path=str(artifacts / "kiosk" / f"idle-reset-{size}.png"))

    page.clock.resume()
    assert page.get_by_test_id("start").inner_text() == "Bắt đầu"
    tap(page, page.get_by_test_id("start"))
    assert current_step(page) == "E.FIELD" and chosen(page) == []
    answer_question(page)
    assert current_step(page) == "E.CHANNEL_FILE" and chosen(page) == []
    assert page.evaluate("window.sipasKiosk.outboxCount()") == 0 and Response.objects.count() == 0
    assert errors == []
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_after_the_thank_you_the_kiosk_returns_to_vietnamese_default_text_and_no_answers(
        chromium, live_server, survey, artifacts, size):
    context, page, errors = open_kiosk(chromium, size)
    page.clock.install()
    pair(page, live_server, survey["pairing_code"])
    set_looks(page, "en", large=True)
    complete_questionnaire(page, choices={"E.FIELD": "transport"})
    assert looks(page)["lang"] == "en" and looks(page)["large"]  # the thank-you in the citizen's choice
    page.screenshot(path=str(artifacts / "kiosk" / f"thanks-large-en-{size}.png"))

    stand_still(page)
    home = run_until(page, "!!document.querySelector('[data-testid=welcome]')", 10_000)
    assert home is not None
    assert looks(page) == DEFAULT[size]
    page.clock.resume()
    assert wait_for(lambda: Response.objects.count() == 1)
    tap(page, page.get_by_test_id("start"))
    assert current_step(page) == "E.FIELD" and chosen(page) == []
    assert errors == []
    context.close()


@override_settings(KIOSK_IDLE_SECONDS=IDLE_SECONDS)
@pytest.mark.parametrize("size", SIZES)
def test_a_language_or_text_size_chosen_by_someone_who_walked_away_is_undone(chromium, live_server, survey,
                                                                             artifacts, size):
    """On the welcome screen, and on the "no survey" screen."""
    idle_kiosk = make_idle_kiosk()
    context, page, errors = open_kiosk(chromium, size)
    page.clock.install()
    for code, screen in ((survey["pairing_code"], "welcome"), (idle_kiosk["pairing_code"], "no-survey")):
        page.clock.resume()
        pair(page, live_server, code, screen)
        set_looks(page, "en", large=True)
        still = stand_still(page)
        back = run_until(page, "document.documentElement.lang === 'vi'", IDLE_SECONDS * 1000 + 1000)
        assert IDLE_SECONDS * 1000 <= back - still <= IDLE_SECONDS * 1000 + 250, screen
        assert looks(page) == DEFAULT[size] and page.get_by_test_id(screen).is_visible()
    assert errors == []
    context.close()

