"""A province's administrator in a real browser, in Vietnamese: imports units (preview, then
confirm), creates an officer, grants a role; the officer sets a password from the one-time link and
logs in. axe-core checks every administration page at 1366×768 and on a 390×844 phone; screenshots
in test-artifacts/admin/ (git-ignored)."""

import pytest

from tests.base import make_unit, make_user
from tests.browser.axe import assert_accessible
from tests.browser.staff import TOO_WIDE, log_in
from units.models import Role, Unit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
UNITS_CSV = (
    "code,name,parent_code,level,valid_from,valid_to,successor_code\n"
    "08.STP,Sở Tư pháp,08,department,,,\n"
    "02212,Xã Sơn Dương,08,commune,2025-07-01,,\n"
    "02212.TTPV,Trung tâm Phục vụ hành chính công xã Sơn Dương,02212,centre,2025-07-01,,\n"
    "02230,Phường Minh Xuân,08,commune,2025-07-01,,\n"
    "076,Huyện Sơn Dương,08,district,,2025-06-30,\n"
    "02215,Thị trấn Sơn Dương,076,commune,,2025-06-30,02212\n"
)
PASSWORD = "Sơn-Dương-2026!"


@pytest.fixture
def province():
    province = make_unit("08", level=Unit.Level.PROVINCE, name="Tỉnh Tuyên Quang")
    make_user("admin.tq", (Role.Kind.ADMIN, province))
    return province


@pytest.fixture
def folder(artifacts):
    path = artifacts / "admin"
    path.mkdir(exist_ok=True)
    return path


# The first elements that stick out on the right (tables scroll inside their own wrapper).


def check(page, folder, name, viewport):
    """A screenshot, then axe: no violation of impact serious or critical."""
    page.screenshot(path=str(folder / f"{name}-{viewport['width']}.png"), full_page=True)
    assert_accessible(page, where=f"{name} at {viewport['width']}×{viewport['height']}")


def upload(page, text):
    page.set_input_files("input[name=file]", files=[
        {"name": "don-vi.csv", "mimeType": "text/csv", "buffer": text.encode("utf-8")}])
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def test_an_administrator_imports_units_creates_an_officer_who_sets_a_password_and_logs_in(
        chromium, live_server, province, folder):
    context = chromium.new_context(viewport=DESKTOP, locale="vi-VN")
    page = context.new_page()
    log_in(page, live_server, "admin.tq")

    page.get_by_role("link", name="Quản trị", exact=True).click()
    check(page, folder, "home", DESKTOP)
    page.get_by_role("link", name="Nhập đơn vị").click()
    check(page, folder, "import", DESKTOP)

    upload(page, UNITS_CSV.replace("02230,Phường Minh Xuân,08,", "02230,Phường Minh Xuân,99,"))
    assert page.get_by_test_id("problem-table").is_visible()
    assert "“99” không phải là mã của một đơn vị đã có" in page.get_by_test_id("problem-table").inner_text()
    check(page, folder, "import-problems", DESKTOP)
    assert not Unit.objects.filter(code="02212").exists()

    upload(page, UNITS_CSV)
    assert "Thêm 6 đơn vị" in page.get_by_test_id("import-summary").inner_text()
    check(page, folder, "import-preview", DESKTOP)
    assert not Unit.objects.filter(code="02212").exists()  # the preview writes nothing
    page.get_by_test_id("confirm-import").click()
    page.wait_for_load_state()
    assert Unit.objects.get(code="02215").successor.code == "02212"
    assert "Đã nhập đơn vị: thêm 6" in page.inner_text("main")
    check(page, folder, "units", DESKTOP)

    page.goto(f"{live_server.url}/administration/staff/new")
    page.fill("input[name=username]", "lan.nguyen")
    page.fill("input[name=full_name]", "Nguyễn Thị Lan")
    page.fill("input[name=unit]", "02212")
    page.select_option("select[name=kind]", "officer")
    check(page, folder, "staff-new", DESKTOP)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    link = page.get_by_test_id("password-link").inner_text().strip()
    check(page, folder, "staff-link", DESKTOP)

    page.get_by_role("link", name="Đến trang tài khoản").click()
    page.fill("input[name=unit]", "02230")
    page.select_option("select[name=kind]", "head")
    page.get_by_role("button", name="Cấp", exact=True).click()
    page.wait_for_load_state()
    assert "Nguyễn Thị Lan nay là lãnh đạo đơn vị của Phường Minh Xuân (02230)." in page.inner_text("main")
    check(page, folder, "staff-detail", DESKTOP)
    assert sorted(Role.objects.filter(user__username="lan.nguyen").values_list("unit__code", "kind")) == [
        ("02212", "officer"), ("02230", "head")]

    officer = chromium.new_context(viewport=PHONE, locale="vi-VN", device_scale_factor=2).new_page()
    officer.goto(link)
    assert "lan.nguyen" in officer.inner_text("main")
    check(officer, folder, "set-password", PHONE)
    officer.fill("input[name=new_password1]", PASSWORD)
    officer.fill("input[name=new_password2]", PASSWORD)
    officer.click("main form button[type=submit]")
    officer.wait_for_load_state()
    assert "Đã đặt mật khẩu" in officer.inner_text("main")
    log_in(officer, live_server, "lan.nguyen", PASSWORD)
    assert "Xã Sơn Dương" in officer.inner_text("main")
    assert officer.get_by_role("link", name="Quản trị", exact=True).count() == 0
    officer.goto(link)
    assert officer.get_by_test_id("link-invalid").is_visible()  # once only
    officer.context.close()
    context.close()


