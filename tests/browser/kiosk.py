"""What the kiosk's browser tests share: a survey with a paired tablet, taps that wait for the screen
to settle (the kiosk ignores a tap within a moment of a screen change: static/kiosk/guard.js),
answering question by question, counting the taps, and what the page shows (language, text size,
chosen answers, overflow)."""

import copy
import json
import time
from dataclasses import dataclass, field

from fieldwork.services import kiosk_create, round_create
from questionnaires.services import DEFINITIONS_DIR, definition_files, questionnaire_load, questionnaire_load_file
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


def make_kinds_survey():
    """A short questionnaire with one question of each kind the kiosk shows, worded as the shipped one
    (and a number, which no shipped questionnaire asks), asking the dossier code first: an open round
    over province 09 and a kiosk at its commune. For screens that need no walk of 36 questions."""
    base = json.loads((DEFINITIONS_DIR / "sipas-2017-r2026.json").read_text(encoding="utf-8"))
    items = {item["code"]: item for section in base["sections"] for item in section["items"]}
    sections = {section["code"]: section for section in base["sections"]}

    def section(code, *codes, extra=()):
        out = {key: value for key, value in sections[code].items() if key != "items"}
        out["items"] = [{**copy.deepcopy(items[c]), "factor": None} for c in codes] + list(extra)
        return out

    wait = {"code": "K.WAIT", "factor": None, "kind": "number", "required": False, "min": 0, "max": 600,
            "text": {"vi": "Ông/Bà đã chờ khoảng bao nhiêu phút trước khi được tiếp nhận hồ sơ?",
                     "en": "About how many minutes did you wait before your dossier was received?"}}
    doc = {
        "schema": 1, "code": "kiosk-kinds", "family": "kiosk-kinds", "title": base["title"],
        "intro": base["intro"], "thanks": base["thanks"], "scale": base["scale"],
        "sections": [section("E", "E.FIELD", "E.EXTRA_PAY", "E.INFO", extra=[wait]),
                     section("F1", "F1.1", "F1.2"), section("D", "D.GENDER", "C.COMMENT")],
        "factors": [],
        "scoring": {"satisfied_levels": [4, 5], "factor_method": "mean_of_item_rates", "min_responses": 1,
                    "factors": {}, "headline": {"method": "mean_of_factors", "factors": []}},
    }
    questionnaire_load(doc=doc)
    province = make_unit("09", level=Unit.Level.PROVINCE, name="Tỉnh Hà Giang")
    commune = make_unit("02890", province, name="Xã Minh Tân")
    survey_round = round_create(name="Thử các loại câu hỏi", name_en="Question kinds", questionnaire_code="kiosk-kinds",
                                unit_code="09", open_now=True, ask_dossier_code=True)
    kiosk, code = kiosk_create(unit=commune, name="Quầy 2")
    return {"round": survey_round, "kiosk": kiosk, "pairing_code": code}


def make_idle_kiosk():
    """A kiosk at a unit no round covers: its tablet shows "no survey"."""
    province = make_unit("10", level=Unit.Level.PROVINCE, name="Tỉnh Lào Cai")
    kiosk, code = kiosk_create(unit=province, name="Quầy 3")
    return {"kiosk": kiosk, "pairing_code": code}


def open_kiosk(chromium, size, **options):
    """A new browser context at one of SIZES, its page, and the list its page errors go to."""
    context = chromium.new_context(viewport=SIZES[size], **options)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    return context, page, errors


def pair(page, live_server, code, screen="welcome"):
    """Pair the page's tablet with a kiosk's one-time code; the kiosk opens on `screen`."""
    page.goto(f"{live_server.url}/kiosk/pair/{code}/")
    page.get_by_test_id("pair").click()
    page.get_by_test_id(screen).wait_for()


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


def chosen(page):
    """The answers marked chosen on the question shown: [(item, value)]."""
    return [(b.get_attribute("data-item"), b.get_attribute("data-value"))
            for b in page.locator('[data-step] [aria-checked="true"]').all()]


def looks(page):
    """What a reset must undo: the page's language, whether larger text is on, the root font size (px)."""
    return page.evaluate("""() => ({
        lang: document.documentElement.lang,
        large: document.documentElement.classList.contains("text-large"),
        font: parseFloat(getComputedStyle(document.documentElement).fontSize),
    })""")


def set_looks(page, language="en", large=True):
    """Switch the language and turn larger text on, from the strip (on any screen)."""
    if language:
        tap(page, page.get_by_test_id(f"lang-{language}"))
    if large:
        tap(page, page.get_by_test_id("large-text"))


def stand_still(page):
    """Stop the page's clock now, and touch nothing but a key that does nothing: the last activity
    is at the page's Date.now() from here on. Returns that time (ms)."""
    settle(page)
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 1)
    page.keyboard.press("Shift")
    return page.evaluate("Date.now()")


