"""The acceptance test of issue 17: a whole round played in a real browser, in Vietnamese, through
the web pages only, from a database that holds nothing but the superuser ``createsuperuser`` makes.

The superuser imports the province's units (preview, then confirm) and creates the province's
administrator, who sets a password through the one-time link. That administrator — not a superuser —
creates a head and a survey officer (each sets a password through a link), grants them roles on
the province, uploads the province's own questionnaire version and publishes it. The officer creates
and opens a round on it, sets quotas, registers a kiosk and pairs it; a citizen answers on that kiosk
(another browser). The officer types in the same paper form twice, imports two more from a CSV
built on the template the page offers, finds the duplicate in the response browser by the short id
the entry page confirmed it with, excludes it with a reason, and recomputes the scores (a real
Celery worker). The head then reads the province's page and downloads the XLSX and the PDF: the
excluded form is not counted, and the figures agree.

The only database writes outside the pages are the superuser's; everything else is read to check.
Screenshots in test-artifacts/whole-round/ (git-ignored).
"""

import base64
import csv
import io
import json
import re
import zlib
import zoneinfo

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from openpyxl import load_workbook

from fieldwork.models import Exclusion, Response, Round
from questionnaires.models import QuestionnaireVersion
from questionnaires.services import DEFINITIONS_DIR
from tests.browser.kiosk import complete_questionnaire
from tests.fieldwork.base import full_answers
from tests.scoring.test_report import pdf_text
from tests.workers import celery_worker
from units.models import Role, Unit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 768}
KIOSK = {"width": 1280, "height": 800}
VERSION = "tinh-08-2027"
UNITS_CSV = (
    "code,name,parent_code,level,valid_from,valid_to,successor_code\n"
    "08,Tỉnh Tuyên Quang,,province,,,\n"
    "02212,Xã Sơn Dương,08,commune,2025-07-01,,\n"
    "02230,Phường Minh Xuân,08,commune,2025-07-01,,\n"
)
PASSWORDS = {
    "root": "Gốc-Hệ-Thống-2026!",
    "admin.tq": "Quản-Trị-Tỉnh-2026!",
    "lan.nguyen": "Sơn-Dương-2026!",
    "hung.tran": "Lãnh-Đạo-Sở-2026!",
}


def definition_file():
    """The province's own version: the 2017 questionnaire under a new code, scored from 3 responses
    (this round is small) instead of 30."""
    doc = json.loads((DEFINITIONS_DIR / "sipas-2017.json").read_text(encoding="utf-8"))
    doc.update(code=VERSION, family=VERSION)
    doc["scoring"]["min_responses"] = 3
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


class Steps:
    """Screenshots numbered in the order the round is played."""

    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    def shot(self, page, name):
        self.count += 1
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)


def settled(page):
    page.wait_for_load_state()
    return page


def submit(page, scope="main form"):
    page.locator(f"{scope} button[type=submit]").last.click()
    settled(page)


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORDS[username])
    submit(page)
    assert page.locator("input[name=password]").count() == 0, f"{username} could not log in"


def log_out(page):
    page.locator("form[action$='/accounts/logout/'] button").click()
    settled(page)


def set_password(chromium, link, username, steps):
    """The new member of staff opens the one-time link in a browser of their own."""
    context = chromium.new_context(viewport=DESKTOP, locale="vi-VN")
    page = context.new_page()
    page.goto(link)
    assert username in page.inner_text("main")
    page.fill("input[name=new_password1]", PASSWORDS[username])
    page.fill("input[name=new_password2]", PASSWORDS[username])
    submit(page)
    assert "Đã đặt mật khẩu" in page.inner_text("main")
    steps.shot(page, f"password-set-{username}")
    context.close()


def create_staff(page, steps, username, full_name, unit, kind):
    """Create an account with its first role; the one-time link the page shows."""
    page.locator("#mainnav").get_by_role("link", name="Quản trị", exact=True).click()
    settled(page)
    page.locator("main a[href$='/administration/staff/']").first.click()
    settled(page)
    page.locator("main a[href$='/administration/staff/new']").first.click()
    settled(page)
    page.fill("input[name=username]", username)
    page.fill("input[name=full_name]", full_name)
    page.fill("input[name=unit]", unit)
    page.select_option("select[name=kind]", kind)
    submit(page)
    link = page.get_by_test_id("password-link").inner_text().strip()
    steps.shot(page, f"staff-{username}")
    return link


