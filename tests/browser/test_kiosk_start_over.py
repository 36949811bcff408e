"""Start over, on every screen where a response is under way (each question, and the screen of a save
that failed), after a confirmation: Yes clears everything and shows the welcome screen in Vietnamese
at the default text size; No (or Escape) keeps every answer. Nothing is stored either way."""

import pytest

from fieldwork.models import Response
from tests.browser.kiosk import (
    BREAKABLE_STORAGE,
    SIZES,
    SKIP,
    answer_question,
    answer_until,
    chosen,
    current_step,
    looks,
    make_kinds_survey,
    make_survey,
    open_kiosk,
    pair,
    set_looks,
    settle,
    tap,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHOICES = {"E.FIELD": "transport", "E.ONTIME": "on_time", "F5.0": "no", "X.EXPECT": SKIP}
COMMENT = "Quầy số 3 đông người, chờ lâu"
DEFAULT_FONT = {"1280x800": 20, "800x1280": 20, "360x740": 17}  # kiosk.css: 1rem


def in_view(page, locator):
    box = locator.bounding_box()
    size = page.viewport_size
    return box and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= size["width"] \
        and box["y"] + box["height"] <= size["height"]


def dialog(page):
    """The dialog shown, as the tests check it: its role, modality, the focused button, the app inert."""
    return page.evaluate("""() => {
        const d = document.querySelector("[role=alertdialog]");
        return d && {
            testid: d.dataset.testid, modal: d.getAttribute("aria-modal"),
            title: document.getElementById(d.getAttribute("aria-labelledby")).textContent,
            focused: document.activeElement.dataset.testid, inert: document.getElementById("kiosk").inert,
        };
    }""")


def nothing_kept(page, *texts):
    """What the respondent typed is nowhere the page could keep it, nor on the screen. (Option codes
    are in the questionnaire's copy in localStorage: the answers are checked on the screens instead.)"""
    stored = page.evaluate("JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage}) + location.href")
    shown = page.content()
    return not any(text in stored or text in shown for text in texts)


@pytest.fixture
def survey():
    return make_survey()


@pytest.mark.parametrize("size", SIZES)
def test_start_over_is_on_every_question_asks_first_and_no_keeps_every_answer(chromium, live_server, survey,
                                                                              artifacts, size):
    shots = artifacts / "kiosk" / "start-over"
    shots.mkdir(parents=True, exist_ok=True)
    context, page, errors = open_kiosk(chromium, size)
    posted = []
    page.on("request", lambda r: posted.append(r.url) if "/api/kiosk/v1/responses" in r.url else None)
    pair(page, live_server, survey["pairing_code"])
    assert page.get_by_test_id("start-over").count() == 0  # nothing under way on the welcome screen
    set_looks(page, "en", large=True)  # the reset has to undo both
    tap(page, page.get_by_test_id("start"))

    # On every question, at the top, in view without scrolling
    asked = []
    while (key := current_step(page)) != "F1.2":
        button = page.get_by_test_id("start-over")
        assert button.is_visible() and in_view(page, button), key
        asked.append(key)
        answer_question(page, CHOICES)
    assert len(asked) == 8 and "E.INFO" in asked  # the first part and a rating: each kind but text answered

    # No: the dialog closes, the question and every answer before it are as they were
    tap(page, page.get_by_test_id("start-over"))
    assert dialog(page) == {"testid": "restart-confirm", "modal": "true", "title": "Start over?",
                            "focused": "restart-no", "inert": True}
    page.screenshot(path=str(shots / f"confirm-{size}.png"))
    tap(page, page.get_by_test_id("restart-no"))
    assert dialog(page) is None and current_step(page) == "F1.2" and chosen(page) == []
    assert page.evaluate("document.activeElement.dataset.testid") == "start-over"  # the focus went back
    kept = {}
    while page.get_by_test_id("back").is_visible():
        tap(page, page.get_by_test_id("back"))
        kept[current_step(page)] = chosen(page)
    assert sorted(kept) == sorted(asked)
    assert all(kept.values()), kept  # each still answered
    assert kept["E.FIELD"] == [("E.FIELD", "transport")] and kept["E.ONTIME"] == [("E.ONTIME", "on_time")]
    assert looks(page)["lang"] == "en" and looks(page)["large"]

    # Escape is No too
    tap(page, page.get_by_test_id("start-over"))
    page.keyboard.press("Escape")
    assert dialog(page) is None and current_step(page) == "E.FIELD" and chosen(page) == [("E.FIELD", "transport")]

    # Yes, on the last question with a comment typed: the welcome screen, in Vietnamese, default text
    while current_step(page) != "F1.2":  # each answered: "Next" goes on
        tap(page, page.get_by_test_id("next"))
        settle(page)
    answer_until(page, "C.COMMENT", CHOICES)
    page.locator('[data-item="C.COMMENT"]').fill(COMMENT)
    assert page.get_by_test_id("start-over").is_visible()
    tap(page, page.get_by_test_id("start-over"))
    page.screenshot(path=str(shots / f"confirm-last-{size}.png"))
    tap(page, page.get_by_test_id("restart-yes"))
    page.get_by_test_id("welcome").wait_for()
    settle(page)
    page.screenshot(path=str(shots / f"after-yes-{size}.png"))
    assert looks(page) == {"lang": "vi", "large": False, "font": DEFAULT_FONT[size]}
    assert page.get_by_test_id("start").inner_text() == "Bắt đầu"
    assert nothing_kept(page, COMMENT)

    # The next person starts afresh
    tap(page, page.get_by_test_id("start"))
    assert current_step(page) == "E.FIELD" and chosen(page) == []
    answer_question(page, {"E.FIELD": "land"})
    assert current_step(page) == "E.CHANNEL_FILE" and chosen(page) == []

    page.wait_for_timeout(1000)
    assert posted == [] and Response.objects.count() == 0
    assert page.evaluate("window.sipasKiosk.outboxCount()") == 0
    assert errors == []
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_start_over_after_a_failed_save_asks_first_and_stores_nothing(chromium, live_server, artifacts, size):
    kinds = make_kinds_survey()
    shots = artifacts / "kiosk" / "start-over"
    shots.mkdir(parents=True, exist_ok=True)
    context, page, errors = open_kiosk(chromium, size)
    page.add_init_script(script=BREAKABLE_STORAGE)
    pair(page, live_server, kinds["pairing_code"])
    tap(page, page.get_by_test_id("start"))
    answer_until(page, "C.COMMENT", {"dossier": "HS-0912", "K.WAIT": "15", "D.GENDER": SKIP})
    page.locator('[data-item="C.COMMENT"]').fill(COMMENT)

    page.evaluate("window.__storageBroken = true")
    context.set_offline(True)
    tap(page, page.get_by_test_id("submit"))
    page.get_by_test_id("save-error").wait_for()
    assert page.get_by_test_id("retry-save").is_visible() and page.get_by_test_id("start-over").is_visible()

    tap(page, page.get_by_test_id("start-over"))
    assert dialog(page)["focused"] == "restart-no"
    page.screenshot(path=str(shots / f"save-error-confirm-{size}.png"))
    tap(page, page.get_by_test_id("restart-no"))
    assert page.get_by_test_id("save-error").is_visible() and dialog(page) is None

    tap(page, page.get_by_test_id("start-over"))
    tap(page, page.get_by_test_id("restart-yes"))
    page.get_by_test_id("welcome").wait_for()
    assert looks(page)["lang"] == "vi" and nothing_kept(page, COMMENT, "HS-0912")

    # The network and the storage are back: still nothing is sent
    page.evaluate("window.__storageBroken = false")
    context.set_offline(False)
    page.evaluate("window.sipasKiosk.flush()")
    page.wait_for_timeout(1500)
    assert wait_for(lambda: page.evaluate("window.sipasKiosk.outboxCount()") == 0)
    assert Response.objects.count() == 0
    assert errors == []
    context.close()