def run_until(page, condition, limit_ms, step_ms=250):
    """Let the clock run in steps until the condition (JavaScript) holds; its time then (ms), or None."""
    for _ in range(limit_ms // step_ms):
        page.clock.run_for(step_ms)
        if page.evaluate(condition):
            return page.evaluate("Date.now()")
    return None


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


def answer_until(page, key, choices=None):
    """Answer question after question until `key` is shown."""
    while current_step(page) != key:
        answer_question(page, choices)


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


# Speech synthesis as a tablet has it, with the voices given: what is read is kept in
# window.__speech.spoken ({text, lang, voice, rate}), cancel() calls in .cancelled; .finish() ends
# the reading under way, .setVoices(list) changes the voices (a "voiceschanged" event, as voices
# that arrive late do). Headless Chromium has no voices of its own.
VIETNAMESE_VOICE = {"name": "Tiếng Việt (Việt Nam)", "lang": "vi-VN", "default": False, "localService": True}
ENGLISH_VOICE = {"name": "English (United States)", "lang": "en-US", "default": True, "localService": True}
FAKE_SPEECH = """(voices) => {
    let current = null;
    const listeners = [];
    const speech = {
        voices, spoken: [], cancelled: 0,
        finish() { const u = current; current = null; if (u && u.onend) u.onend({}); },
        setVoices(list) { speech.voices = list; listeners.forEach((fn) => fn()); },
    };
    const synth = {
        get speaking() { return current !== null; },
        get pending() { return false; },
        get paused() { return false; },
        getVoices() { return speech.voices.slice(); },
        speak(u) {
            speech.spoken.push({ text: u.text, lang: u.lang, voice: u.voice && u.voice.name, rate: u.rate });
            current = u;
        },
        cancel() {
            speech.cancelled += 1;
            const u = current;
            current = null;
            if (u && u.onerror) u.onerror({ error: "interrupted" });
        },
        pause() {}, resume() {},
        addEventListener(type, fn) { if (type === "voiceschanged") listeners.push(fn); },
        removeEventListener() {},
    };
    window.__speech = speech;
    Object.defineProperty(window, "speechSynthesis", { value: synth, configurable: true });
    window.SpeechSynthesisUtterance = class {
        constructor(text) { Object.assign(this, { text, lang: "", voice: null, rate: 1, onend: null, onerror: null }); }
    };
}"""


def fake_speech(page, voices):
    """Give the page (from its next load) speech synthesis with these voices."""
    page.add_init_script(script=f"({FAKE_SPEECH})({json.dumps(voices)})")


# What would scroll or stick out sideways: the page or a box in it that scrolls horizontally, any
# element reaching past the viewport's sides, and any words drawn outside their button, heading or
# paragraph (a word too long for its line). Text cut on purpose (an ellipsis, a visually hidden
# label) is left out.
SIDEWAYS = """() => {
    const vw = document.documentElement.clientWidth;
    const name = (el) => el.tagName.toLowerCase() + (el.dataset.testid ? `[${el.dataset.testid}]` : "")
        + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "");
    const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
    const all = [...document.querySelectorAll("#kiosk *, .overlay, .overlay *")].filter(shown);
    const problems = [];
    const page = document.scrollingElement;
    if (page.scrollWidth > page.clientWidth) problems.push("the page scrolls sideways");
    for (const el of all) {
        const x = getComputedStyle(el).overflowX;
        if ((x === "auto" || x === "scroll") && el.scrollWidth > el.clientWidth + 1) {
            problems.push(name(el) + " scrolls sideways");
        }
        const r = el.getBoundingClientRect();
        if (r.width && (r.left < -1 || r.right > vw + 1)) {
            problems.push(name(el) + ` reaches ${Math.round(r.left)}..${Math.round(r.right)} of ${vw}`);
        }
    }
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (!node.textContent.trim() || !el.closest("#kiosk, .overlay") || !shown(el)) continue;
        const style = getComputedStyle(el);
        if (style.textOverflow === "ellipsis" || style.clip !== "auto") continue;
        const box = (el.closest("button, h1, h2, p, label") || el).getBoundingClientRect();
        const range = document.createRange();
        range.selectNodeContents(node);
        for (const r of range.getClientRects()) {
            if (r.width && (r.left < box.left - 1 || r.right > box.right + 1)) {
                problems.push(`"${node.textContent.trim().slice(0, 30)}" outside its ${name(el)}`);
                break;
            }
        }
    }
    return problems;
}"""


def sideways(page):
    """What on the page would need scrolling sideways or sticks out of its box (an empty list: nothing)."""
    return page.evaluate(SIDEWAYS)


# Storage that fails when the test says so (window.__storageBroken = true), as a full disk would:
# with the network down too, a response cannot be saved.
BREAKABLE_STORAGE = """(() => {
    const transaction = IDBDatabase.prototype.transaction;
    IDBDatabase.prototype.transaction = function (...args) {
        if (window.__storageBroken) throw new DOMException("the disk is full", "QuotaExceededError");
        return transaction.apply(this, args);
    };
})()"""