def follow(page, *hrefs, nav=None):
    """From the menu's link ``nav`` (or the page shown), click the links whose addresses end so."""
    if nav:
        page.locator("#mainnav").get_by_role("link", name=nav, exact=True).click()
        settled(page)
    for href in hrefs:
        page.locator(f"main a[href$='{href}']").first.click()
        settled(page)


def fill_paper_form(page, unit, answers):
    """The paper entry page filled in as an officer copies a form; the short id it is stored as."""
    page.select_option("select[name=unit]", unit)
    for code, value in answers.items():
        for one in value if isinstance(value, list) else [value]:
            choice = page.locator(f'input[name="{code}"][value="{one}"]')
            if choice.count():
                choice.check()
            else:
                page.locator(f'[name="{code}"]').fill(str(one))
    page.locator("form.paper-answers button[type=submit]").click()
    settled(page)
    stored = page.get_by_test_id("stored")
    assert stored.is_visible(), page.inner_text("main")[:2000]
    return stored.locator("a").first.inner_text().strip()


def csv_value(value):
    return ";".join(str(v) for v in value) if isinstance(value, list) else str(value)


def inflated(pdf):
    """The PDF with its compressed streams (Flate, some also ASCII85) written out uncompressed, for pdf_text (the
    report as served is compressed; there is no PDF text extractor among the dependencies)."""
    def inflate(match):
        body = match.group(1)
        if body.rstrip().endswith(b"~>"):  # ASCII85 first, then Flate
            body = base64.a85decode(body.rstrip()[:-2])
        try:
            return b"stream\n" + zlib.decompressobj().decompress(body) + b"\nendstream"
        except zlib.error:
            return match.group(0)
    return re.sub(rb"stream\r?\n(.*?)endstream", inflate, pdf, flags=re.S)


def figure(text):
    """The first number written the Vietnamese way (decimal comma) in a text, as a float."""
    match = re.search(r"\d+(?:,\d+)?", text)
    assert match, text
    return float(match.group().replace(",", "."))


