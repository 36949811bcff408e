"""The kiosk's form without JavaScript and the pairing pages in a real browser, at both tablet
orientations and on a phone: axe-core finds nothing (of any impact) on them, empty, with errors
shown and after sending; the answers are large targets, no smaller than their question; nothing
is clipped or refreshes. Screenshots in test-artifacts/kiosk-form/ (git-ignored)."""

import pytest

from fieldwork.models import Response
from fieldwork.services import kiosk_create, kiosk_issue_token, round_create
from questionnaires.services import definition_files, questionnaire_load_file
from tests.base import make_unit
from tests.browser.axe import ALL, assert_accessible
from units.models import Unit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {
    "landscape": {"width": 1280, "height": 800},
    "portrait": {"width": 800, "height": 1280},
    "phone": {"width": 360, "height": 740},
}
TARGET = 48  # px: the least width and height of an answer's target (WCAG 2.5.5 asks 44)

# What the page looks like to a person: sizes of the answers' targets and texts, what is clipped.
LAYOUT = """() => {
  const px = el => parseFloat(getComputedStyle(el).fontSize);
  const choices = [...document.querySelectorAll('.choice')].map(el => el.getBoundingClientRect());
  const marks = [...document.querySelectorAll('.choice input')].map(el => el.getBoundingClientRect());
  const clipped = [...document.querySelectorAll('.btn, h1, h2, legend, label, .choice span')]
    .filter(el => el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
    .map(el => el.textContent.trim());
  return {
    choices: choices.length,
    smallest_target: Math.min(...choices.map(b => Math.min(b.width, b.height))),
    smallest_mark: Math.min(...marks.map(b => Math.min(b.width, b.height))),
    smallest_question: Math.min(...[...document.querySelectorAll('.question > legend, .question-text')].map(px)),
    largest_answer: Math.max(...[...document.querySelectorAll('.choice span')].map(px)),
    clipped,
    page_overflow: document.documentElement.scrollWidth - window.innerWidth,
    refreshes: document.querySelectorAll('meta[http-equiv="refresh" i]').length,
  };
}"""
# Where each question's error stands against its answers.
ERRORS = """() => [...document.querySelectorAll('fieldset.has-error')].map(question => {
  const error = question.querySelector('.question-error').getBoundingClientRect();
  const answers = [...question.querySelectorAll('.choice')].map(el => el.getBoundingClientRect());
  const levels = [...question.querySelectorAll('.choices-scale .choice:not(.choice-na)')]
    .map(el => el.getBoundingClientRect());
  return {
    id: question.id,
    above_the_answers: error.bottom <= Math.min(...answers.map(b => b.top)),
    inside_an_answer: question.querySelector('.choice .question-error') !== null,
    scale_rows: levels.length ? new Set(levels.map(b => Math.round(b.top))).size : null,
  };
})"""


@pytest.fixture
def survey():
    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level=Unit.Level.PROVINCE, name="Tỉnh Tuyên Quang")
    commune = make_unit("02212", province, name="Xã Sơn Dương")
    survey_round = round_create(name="Quý IV/2026", name_en="Q4 2026", questionnaire_code="sipas-2017-r2026",
                                unit_code="08", open_now=True)
    return {"round": survey_round, "unit": commune}


def form_page(chromium, live_server, survey, size):
    """A page of a browser whose kiosk cookie pairs it (as the pairing page leaves it)."""
    kiosk, _code = kiosk_create(unit=survey["unit"], name="Quầy không JavaScript")
    context = chromium.new_context(viewport=SIZES[size], locale="vi-VN")
    context.add_cookies([{"name": "sipas_kiosk", "value": kiosk_issue_token(kiosk=kiosk), "url": live_server.url}])
    return context.new_page()


def check_layout(page, where, scale_in_a_row):
    layout = page.evaluate(LAYOUT)
    assert layout["choices"] > 0, where
    assert layout["smallest_target"] >= TARGET, (where, layout)
    assert layout["smallest_mark"] >= 32, (where, layout)
    assert layout["smallest_question"] >= layout["largest_answer"], (where, layout)
    assert layout["clipped"] == [], (where, layout)
    assert layout["page_overflow"] <= 0, (where, layout)
    assert layout["refreshes"] == 0, (where, layout)
    for question in page.evaluate(ERRORS):
        assert question["above_the_answers"] and not question["inside_an_answer"], (where, question)
        if scale_in_a_row and question["scale_rows"] is not None:
            assert question["scale_rows"] == 1, (where, question)


def fill_in(page):
    """Tap the first answer of every question (satisfaction 1, "yes" to feedback: every
    conditional question is asked) and write a comment."""
    for question in page.locator("fieldset.question").all():
        question.locator(".choice").first.click()
    page.locator("textarea").fill("Cảm ơn")


