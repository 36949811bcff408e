"""The kiosk by keyboard (a tablet's keyboard, a switch, a screen reader's keys): each radio group and
checkbox group is one Tab stop, the arrow keys move within it (and choose, in a radio group: the
roving tabindex of the ARIA radio group), Enter or Space on an answer of a one-answer question is the
tap that moves on. The Tab presses from the start of a question screen to Next are counted and
printed (the issue measured 39 on the first part before, with every question of the part on one
screen). Every control has a name a screen reader can say (the browser's own accessibility tree)."""

import datetime

import pytest

from tests.browser.kiosk import (
    ENGLISH_VOICE,
    SIZES,
    VIETNAMESE_VOICE,
    answer_until,
    chosen,
    current_step,
    fake_speech,
    make_survey,
    open_kiosk,
    pair,
    settle,
    tap,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTROLS = {"button", "radio", "checkbox", "textbox", "spinbutton", "progressbar", "radiogroup", "group", "alertdialog",
            "dialog", "link", "combobox", "slider", "switch"}


@pytest.fixture
def survey():
    return make_survey()


def focused(page):
    return page.evaluate("""() => {
        const el = document.activeElement;
        return {tag: el.tagName.toLowerCase(), testid: el.dataset.testid || null, item: el.dataset.item || null,
                value: el.dataset.value || null, role: el.getAttribute("role")};
    }""")


def tab_stops(page, item):
    """The answers of the item that Tab stops at (a roving tabindex leaves one)."""
    return page.locator(f'[data-step] [data-item="{item}"][tabindex="0"]').count()


def tabs_to_next(page, choose=None):
    """From the start of the question shown (the focus on its heading), Tab until Next (or Submit) has
    the focus, choosing on the way with `choose(page)` once the answers have it. Returns the presses."""
    assert focused(page)["tag"] == "h1"
    presses = 0
    while focused(page)["testid"] not in ("next", "submit"):
        page.keyboard.press("Tab")
        presses += 1
        now = focused(page)
        if choose and (now["role"] in ("radio", "checkbox") or now["tag"] in ("input", "textarea")):
            choose(page)
            choose = None
        assert presses < 40
    return presses


def arrows(*keys):
    def press(page):
        for key in keys:
            page.keyboard.press(key)
    return press


def unnamed(cdp):
    """Controls in the accessibility tree (not hidden from it) without a name."""
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    out = []
    for node in nodes:
        role = node.get("role", {}).get("value")
        if node.get("ignored") or role not in CONTROLS:
            continue
        if not (node.get("name", {}).get("value") or "").strip():
            out.append(role)
    return out


def names(cdp, role):
    return [n.get("name", {}).get("value") for n in cdp.send("Accessibility.getFullAXTree")["nodes"]
            if n.get("role", {}).get("value") == role and not n.get("ignored")]


@pytest.mark.parametrize("size", SIZES)
def test_by_keyboard_a_group_is_one_tab_stop_arrows_choose_and_next_is_a_few_tabs_away(
        chromium, live_server, survey, artifacts, capsys, size):
    context, page, errors = open_kiosk(chromium, size)
    fake_speech(page, [VIETNAMESE_VOICE, ENGLISH_VOICE])  # a tablet with voices: the speaker button is a stop too
    cdp = context.new_cdp_session(page)
    pair(page, live_server, survey["pairing_code"])
    assert unnamed(cdp) == []
    page.keyboard.press("Tab")
    assert focused(page)["testid"] == "start"
    page.keyboard.press("Enter")
    count = {}

    # A single choice: one Tab stop; arrows move and choose without moving on; Home / End; wrap-around
    assert current_step(page) == "E.FIELD" and tab_stops(page, "E.FIELD") == 1
    assert unnamed(cdp) == [] and len(names(cdp, "radio")) == 16
    page.keyboard.press("Shift+Tab")
    assert focused(page)["testid"] == "start-over"  # one Shift+Tab from the question
    page.keyboard.press("Tab")
    assert focused(page)["testid"] == "listen"
    page.keyboard.press("Tab")
    first = focused(page)
    assert first["role"] == "radio" and chosen(page) == []
    page.keyboard.press("ArrowDown")
    second = focused(page)
    page.wait_for_timeout(800)  # longer than a tap's move-on (0.3 s)
    assert current_step(page) == "E.FIELD" and chosen(page) == [("E.FIELD", second["value"])]
    assert tab_stops(page, "E.FIELD") == 1
    assert page.locator(f'[data-value="{second["value"]}"]').get_attribute("tabindex") == "0"
    page.keyboard.press("ArrowUp")
    assert chosen(page) == [("E.FIELD", first["value"])]
    page.keyboard.press("ArrowLeft")  # from the first to the last
    last = focused(page)["value"]
    page.keyboard.press("Home")
    assert focused(page)["value"] == first["value"]
    page.keyboard.press("End")
    assert focused(page)["value"] == last and chosen(page) == [("E.FIELD", last)]
    page.screenshot(path=str(artifacts / "kiosk" / f"keyboard-focus-{size}.png"))
    page.keyboard.press("Tab")  # Back is not there on the first question
    assert focused(page)["testid"] == "next"
    page.keyboard.press("Shift+Tab")
    assert focused(page)["value"] == last  # back into the group: on the chosen answer
    page.keyboard.press("Enter")  # Enter on an answer is a tap: chosen, and on to the next question

    # Tab presses from the start of a question to Next, choosing with the arrows on the way
    page.locator('[data-step="E.CHANNEL_FILE"]').wait_for()
    count["E.CHANNEL_FILE (single choice)"] = tabs_to_next(page, arrows("ArrowDown"))
    page.keyboard.press("Enter")

    # Space on an answer is the tap too
    page.locator('[data-step="E.VISITS"] h1:focus').wait_for()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.locator('[data-step="E.ONTIME"]').wait_for()
    settle(page)
    tap(page, page.get_by_test_id("back"))
    assert current_step(page) == "E.VISITS" and len(chosen(page)) == 1
    tap(page, page.get_by_test_id("next"))
    settle(page)
    page.locator('[data-step="E.ONTIME"] h1:focus').wait_for()
    count["E.ONTIME (single choice)"] = tabs_to_next(page, arrows("ArrowDown"))
    page.keyboard.press("Enter")

    page.locator('[data-step="E.EXTRA_PAY"] h1:focus').wait_for()
    assert unnamed(cdp) == [] and names(cdp, "radio") == ["Có", "Không"]
    count["E.EXTRA_PAY (yes / no)"] = tabs_to_next(page, arrows("ArrowRight"))
    assert chosen(page) == [("E.EXTRA_PAY", "no")]
    page.keyboard.press("Enter")
    answer_until(page, "E.INFO")

    # A multiple choice: one Tab stop too; arrows move without choosing; Space chooses; a held Enter once
    settle(page)
    page.locator('[data-step="E.INFO"] h1:focus').wait_for()
    assert tab_stops(page, "E.INFO") == 1 and unnamed(cdp) == [] and len(names(cdp, "checkbox")) == 6
    count["E.INFO (multiple choice)"] = tabs_to_next(page, arrows("ArrowDown", "Space", "ArrowDown"))
    assert chosen(page) == [("E.INFO", page.locator('[data-item="E.INFO"]').nth(1).get_attribute("data-value"))]
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert focused(page)["role"] == "checkbox"
    page.keyboard.press("ArrowDown")
    page.keyboard.down("Enter")
    page.keyboard.down("Enter")  # held down: the key repeats
    page.keyboard.down("Enter")
    page.keyboard.up("Enter")
    assert len(chosen(page)) == 2  # chosen once, not chosen and un-chosen
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page)["testid"] == "next"
    page.keyboard.press("Enter")

    # A rating: five faces (and "not applicable" on some), one Tab stop
    page.locator('[data-step="F1.1"] h1:focus').wait_for()
    assert unnamed(cdp) == [] and names(cdp, "radio") == ["Rất không hài lòng", "Không hài lòng", "Bình thường",
                                                           "Hài lòng", "Rất hài lòng"]
    count["F1.1 (rating)"] = tabs_to_next(page, arrows("End", "ArrowLeft"))
    assert chosen(page) == [("F1.1", "4")]
    page.keyboard.press("Enter")
    page.locator('[data-step="F1.2"] h1:focus').wait_for()
    assert names(cdp, "radio")[-1] == "Không áp dụng / Không biết" and unnamed(cdp) == []

    # The comment: a text box with a label
    answer_until(page, "C.COMMENT", {"E.ONTIME": "on_time", "F5.0": "no"})
    settle(page)
    page.locator('[data-step="C.COMMENT"] h1:focus').wait_for()
    assert unnamed(cdp) == [] and len(names(cdp, "textbox")) == 1
    count["C.COMMENT (text)"] = tabs_to_next(page, lambda p: p.keyboard.type("Tốt"))
    assert focused(page)["testid"] == "submit"
    page.keyboard.press("Enter")
    page.get_by_test_id("thanks").wait_for()
    assert unnamed(cdp) == []

    figure = f"{size}: " + ", ".join(f"{key} {n}" for key, n in count.items())
    with capsys.disabled():
        print(f"\n[kiosk keyboard] Tab presses from a question's start to Next (speaker button included), {figure}")
    with (artifacts / "kiosk" / "keyboard.txt").open("a", encoding="utf-8") as out:
        out.write(f"{datetime.date.today().isoformat()} {figure}\n")
    assert max(count.values()) <= 4
    assert errors == []
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_dialogs_and_the_strip_have_names_and_take_the_keyboard(chromium, live_server, survey, size):
    context, page, errors = open_kiosk(chromium, size)
    fake_speech(page, [])  # no speaker button
    cdp = context.new_cdp_session(page)
    pair(page, live_server, survey["pairing_code"])
    tap(page, page.get_by_test_id("start"))
    answer_until(page, "D.GENDER", {"E.ONTIME": "on_time", "F5.0": "no"})

    # "Clear my answer" on an optional question, once answered: by keyboard too
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")
    assert len(chosen(page)) == 1 and page.get_by_test_id("clear-answer").is_visible() and unnamed(cdp) == []
    page.keyboard.press("Tab")
    assert focused(page)["testid"] == "clear-answer"
    page.keyboard.press("Enter")
    assert chosen(page) == [] and focused(page)["role"] == "radio"
    assert not page.get_by_test_id("clear-answer").is_visible()
    assert page.get_by_test_id("next").inner_text() == "Bỏ qua"

    # The start-over dialog: named, its safe answer focused, Escape keeps the answers
    page.keyboard.press("Shift+Tab")
    assert focused(page)["testid"] == "start-over"
    page.keyboard.press("Enter")
    page.get_by_test_id("restart-confirm").wait_for()
    assert focused(page)["testid"] == "restart-no" and unnamed(cdp) == []
    assert names(cdp, "alertdialog") == ["Làm lại từ đầu?"]
    page.keyboard.press("Tab")
    assert focused(page)["testid"] == "restart-yes"
    page.keyboard.press("Escape")
    assert page.get_by_test_id("restart-confirm").count() == 0 and current_step(page) == "D.GENDER"
    assert names(cdp, "progressbar") == ["Tiến độ trả lời"]
    assert errors == []
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_a_key_pressed_at_once_after_a_screen_change_acts_where_a_tap_would_be_ignored(chromium, live_server,
                                                                                       survey, size):
    """A tap within 0.45 s of a screen change is ignored (it may be the rest of a double tap); a key is
    not: after a change the focus is on the new heading, so a second press of a key lands nowhere. The
    page's clock is stopped right after the change, so the quiet time cannot end during the test."""
    context, page, errors = open_kiosk(chromium, size)
    fake_speech(page, [])  # no speaker button
    page.clock.install()
    pair(page, live_server, survey["pairing_code"])
    tap(page, page.get_by_test_id("start"))
    page.locator('[data-step="E.FIELD"] h1:focus').wait_for()
    settle(page)
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 1)
    page.evaluate("document.querySelector('[data-testid=lang-en]').click()")  # a new screen (in English)
    assert page.evaluate("document.documentElement.hasAttribute('data-settling')")

    box = page.locator('[data-item="E.FIELD"]').nth(2).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # a mouse: ignored
    assert chosen(page) == []
    page.locator('[data-step="E.FIELD"] h1').focus()  # (the focus stayed on "English")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # a key: the first answer chosen, and on to the next question
    assert page.evaluate("document.documentElement.hasAttribute('data-settling')")
    assert chosen(page) == [("E.FIELD", page.locator('[data-item="E.FIELD"]').first.get_attribute("data-value"))]
    page.clock.resume()
    page.locator('[data-step="E.CHANNEL_FILE"]').wait_for()
    assert errors == []
    context.close()