def test_a_whole_round_through_the_web_pages_only(chromium, live_server, artifacts):
    folder = artifacts / "whole-round"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    steps = Steps(folder)
    # The one step with a shell: `manage.py createsuperuser`.
    get_user_model().objects.create_superuser("root", "", PASSWORDS["root"])

    with celery_worker(name="whole-round"):
        context = chromium.new_context(viewport=DESKTOP, locale="vi-VN", accept_downloads=True)
        page = context.new_page()

        # ---- The superuser: the province's units, and its administrator ----
        log_in(page, live_server, "root")
        page.locator("#mainnav").get_by_role("link", name="Quản trị", exact=True).click()
        settled(page)
        steps.shot(page, "superuser-administration")
        page.locator("main a[href$='/administration/units/import/']").first.click()
        settled(page)
        page.set_input_files("input[name=file]", files=[
            {"name": "don-vi.csv", "mimeType": "text/csv", "buffer": UNITS_CSV.encode("utf-8")}])
        submit(page)
        assert "Thêm 3 đơn vị" in page.get_by_test_id("import-summary").inner_text()
        steps.shot(page, "units-preview")
        assert not Unit.objects.exists()  # the preview writes nothing
        page.get_by_test_id("confirm-import").click()
        settled(page)
        assert "Đã nhập đơn vị: thêm 3" in page.inner_text("main")
        steps.shot(page, "units-imported")
        assert sorted(Unit.objects.values_list("code", flat=True)) == ["02212", "02230", "08"]

        link = create_staff(page, steps, "admin.tq", "Phạm Văn Quản", "08", "admin")
        log_out(page)
        set_password(chromium, link, "admin.tq", steps)

        # ---- The province's administrator (not a superuser): staff, roles, the questionnaire ----
        log_in(page, live_server, "admin.tq")
        links = {
            "lan.nguyen": create_staff(page, steps, "lan.nguyen", "Nguyễn Thị Lan", "08", "officer"),
            "hung.tran": create_staff(page, steps, "hung.tran", "Trần Văn Hùng", "02230", "officer"),
        }
        # The head's first role was given by mistake: grant the right one, revoke the wrong one.
        page.get_by_role("link", name="Đến trang tài khoản").click()
        settled(page)
        page.fill("input[name=unit]", "08")
        page.select_option("select[name=kind]", "head")
        page.get_by_role("button", name="Cấp", exact=True).click()
        settled(page)
        assert "Trần Văn Hùng nay là lãnh đạo đơn vị của Tỉnh Tuyên Quang (08)." in page.inner_text("main")
        page.locator("main tr", has_text="02230").locator("a[href$='/revoke']").click()
        settled(page)
        steps.shot(page, "role-revoke-confirm")
        submit(page)
        steps.shot(page, "head-roles")
        assert sorted(Role.objects.filter(user__username="hung.tran").values_list("unit__code", "kind")) == [
            ("08", "head")]
        for username, link in links.items():
            set_password(chromium, link, username, steps)

        page.locator("#mainnav").get_by_role("link", name="Quản trị", exact=True).click()
        settled(page)
        page.locator("main a[href$='/administration/questionnaires/']").first.click()
        settled(page)
        page.set_input_files("input[name=file]", files=[
            {"name": f"{VERSION}.json", "mimeType": "application/json", "buffer": definition_file()}])
        page.locator("[data-testid=upload-form] button[type=submit]").click()
        settled(page)
        page.wait_for_url(f"**/administration/questionnaires/{VERSION}/")  # its page, a draft
        steps.shot(page, "version-uploaded")
        page.locator(f"a[href$='/{VERSION}/publish/']").first.click()
        settled(page)
        steps.shot(page, "version-publish-confirm")
        page.get_by_test_id("confirm-publish").click()
        settled(page)
        steps.shot(page, "version-published")
        assert QuestionnaireVersion.objects.get(code=VERSION).status == "published"
        log_out(page)

        # ---- The survey officer: a round, quotas, a kiosk ----
        log_in(page, live_server, "lan.nguyen")
        follow(page, "/units/08/", "/units/08/rounds/", nav="Trang chủ")
        page.fill("input[name=name]", "Quý IV/2026")
        page.fill("input[name=name_en]", "Fourth quarter 2026")
        page.select_option("select[name=questionnaire]", label=VERSION)
        steps.shot(page, "round-new")
        submit(page)
        survey_round = Round.objects.get()
        page.wait_for_url(f"**/rounds/{survey_round.pk}/")
        round_page = ("/units/08/", "/units/08/rounds/", f"/rounds/{survey_round.pk}/")  # the way there
        page.locator(f"form[action$='/rounds/{survey_round.pk}/open'] button").click()
        settled(page)
        steps.shot(page, "round-open")
        survey_round.refresh_from_db()
        assert survey_round.status == "open"

        page.locator(f"main a[href$='/rounds/{survey_round.pk}/quotas/']").first.click()
        settled(page)
        for code, target in (("02212", 2), ("02230", 4)):
            page.fill("input[name=unit_code]", code)
            page.fill("input[name=target]", str(target))
            submit(page)
        steps.shot(page, "quotas")
        assert sorted(survey_round.quotas.values_list("unit__code", "target")) == [("02212", 2), ("02230", 4)]

        follow(page, "/units/08/", "/units/02212/", "/units/02212/kiosks/", nav="Trang chủ")
        page.fill("input[name=name]", "Quầy 1")
        submit(page)
        pairing_link = page.get_by_test_id("pairing-link").inner_text().strip()
        steps.shot(page, "kiosk-pairing")

        # ---- A citizen, on the kiosk (a browser of its own) ----
        tablet = chromium.new_context(viewport=KIOSK, locale="vi-VN")
        kiosk = tablet.new_page()
        kiosk.goto(pairing_link)
        kiosk.get_by_test_id("pair").click()
        kiosk.get_by_test_id("welcome").wait_for()
        steps.shot(kiosk, "kiosk-welcome")
        complete_questionnaire(kiosk)
        steps.shot(kiosk, "kiosk-thanks")
        tablet.close()
        assert Response.objects.filter(channel=Response.Channel.KIOSK).count() == 1

        # ---- Paper forms: one typed in twice, two imported ----
        follow(page, *round_page, "/paper/", nav="Trang chủ")
        answers = full_answers()
        first = fill_paper_form(page, "02230", answers)
        second = fill_paper_form(page, "02230", answers)
        steps.shot(page, "paper-entered")
        assert first != second and len(second) == 8

        follow(page, *round_page, "/paper/import", nav="Trang chủ")
        with page.expect_download() as download:
            page.locator("main a[href$='/paper/template.csv']").click()
        header = next(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
        today = timezone.now().astimezone(zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")).date()
        rows = [
            {**answers, "unit_code": "02230", "form_date": today.isoformat()},
            {**answers, "G.0": 2, "unit_code": "02230", "form_date": today.isoformat()},
        ]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow([csv_value(row[column]) if column in row else "" for column in header])
        page.set_input_files("input[name=file]", files=[
            {"name": "phieu-giay.csv", "mimeType": "text/csv", "buffer": out.getvalue().encode("utf-8")}])
        submit(page)
        imported = page.get_by_test_id("imported")
        assert imported.is_visible(), page.inner_text("main")[:2000]
        assert imported.locator("a").count() == 2
        steps.shot(page, "paper-imported")
        assert Response.objects.filter(round=survey_round).count() == 5
        assert not Response.objects.filter(over_quota=True).exists()  # every form within its unit's quota

        # ---- The duplicate, found by its short id and excluded ----
        follow(page, *round_page, nav="Trang chủ")
        page.get_by_test_id("responses-link").click()
        settled(page)
        assert page.locator("[data-testid=responses] tbody tr").count() == 5
        page.fill("input[name=q]", second)
        page.locator("form:has(input[name=q]) button[type=submit]").click()
        settled(page)
        rows = page.locator("[data-testid=responses] tbody tr")
        assert rows.count() == 1
        steps.shot(page, "responses-found")
        rows.first.get_by_role("link", name=second).click()
        settled(page)
        page.select_option("select[name=reason]", "duplicate")
        page.fill("textarea[name=note]", f"Trùng với phiếu {first}")
        page.get_by_test_id("exclude").click()
        settled(page)
        steps.shot(page, "exclude-confirm")
        page.get_by_test_id("confirm-exclude").click()
        settled(page)
        steps.shot(page, "excluded")
        exclusion = Exclusion.objects.get()
        assert (exclusion.response.pk.hex[-8:], exclusion.reason) == (second, "duplicate")

        # ---- Recompute, and wait for the worker ----
        follow(page, f"/scores/{survey_round.pk}/", nav="Kết quả")
        page.get_by_test_id("recompute").click()
        settled(page)
        # The page polls the run's status and reloads itself when it has finished.
        page.wait_for_function("() => document.readyState === 'complete'"
                               " && !document.querySelector('#score-status[data-active=\"1\"]')", timeout=90_000)
        steps.shot(page, "recomputed")
        assert page.get_by_test_id("run-state").count() == 0, page.get_by_test_id("run-state").inner_text()
        assert page.get_by_test_id("sources-total").inner_text().startswith("4 phiếu hợp lệ")
        log_out(page)
        context.close()

    # ---- The head reads the province's page, the XLSX and the PDF ----
    context = chromium.new_context(viewport=DESKTOP, locale="vi-VN", accept_downloads=True)
    page = context.new_page()
    log_in(page, live_server, "hung.tran")
    page.locator("#mainnav").get_by_role("link", name="Kết quả", exact=True).click()
    settled(page)
    steps.shot(page, "head-scores-home")
    page.locator(f"main a[href$='/scores/{survey_round.pk}/08/']").click()
    settled(page)
    steps.shot(page, "head-unit-page")
    headline_box = page.locator("section[aria-labelledby=headline-title]").inner_text()
    headline = figure(page.get_by_test_id("headline").inner_text())
    # 4 valid responses (the kiosk's, the paper form typed in once, the two imported; not the
    # excluded duplicate), 3 of them satisfied: 75 %. Counting the duplicate would give n = 5 and 80 %.
    assert "n = 4 phiếu" in headline_box, headline_box
    assert headline == 75.0, headline_box

    with page.expect_download() as download:
        page.locator(f"a[href$='/scores/{survey_round.pk}/08/export.xlsx']").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    (folder / "scores.xlsx").write_bytes(download.value.path().read_bytes())
    workbook = load_workbook(io.BytesIO(download.value.path().read_bytes()), data_only=True)
    sheet = workbook.worksheets[0]  # the province's level
    header, *rows = sheet.iter_rows(values_only=True)
    province = dict(zip(header, next(r for r in rows if r[0] == "08"), strict=True))
    assert (province["Số phiếu (n)"], province["Chỉ số SIPAS (%)"]) == (4, headline), province

    with page.expect_download() as download:
        page.locator(f"a[href$='/scores/{survey_round.pk}/08/report.pdf']").click()
    assert download.value.suggested_filename.endswith(".pdf")
    pdf = download.value.path().read_bytes()
    (folder / "report.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(inflated(pdf))
    assert "Tỉnh Tuyên Quang (08)" in text, text[:2000]
    assert "Chỉ số SIPAS 75,0%" in text and "Số phiếu hợp lệ 4 " in text, text[:2000]  # as on the page
    context.close()
