"""The five satisfaction levels carry faces drawn inline in SVG; a chosen level keeps its colours and is
marked by a frame and a check; "not applicable" looks different and stands apart."""

import pytest

from tests.browser.kiosk import SIZES, answer_question, current_step, make_survey, pair, tap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Contrast (WCAG 2.x relative luminance) of every pair that matters, computed in the page from the
# colours it really shows: the faces' features on their fill, their outline on the button behind.
CONTRASTS = """() => {
    const rgb = (c) => (c.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
    const lum = (c) => {
        const linear = (v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
        const [r, g, b] = rgb(c).map(linear);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    return [...document.querySelectorAll("[data-step] .opt-face")].map((btn) => {
        const circle = btn.querySelector("svg circle");
        const feature = btn.querySelector("svg path");
        const fill = getComputedStyle(circle).fill;
        const drawn = getComputedStyle(feature);
        const featureColour = drawn.stroke !== "none" ? drawn.stroke : drawn.fill;
        const badge = btn.querySelector(".check-badge");
        const style = getComputedStyle(btn);
        return {
            value: btn.dataset.value, checked: btn.getAttribute("aria-checked"), background: style.backgroundColor,
            border: style.borderColor, borderStyle: style.borderTopStyle, frame: style.boxShadow,
            fill, features: ratio(featureColour, fill),
            outline: ratio(getComputedStyle(circle).stroke, style.backgroundColor),
            label: ratio(style.color, style.backgroundColor), check: badge ? getComputedStyle(badge).visibility : null,
        };
    });
}"""


@pytest.fixture
def survey():
    return make_survey()


@pytest.mark.parametrize("size", SIZES)
def test_the_levels_are_faces_that_keep_their_colours_when_chosen(chromium, live_server, survey, artifacts, size):
    shots = artifacts / "kiosk"
    shots.mkdir(exist_ok=True)
    context = chromium.new_context(viewport=SIZES[size])
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    pair(page, live_server, survey["pairing_code"])
    tap(page, page.get_by_test_id("start"))
    while current_step(page) != "F1.2":  # a rating that allows "not applicable"
        answer_question(page)
    requests.clear()

    before = {f["value"]: f for f in page.evaluate(CONTRASTS)}
    assert sorted(before) == ["0", "1", "2", "3", "4", "5"]
    assert page.locator("[data-step] .opt-face svg.face").count() == 6  # inline, drawn here
    assert page.locator("[data-step] img, [data-step] svg image, [data-step] use").count() == 0
    fills = {before[v]["fill"] for v in "12345"}
    assert len(fills) == 5  # a colour of its own for each level
    for face in before.values():
        assert face["checked"] == "false" and face["check"] == "hidden"
        assert face["features"] >= 4.5 and face["outline"] >= 3 and face["label"] >= 4.5, face

    # "not applicable": dashed, its own sign, and set apart (a wider gap, or a row of its own)
    na, five = page.locator('[data-step] [data-value="0"]'), page.locator('[data-step] [data-value="5"]')
    assert before["0"]["borderStyle"] == "dashed" and before["5"]["borderStyle"] == "solid"
    assert na.locator("svg.face-na").count() == 1
    four = page.locator('[data-step] [data-value="4"]').bounding_box()
    gap = five.bounding_box()["x"] - (four["x"] + four["width"])  # between two faces
    na_box, five_box = na.bounding_box(), five.bounding_box()
    apart = na_box["y"] >= five_box["y"] + five_box["height"] or na_box["x"] - (five_box["x"] + five_box["width"]) > gap
    assert apart, (na_box, five_box)

    chosen_backgrounds = set()
    for level in "12345":
        button = page.locator(f'[data-step] [data-value="{level}"]')
        page.evaluate("""(v) => document.querySelectorAll("[data-step] .opt-face").forEach(
            (b) => b.setAttribute("aria-checked", String(b.dataset.value === v)))""", level)
        face = {f["value"]: f for f in page.evaluate(CONTRASTS)}[level]
        assert face["check"] == "visible" and face["frame"] != "none", face  # a check, and a frame
        assert face["fill"] == before[level]["fill"]  # the face keeps its colour
        assert face["outline"] >= 3 and face["label"] >= 4.5 and face["features"] >= 4.5, face
        chosen_backgrounds.add(face["background"])
        if level == "2":
            button.screenshot(path=str(shots / f"face-chosen-{size}.png"))
    assert len(chosen_backgrounds) == 5  # no one uniform fill for whatever is chosen

    # a real tap: chosen, framed, checked, then the next question
    page.evaluate("""() => document.querySelectorAll("[data-step] .opt-face").forEach(
        (b) => b.setAttribute("aria-checked", "false"))""")
    tap(page, page.locator('[data-step] [data-value="2"]'))
    page.screenshot(path=str(shots / f"faces-chosen-{size}.png"))
    assert page.locator('[data-step="F1.2"] [data-value="2"][aria-checked="true"]').count() == 1
    page.locator('[data-step="F1.3"]').wait_for()
    assert not [u for u in requests if "/static/" in u]  # no icon fetched
    context.close()
