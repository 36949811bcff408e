"""A survey officer in a real browser types in the same paper form twice, finds the second one in
the response browser by the short id the entry page confirmed it with, opens it and excludes it as
a duplicate. axe-core finds no serious or critical violation on the list and the response's page
at 1366×768 and on a 390×844 phone, where nothing sticks out sideways. Screenshots in
test-artifacts/responses/ (git-ignored)."""

import pytest

from fieldwork.models import Exclusion, Response
from fieldwork.services import round_create
from questionnaires.services import definition_files, questionnaire_load_file
from tests.base import make_unit, make_user
from tests.browser.staff import SIZES, check_page, log_in
from tests.fieldwork.base import full_answers
from units.models import Role, Unit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMMENT = "Cán bộ <b>nhiệt tình</b> & chu đáo"



@pytest.fixture
def fieldwork_round():
    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level=Unit.Level.PROVINCE, name="Tỉnh Tuyên Quang")
    commune = make_unit("02212", province, name="Xã Sơn Dương")
    make_unit("02212.TTPV", commune, level=Unit.Level.CENTRE, name="Bộ phận một cửa xã Sơn Dương")
    make_unit("02230", province, name="Phường Minh Xuân")
    make_user("officer.province", (Role.Kind.OFFICER, province))
    return round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)


def enter_paper_form(page, answers):
    """Fill in the paper entry page as an officer copying a form does, and store it; the short id
    the page confirms it with."""
    page.select_option("select[name=unit]", "02212")
    for code, value in answers.items():
        if isinstance(value, list):
            for option in value:
                page.check(f'input[name="{code}"][value="{option}"]')
        elif code == "C.COMMENT":
            page.fill(f'textarea[name="{code}"]', value)
        else:
            page.check(f'input[name="{code}"][value="{value}"]')
    page.get_by_role("button", name="Store this form and enter the next").click()
    page.wait_for_load_state()
    confirmation = page.get_by_test_id("stored")
    assert "Paper form stored as" in confirmation.inner_text()
    return confirmation.locator("a").inner_text()


def test_an_officer_finds_a_duplicated_paper_form_by_its_short_id_and_excludes_it(
        chromium, live_server, fieldwork_round, artifacts):
    folder = artifacts / "responses"
    folder.mkdir(exist_ok=True)
    context = chromium.new_context(viewport=SIZES["desktop"], locale="en-GB")
    page = context.new_page()
    log_in(page, live_server, "officer.province")
    answers = full_answers(**{"C.COMMENT": COMMENT})

    page.goto(f"{live_server.url}/rounds/{fieldwork_round.pk}/paper/")
    first = enter_paper_form(page, answers)
    second = enter_paper_form(page, answers)  # the same form again: a duplicate with an id of its own
    page.screenshot(path=str(folder / "paper-entry-confirmed.png"), full_page=True)
    assert first != second and len(second) == 8
    assert Response.objects.filter(round=fieldwork_round).count() == 2

    page.goto(f"{live_server.url}/rounds/{fieldwork_round.pk}/")
    page.get_by_test_id("responses-link").click()
    page.wait_for_load_state()
    assert page.locator("[data-testid=responses] tbody tr").count() == 2
    check_page(page, folder, "list")

    page.fill("input[name=q]", second)
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    rows = page.locator("[data-testid=responses] tbody tr")
    assert rows.count() == 1
    assert "Paper form, typed in" in rows.first.inner_text()
    check_page(page, folder, "list-searched")

    rows.first.get_by_role("link", name=second).click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"Response {second}"
    assert page.locator('[data-item="C.COMMENT"]').inner_text().strip() == COMMENT  # shown as written, not as HTML
    check_page(page, folder, "detail")

    page.select_option("select[name=reason]", "duplicate")
    page.fill("textarea[name=note]", f"same form as {first}")
    page.get_by_test_id("exclude").click()
    page.wait_for_load_state()
    assert f"Exclude response {second}?" in page.get_by_test_id("confirm").inner_text()
    assert not Exclusion.objects.exists()
    check_page(page, folder, "detail-confirm")

    page.get_by_test_id("confirm-exclude").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("state").inner_text() == "Excluded"
    check_page(page, folder, "detail-excluded")
    exclusion = Exclusion.objects.get()
    assert (exclusion.response.pk.hex[-8:], exclusion.reason, exclusion.note) == (second, "duplicate",
                                                                                  f"same form as {first}")

    page.get_by_role("link", name="Responses", exact=True).click()
    page.wait_for_load_state()
    assert page.locator("input[name=q]").input_value() == second  # back to the list as it was
    assert "excluded" in page.locator("[data-testid=responses] tbody tr").first.inner_text()
    context.close()
