"""An administrator in a real browser: reads a questionnaire version, previews it on the real kiosk
client and answers it to the end (nothing is stored), and the version and token pages pass axe-core
at 1366x768 and on a 390x844 phone. Screenshots in test-artifacts/questionnaires/ (git-ignored)."""

import json

import pytest

from fieldwork.models import Response, ResponseChange
from questionnaires.services import DEFINITIONS_DIR, definition_files, questionnaire_load_file, questionnaire_upload
from scoring.services import api_token_create
from tests.base import make_unit, make_user
from tests.browser.axe import assert_accessible
from tests.browser.kiosk import complete_questionnaire, settle, wait_for
from units.models import Role, Unit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"1366x768": {"width": 1366, "height": 768}, "390x844": {"width": 390, "height": 844}}
TOKEN_KEY = "sipas.kiosk.token"

TOO_WIDE = """() => [...document.querySelectorAll("main *")]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${e.className}`)"""


@pytest.fixture
def province():
    """The shipped versions, a draft of the province's own, a province with a commune, and its administrator."""
    for path in definition_files():
        questionnaire_load_file(path=path)
    doc = json.loads((DEFINITIONS_DIR / "sipas-2017.json").read_text(encoding="utf-8"))
    doc.update(code="tinh-08-2027", family="tinh-08-2027")
    questionnaire_upload(raw=json.dumps(doc, ensure_ascii=False).encode(), by="admin.province")
    province = make_unit("08", level=Unit.Level.PROVINCE, name="Tỉnh Tuyên Quang")
    make_unit("02212", province, name="Xã Sơn Dương")
    admin = make_user("admin.province", (Role.Kind.ADMIN, province))
    token, _key = api_token_create(user=admin, name="Bảng điều khiển của tỉnh")
    return {"admin": admin, "token": token}


@pytest.fixture
def folder(artifacts):
    path = artifacts / "questionnaires"
    path.mkdir(exist_ok=True)
    return path


def log_in(page, live_server, username="admin.province"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "password")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def test_an_administrator_previews_a_version_to_the_end_and_nothing_is_stored(chromium, live_server, province,
                                                                              folder):
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    page = context.new_page()
    answers = []  # what the preview API answered the kiosk's responses
    page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/api/responses") else None)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/administration/questionnaires/sipas-2017-r2026/")
    page.select_option("#preview-unit", "02212")
    page.get_by_test_id("preview-form").get_by_role("button").click()

    banner = page.get_by_test_id("preview-banner")
    banner.wait_for()
    page.get_by_test_id("welcome").wait_for()
    assert "Xem thử — không lưu" in banner.inner_text()
    assert page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')").startswith("preview.")
    page.screenshot(path=str(folder / "preview-welcome.png"))

    walk = complete_questionnaire(page, choices={"F5.0": "yes"})

    page.screenshot(path=str(folder / "preview-thanks.png"))
    assert "E.LEVEL" not in walk.asked  # known from the commune, as on a kiosk there
    assert {"E.FIELD", "F5.1", "G.0", "C.COMMENT"} <= set(walk.asked)
    # Sent once and answered as stored, so nothing is left waiting (the page's calls let Playwright
    # deliver the response events).
    assert wait_for(lambda: page.get_by_test_id("waiting-count").is_hidden() and answers == [201]), answers
    assert (Response.objects.count(), ResponseChange.objects.count()) == (0, 0)
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then((r) => r.length)") == 0

    settle(page)  # the kiosk ignores any click just after its screen changes, the banner's too
    page.get_by_role("link", name="Thoát xem thử").click()
    page.wait_for_url("**/administration/questionnaires/sipas-2017-r2026/")
    assert page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')") is None  # the key was lent, and given back
    context.close()


def test_a_paired_kiosk_is_not_turned_into_a_preview(chromium, live_server, province, folder):
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    page = context.new_page()
    log_in(page, live_server)
    page.evaluate(f"localStorage.setItem('{TOKEN_KEY}', 'a-real-device-token')")

    page.goto(f"{live_server.url}/administration/questionnaires/sipas-2017/preview/")
    page.locator("#preview-refused").wait_for()

    assert page.locator("#kiosk").is_hidden()
    assert page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')") == "a-real-device-token"
    page.screenshot(path=str(folder / "preview-refused-on-a-kiosk.png"))
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_version_and_token_pages_pass_axe_and_fit_the_screen(chromium, live_server, province, folder, size):
    context = chromium.new_context(viewport=SIZES[size], locale="vi-VN")
    page = context.new_page()
    log_in(page, live_server)
    base = f"{live_server.url}/administration/questionnaires/"
    pages = {
        "list": base,
        "version": f"{base}sipas-2017-r2026/",
        "draft": f"{base}tinh-08-2027/",
        "publish": f"{base}tinh-08-2027/publish/",
        "tokens": f"{live_server.url}/tokens/",
        "token-revoke": f"{live_server.url}/tokens/{province['token'].pk}/revoke",
    }
    for name, url in pages.items():
        page.goto(url)
        page.screenshot(path=str(folder / f"{name}-{size}.png"), full_page=True)
        assert_accessible(page, where=f"{name} ({size})")
        assert page.evaluate(TOO_WIDE) == [], f"{name} ({size}) is wider than the screen"

    page.goto(base)
    page.set_input_files("input[name=file]", files=[{"name": "phieu.json", "mimeType": "application/json",
                                                      "buffer": b'{"code": "Sai Ma", "sections": []}'}])
    page.locator("[data-testid=upload-form] button[type=submit]").click()
    page.get_by_test_id("problems").wait_for()
    page.screenshot(path=str(folder / f"upload-problems-{size}.png"), full_page=True)
    assert_accessible(page, where=f"the upload's problems ({size})")
    assert "sections" in page.get_by_test_id("problems").inner_text()

    page.goto(f"{base}sipas-2017/preview/?unit=02212")
    page.get_by_test_id("welcome").wait_for()
    page.screenshot(path=str(folder / f"preview-{size}.png"))
    assert_accessible(page, context="[data-testid=preview-banner]", where=f"the preview's banner ({size})")
    context.close()