@pytest.mark.parametrize("size", SIZES)
def test_the_form_without_javascript_passes_axe_in_both_languages_empty_with_errors_and_sent(
        chromium, live_server, survey, artifacts, size):
    shots = artifacts / "kiosk-form"
    shots.mkdir(exist_ok=True)
    page = form_page(chromium, live_server, survey, size)
    scale_in_a_row = SIZES[size]["width"] >= 760
    for language in ("vi", "en"):
        page.goto(f"{live_server.url}/kiosk/form/?lang={language}")
        assert page.locator("html").get_attribute("lang") == language
        assert_accessible(page, impacts=ALL, where=f"the empty form ({language}, {size})")
        check_layout(page, f"empty {language} {size}", scale_in_a_row)
        page.screenshot(path=str(shots / f"{size}-{language}-empty.png"))

        page.get_by_test_id("submit").click()
        page.get_by_test_id("error-summary").wait_for()
        assert_accessible(page, impacts=ALL, where=f"the form with errors ({language}, {size})")
        check_layout(page, f"errors {language} {size}", scale_in_a_row)
        page.screenshot(path=str(shots / f"{size}-{language}-errors.png"))
        page.locator("fieldset.has-error").nth(1).scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"{size}-{language}-errors-question.png"))
        page.locator("fieldset.has-error:has(.choice-na)").first.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"{size}-{language}-errors-scale.png"))

    fill_in(page)  # in English, the page's language after the loop
    page.get_by_test_id("submit").click()
    page.get_by_test_id("thanks").wait_for()
    assert page.locator('meta[http-equiv="refresh" i]').count() == 0
    assert_accessible(page, impacts=ALL, where=f"the thanks page ({size})")
    page.screenshot(path=str(shots / f"{size}-en-thanks.png"))
    stored = Response.objects.get()
    assert (stored.language, stored.channel) == ("en", Response.Channel.WEB)

    page.get_by_test_id("new-response").click()
    page.get_by_test_id("submit").wait_for()
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator(".choice input:checked").count() == 0
    page.context.close()


def test_switching_the_language_and_starting_over_keep_the_answers_until_the_person_confirms(
        chromium, live_server, survey, artifacts):
    shots = artifacts / "kiosk-form"
    shots.mkdir(exist_ok=True)
    page = form_page(chromium, live_server, survey, "phone")
    page.goto(f"{live_server.url}/kiosk/form/")
    page.locator("#q-F1\\.1 .choice").nth(3).click()
    page.locator("#q-F1\\.2 .choice input").nth(4).focus()
    page.keyboard.press("Space")  # an answer is operable from the keyboard too

    page.get_by_test_id("language").click()
    page.wait_for_url("**/kiosk/form/?lang=en")
    assert page.locator("#q-F1\\.1 input:checked").get_attribute("value") == "4"
    assert page.locator("#q-F1\\.2 input:checked").get_attribute("value") == "5"
    assert page.get_by_test_id("error-summary").count() == 0

    page.get_by_test_id("restart").click()
    page.get_by_test_id("restart-confirm").wait_for()
    assert_accessible(page, impacts=ALL, where="the question whether to start over")
    page.screenshot(path=str(shots / "phone-en-start-over.png"))
    assert page.locator("#q-F1\\.1 input:checked").get_attribute("value") == "4"

    page.get_by_test_id("restart-yes").click()
    page.get_by_test_id("submit").wait_for()
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator(".choice input:checked").count() == 0
    assert page.get_by_test_id("restart-confirm").count() == 0
    assert not Response.objects.exists()
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_pairing_pages_pass_axe(chromium, live_server, survey, artifacts, size):
    shots = artifacts / "kiosk-form"
    shots.mkdir(exist_ok=True)
    _kiosk, code = kiosk_create(unit=survey["unit"], name="Quầy 1")
    context = chromium.new_context(viewport=SIZES[size])
    page = context.new_page()
    # The paired page opens the kiosk at once with JavaScript: held here so that it can be checked.
    page.route("**/kiosk/paired.js", lambda route: route.abort())

    page.goto(f"{live_server.url}/kiosk/pair/")
    assert_accessible(page, impacts=ALL, where=f"the pairing page ({size})")
    page.screenshot(path=str(shots / f"{size}-pair.png"))

    page.get_by_label("Mã ghép nối").fill("KHONGCOMA")
    page.get_by_test_id("pair").click()
    page.get_by_test_id("error").wait_for()
    code_box = page.get_by_label("Mã ghép nối")
    assert code_box.get_attribute("aria-invalid") == "true"
    assert page.get_by_test_id("error").get_attribute("id") in code_box.get_attribute("aria-describedby").split()
    assert_accessible(page, impacts=ALL, where=f"the pairing page with its error ({size})")
    page.screenshot(path=str(shots / f"{size}-pair-refused.png"))

    page.goto(f"{live_server.url}/kiosk/pair/{code}/")
    page.get_by_test_id("pair").click()
    page.get_by_test_id("paired").wait_for()
    assert page.locator('meta[http-equiv="refresh" i]').count() == 0
    assert_accessible(page, impacts=ALL, where=f"the paired page ({size})")
    page.screenshot(path=str(shots / f"{size}-paired.png"))
    assert any(cookie["name"] == "sipas_kiosk" for cookie in context.cookies())
    context.close()
