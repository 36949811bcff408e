"""Larger text, on every screen: a toggle in the strip above each screen makes every word 25 % larger
(CSS only: nothing is rebuilt, no answer lost). At the larger size no screen needs scrolling
sideways, in Vietnamese or in English, and on the tablets none scrolls up and down either; how many
screens scroll up and down on a phone (the larger of the two languages) is measured and printed (and
kept in test-artifacts/kiosk/large-text.txt) for the README."""

import datetime

import pytest

from tests.browser.kiosk import (
    SIZES,
    TABLETS,
    answer_question,
    chosen,
    current_step,
    looks,
    make_survey,
    open_kiosk,
    overflow,
    pair,
    settle,
    sideways,
    tap,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FONT = {"1280x800": (20, 25), "800x1280": (20, 25), "360x740": (17, 21)}  # kiosk.css: 1rem, default and larger
CHOICES = {"E.FIELD": "transport", "E.ONTIME": "on_time", "F5.0": "yes"}  # every question asked (the feedback ones too)
SHOTS = ("E.FIELD", "E.INFO", "F1.1", "F1.2", "F5.0", "D.OCCUPATION", "C.COMMENT")


@pytest.fixture
def survey():
    return make_survey()


def toggle(page):
    button = page.get_by_test_id("large-text")
    return {"shown": button.is_visible(), "pressed": button.get_attribute("aria-pressed")}


@pytest.mark.parametrize("size", SIZES)
def test_larger_text_is_on_every_screen_and_no_screen_then_scrolls_sideways(chromium, live_server, survey,
                                                                           artifacts, capsys, size):
    shots = artifacts / "kiosk" / "large-text"
    shots.mkdir(parents=True, exist_ok=True)
    context, page, errors = open_kiosk(chromium, size)
    pair(page, live_server, survey["pairing_code"])
    default, larger = FONT[size]
    assert looks(page)["font"] == default and toggle(page) == {"shown": True, "pressed": "false"}
    tap(page, page.get_by_test_id("large-text"))
    assert looks(page)["font"] == larger and toggle(page) == {"shown": True, "pressed": "true"}
    assert page.evaluate("document.activeElement.dataset.testid") == "large-text"  # nothing rebuilt
    assert sideways(page) == []
    page.screenshot(path=str(shots / f"{size}-welcome.png"))
    scrolls = {"welcome": overflow(page)}

    tap(page, page.get_by_test_id("start"))
    asked = []
    while True:
        key = current_step(page)
        asked.append(key)
        assert toggle(page) == {"shown": True, "pressed": "true"}, key
        assert sideways(page) == [], key
        scrolls[key] = overflow(page)
        if key in SHOTS:
            page.screenshot(path=str(shots / f"{size}-{len(asked):02d}-{key}.png"))
        tap(page, page.get_by_test_id("lang-en"))  # English words are often longer
        assert sideways(page) == [], f"{key} in English"
        scrolls[key] = max(scrolls[key], overflow(page))
        if key in SHOTS:
            page.screenshot(path=str(shots / f"{size}-{len(asked):02d}-{key}-en.png"))
        tap(page, page.get_by_test_id("lang-vi"))
        settle(page)
        if key == "F1.2":  # off and on again on a question: the answers stay, the screen is not rebuilt
            tap(page, page.locator('[data-item="F1.2"][data-value="0"]'))
            page.locator('[data-step="F1.3"]').wait_for()
            tap(page, page.get_by_test_id("back"))
            tap(page, page.get_by_test_id("large-text"))
            assert looks(page)["font"] == default and chosen(page) == [("F1.2", "0")]
            page.wait_for_timeout(700)  # a second tap on the same button within 0.6 s is a ghost tap
            tap(page, page.get_by_test_id("large-text"))
            assert looks(page)["font"] == larger and chosen(page) == [("F1.2", "0")]
            settle(page)
        key, _, last = answer_question(page, CHOICES)
        if last:
            break
    page.get_by_test_id("thanks").wait_for()
    assert toggle(page) == {"shown": True, "pressed": "true"} and sideways(page) == []
    scrolls["thanks"] = overflow(page)
    page.screenshot(path=str(shots / f"{size}-thanks.png"))

    scrolling = {key: px for key, px in scrolls.items() if px > 0}
    figure = (f"{size}: larger text ({larger} px a rem): {len(asked)} question screens, none scrolls sideways; "
              f"{len([k for k in scrolling if k in asked])} scroll up and down"
              + (f" ({', '.join(f'{k} {px} px' for k, px in scrolling.items())})" if scrolling else ""))
    with capsys.disabled():
        print(f"\n[kiosk large text] {figure}")
    with (artifacts / "kiosk" / "large-text.txt").open("a", encoding="utf-8") as out:
        out.write(f"{datetime.date.today().isoformat()} {figure}\n")
    assert len(asked) == 41 and "F5.1" in asked
    if size in TABLETS:  # even at the larger size, no screen of a tablet scrolls
        assert scrolling == {}
    assert errors == []
    context.close()