def test_every_administration_page_passes_axe_on_a_phone_and_on_a_laptop(chromium, live_server, province, folder):
    make_unit("02212", province, name="Xã Sơn Dương")
    make_unit("02230", province, name="Phường Minh Xuân")
    member = make_user("lan.nguyen", (Role.Kind.OFFICER, Unit.objects.get(code="02212")))
    role = member.unit_roles.get()
    pages = {
        "home": "/administration/",
        "units": "/administration/units/?q=x%C3%A3",
        "import": "/administration/units/import/",
        "rename": "/administration/units/02212/rename",
        "close": "/administration/units/02230/close",
        "staff": "/administration/staff/",
        "staff-new": "/administration/staff/new",
        "staff-detail": f"/administration/staff/{member.pk}/",
        "revoke": f"/administration/staff/{member.pk}/roles/{role.pk}/revoke",
        "deactivate": f"/administration/staff/{member.pk}/deactivate",
        "reset": f"/administration/staff/{member.pk}/reset",
        "link-invalid": "/accounts/set-password/MQ/made-up/",
    }
    for viewport in (PHONE, DESKTOP):
        context = chromium.new_context(viewport=viewport, locale="vi-VN")
        page = context.new_page()
        log_in(page, live_server, "admin.tq")
        for name, path in pages.items():
            page.goto(f"{live_server.url}{path}")
            check(page, folder, f"all-{name}", viewport)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"] + 1, \
                f"{name} scrolls sideways at {viewport['width']}px: {width}px, {page.evaluate(TOO_WIDE)}"
        # The pages that answer a form: errors, the preview and the confirmation of closing.
        page.goto(f"{live_server.url}/administration/staff/new")
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
        assert "Trường này là bắt buộc." in page.inner_text("main")
        check(page, folder, "all-staff-new-errors", viewport)
        page.goto(f"{live_server.url}/administration/units/import/")
        upload(page, UNITS_CSV.replace("08.STP,Sở Tư pháp,08,department,,,", "08.STP,,08,tinh,2025-13-01,,"))
        check(page, folder, "all-import-problems", viewport)
        upload(page, UNITS_CSV.replace("02230,Phường Minh Xuân,08,commune,2025-07-01,,",
                                       "02230,Phường Minh Xuân,08,commune,2025-07-01,2026-12-31,02212"))
        check(page, folder, "all-import-preview", viewport)
        page.goto(f"{live_server.url}/administration/units/02230/close")
        page.fill("input[name=valid_to]", "2026-12-31")
        page.fill("input[name=successor]", "02212")
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
        assert page.get_by_test_id("confirm-close").is_visible()
        check(page, folder, "all-close-confirm", viewport)
        context.close()
