"""Read-aloud with the browser's speech synthesis, faked in the page with the voices a tablet might have
(headless Chromium has none): a speaker button on a question screen only where the tablet has a voice
for the language shown; it reads the part's lead, the question and its answers in that language, and
a second press stops. The welcome screen tells the staff which voices the tablet has."""

import pytest

from tests.browser.kiosk import (
    ENGLISH_VOICE,
    SIZES,
    VIETNAMESE_VOICE,
    answer_question,
    answer_until,
    current_step,
    fake_speech,
    make_survey,
    open_kiosk,
    pair,
    settle,
    tap,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPEAT_MS = 700  # a second press on the same button within 600 ms is a ghost tap (static/kiosk/guard.js)


@pytest.fixture
def survey():
    return make_survey()


def spoken(page):
    return page.evaluate("window.__speech.spoken")


def screen_texts(page):
    """What the question screen shows: the lead (if any), the question, each answer's words."""
    return page.evaluate("""() => ({
        lead: (document.querySelector("[data-step] .lead") || {}).textContent || null,
        question: document.querySelector("[data-step] .q-text").textContent,
        answers: [...document.querySelectorAll("[data-step] [data-value] .opt-label")].map((e) => e.textContent),
    })""")


def listen(page):
    button = page.get_by_test_id("listen")
    return {"shown": button.count() == 1 and button.is_visible(),
            "words": button.inner_text() if button.count() else None,
            "name": button.get_attribute("aria-label") if button.count() else None}


def press_listen(page):
    settle(page)
    page.wait_for_timeout(REPEAT_MS)
    page.get_by_test_id("listen").click()


def reads_the_screen(utterance, texts):
    """The utterance holds the lead, the question and every answer, in the screen's order."""
    parts = [texts["lead"], texts["question"], *texts["answers"]]
    at = 0
    for part in filter(None, parts):
        found = utterance["text"].find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return True


@pytest.mark.parametrize("size", SIZES)
def test_with_voices_for_both_languages_the_button_reads_the_question_and_its_answers(
        chromium, live_server, survey, artifacts, size):
    context, page, errors = open_kiosk(chromium, size)
    fake_speech(page, [ENGLISH_VOICE, VIETNAMESE_VOICE, {"name": "Deutsch", "lang": "de-DE", "default": False,
                                                         "localService": True}])
    pair(page, live_server, survey["pairing_code"])
    voices = page.get_by_test_id("voices").inner_text()
    assert voices == ("Giọng đọc trên máy: tiếng Việt: Tiếng Việt (Việt Nam) (vi-VN) · "
                      "tiếng Anh: English (United States) (en-US)")
    assert page.get_by_test_id("listen").count() == 0  # the welcome screen reads nothing
    page.screenshot(path=str(artifacts / "kiosk" / f"read-aloud-welcome-{size}.png"))

    tap(page, page.get_by_test_id("start"))
    assert listen(page) == {"shown": True, "words": "Nghe", "name": "Nghe đọc câu hỏi và các câu trả lời"}
    press_listen(page)
    [utterance] = spoken(page)
    texts = screen_texts(page)
    assert len(texts["answers"]) == 16 and reads_the_screen(utterance, texts), (utterance, texts)
    assert utterance["lang"] == "vi-VN" and utterance["voice"] == "Tiếng Việt (Việt Nam)"
    assert listen(page) == {"shown": True, "words": "Dừng", "name": "Dừng đọc"}
    page.screenshot(path=str(artifacts / "kiosk" / f"read-aloud-reading-{size}.png"))

    # A second press stops, and says nothing new; a third reads again
    press_listen(page)
    assert page.evaluate("window.__speech.cancelled") == 1 and len(spoken(page)) == 1
    assert listen(page)["words"] == "Nghe"
    press_listen(page)
    assert len(spoken(page)) == 2
    page.evaluate("window.__speech.finish()")  # read to the end: the button offers to read again
    assert listen(page)["words"] == "Nghe"

    # In English, with the English voice
    vietnamese = texts["question"]
    tap(page, page.get_by_test_id("lang-en"))
    assert listen(page) == {"shown": True, "words": "Listen", "name": "Listen to the question and its answers"}
    press_listen(page)
    english = spoken(page)[-1]
    assert english["lang"] == "en-US" and reads_the_screen(english, screen_texts(page))
    assert vietnamese not in english["text"]

    # A rating: the part's lead, the question, the five levels and "not applicable"
    answer_until(page, "F1.1", {"E.ONTIME": "on_time"})  # a new screen stops the reading
    assert listen(page)["words"] == "Listen"
    press_listen(page)
    rating = spoken(page)[-1]
    texts = screen_texts(page)
    assert texts["lead"] and len(texts["answers"]) == 5 and reads_the_screen(rating, texts), (rating, texts)
    tap(page, page.locator('[data-item="F1.1"][data-value="4"]'))
    page.locator('[data-step="F1.2"]').wait_for()
    press_listen(page)
    texts = screen_texts(page)
    assert len(texts["answers"]) == 6 and "Not applicable / Don't know" in spoken(page)[-1]["text"]
    assert reads_the_screen(spoken(page)[-1], texts)

    # Leaving the question stops the reading
    cancelled = page.evaluate("window.__speech.cancelled")
    tap(page, page.get_by_test_id("back"))
    assert current_step(page) == "F1.1" and page.evaluate("window.__speech.cancelled") == cancelled + 1
    assert all(u["rate"] == 0.9 for u in spoken(page))
    assert errors == []
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_without_a_voice_for_a_language_there_is_no_button_in_that_language(chromium, live_server, survey,
                                                                           artifacts, size):
    context, page, errors = open_kiosk(chromium, size)
    fake_speech(page, [VIETNAMESE_VOICE])
    pair(page, live_server, survey["pairing_code"])
    assert page.get_by_test_id("voices").inner_text() == (
        "Giọng đọc trên máy: tiếng Việt: Tiếng Việt (Việt Nam) (vi-VN) · "
        "tiếng Anh: không có (không hiện nút Nghe)")
    tap(page, page.get_by_test_id("start"))
    assert listen(page)["shown"]
    tap(page, page.get_by_test_id("lang-en"))
    assert current_step(page) == "E.FIELD" and page.get_by_test_id("listen").count() == 0
    page.screenshot(path=str(artifacts / "kiosk" / f"read-aloud-no-english-{size}.png"))
    assert errors == []
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_a_tablet_without_voices_shows_no_button_and_tells_the_staff(chromium, live_server, survey, artifacts,
                                                                     size):
    context, page, errors = open_kiosk(chromium, size)
    fake_speech(page, [])
    pair(page, live_server, survey["pairing_code"])
    assert page.get_by_test_id("voices").inner_text() == (
        "Giọng đọc trên máy: tiếng Việt: không có (không hiện nút Nghe) · "
        "tiếng Anh: không có (không hiện nút Nghe)")
    tap(page, page.get_by_test_id("start"))
    while current_step(page) != "F1.2":  # choices, yes/no, a multiple choice, a rating
        assert page.get_by_test_id("listen").count() == 0, current_step(page)
        answer_question(page, {"E.ONTIME": "on_time"})
    assert page.get_by_test_id("listen").count() == 0
    tap(page, page.get_by_test_id("start-over"))
    tap(page, page.get_by_test_id("restart-yes"))
    page.get_by_test_id("welcome").wait_for()

    # Voices installed later (they arrive late on some tablets): the staff line follows
    page.evaluate("(voice) => window.__speech.setVoices([voice])", VIETNAMESE_VOICE)
    assert "tiếng Việt: Tiếng Việt (Việt Nam) (vi-VN)" in page.get_by_test_id("voices").inner_text()
    tap(page, page.get_by_test_id("start"))
    assert listen(page)["shown"]
    assert errors == []
    context.close()
