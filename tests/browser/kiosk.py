"""What the kiosk's browser tests share: a survey with a paired tablet, taps that wait for the screen
to settle (the kiosk ignores a tap within a moment of a screen change: static/kiosk/guard.js), and
answering question by question, counting the taps."""

import time
from dataclasses import dataclass, field

from fieldwork.services import kiosk_create, round_create
from questionnaires.services import definition_files, questionnaire_load_file
from tests.base import make_unit
from units.models import Unit

LANDSCAPE = {"width": 1280, "height": 800}
TABLET = {"width": 800, "height": 1280}
PHONE = {"width": 360, "height": 740}
SIZES = {"1280x800": LANDSCAPE, "800x1280": TABLET, "360x740": PHONE}
TABLETS = ("1280x800", "800x1280")

# The page while no tap is being ignored (static/kiosk/guard.js sets data-settling on <html>).
SETTLED = "html:not([data-settling])"
SKIP = "skip"  # in `choices`: leave the question unanswered ("Skip", or Submit on the last one)


def make_survey():
    """An open round of the default questionnaire over a province, and a kiosk at one of its communes."""
    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level=Unit.Level.PROVINCE, name="Tỉnh Tuyên Quang")
    commune = make_unit("02212", province, name="Xã Sơn Dương")
    survey_round = round_create(name="Quý IV/2026", name_en="Fourth quarter 2026",
                                questionnaire_code="sipas-2017-r2026", unit_code="08", open_now=True)
    kiosk, code = kiosk_create(unit=commune, name="Quầy 1")
    return {"round": survey_round, "kiosk": kiosk, "pairing_code": code}


def pair(page, live_server, code):
    page.goto(f"{live_server.url}/kiosk/pair/{code}/")
    page.get_by_test_id("pair").click()
    page.get_by_test_id("welcome").wait_for()


def settle(page):
    """Wait until the kiosk takes taps again (a moment after each screen change)."""
    page.locator(SETTLED).wait_for(state="attached")


def tap(page, locator, touch=False):
    """A tap once the screen has settled: a touch (the context needs has_touch) or a mouse click."""
    settle(page)
    if touch:
        locator.tap()
    else:
        locator.click()


def wait_for(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def overflow(page):
    """How many pixels of the screen would need scrolling: the page's, and any scrolling box's in it."""
    return page.evaluate("""() => {
        const boxes = [document.scrollingElement, ...document.querySelectorAll("#kiosk *")].filter((el) => {
            if (el === document.scrollingElement) return true;
            const y = getComputedStyle(el).overflowY;
            return (y === "auto" || y === "scroll") && el.clientHeight > 0;
        });
        return Math.max(0, ...boxes.map((el) => el.scrollHeight - el.clientHeight));
    }""")


@dataclass
class Walk:
    taps: int = 0
    asked: list = field(default_factory=list)  # the questions shown, in order
    overflows: dict = field(default_factory=dict)  # screen → pixels that would need scrolling


def current_step(page):
    page.locator(f"{SETTLED} [data-step]").wait_for()
    return page.locator("[data-step]").get_attribute("data-step")


def answer_question(page, choices=None, touch=False):
    """Answer the question shown as a citizen would, and return (its key, the taps it took, whether
    that was the last one). The answer: choices[key] if given (an option's code, a text, or SKIP),
    else 4 on a scale, "no" to yes/no, the first option otherwise; nothing typed in a text or number."""
    key = current_step(page)
    screen = page.locator(f'[data-step="{key}"]')
    options = screen.locator("button[data-item]")
    submit = page.get_by_test_id("submit")
    last = submit.count() > 0
    move_on = submit if last else page.get_by_test_id("next")
    choice = (choices or {}).get(key)
    taps = 0
    if options.count() and choice != SKIP:
        preferred = [choice] if choice else ["4", "no"]
        button = next((screen.locator(f'button[data-value="{v}"]') for v in preferred
                       if screen.locator(f'button[data-value="{v}"]').count()), options.first)
        multi = button.get_attribute("role") == "checkbox"
        tap(page, button, touch)
        taps += 1
        if multi or last:
            tap(page, move_on, touch)
            taps += 1
    else:
        if isinstance(choice, str) and choice != SKIP:
            screen.locator("input, textarea").fill(choice)
        tap(page, move_on, touch)
        taps += 1
    if not last:
        page.locator(f'[data-step]:not([data-step="{key}"]), [data-testid=quota-full]').first.wait_for()
    return key, taps, last


def complete_questionnaire(page, artifacts=None, prefix="", choices=None, touch=False):
    """Start, answer every question, submit; return the Walk (taps, questions asked, overflow of each screen)."""
    walk = Walk()
    walk.overflows["welcome"] = overflow(page)
    tap(page, page.get_by_test_id("start"), touch)
    walk.taps += 1
    while True:
        key = current_step(page)
        walk.overflows[key] = overflow(page)
        if artifacts is not None:
            page.screenshot(path=str(artifacts / f"{prefix}{len(walk.asked) + 1:02d}-{key}.png"))
        key, taps, last = answer_question(page, choices, touch)
        walk.asked.append(key)
        walk.taps += taps
        if last:
            break
    page.get_by_test_id("thanks").wait_for()
    walk.overflows["thanks"] = overflow(page)
    return walk
