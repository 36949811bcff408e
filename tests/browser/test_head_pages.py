"""A department head in a real browser: logs in, opens a unit's scores and its printable report, and
keeps screenshots, the browser's own PDF of the report and the downloaded PDF in
test-artifacts/heads/ (git-ignored)."""

import datetime
import random
import re
import uuid

import pytest
from django.utils import timezone
from docx import Document

from fieldwork.models import Response
from fieldwork.services import round_close, round_create
from questionnaires.answers import pack_answers
from questionnaires.services import definition_files, questionnaire_load_file
from scoring.services import score_run_execute, score_run_for_command
from tests.base import make_unit, make_user
from tests.browser.staff import TOO_WIDE, log_in
from tests.fieldwork.base import full_answers
from units.models import Role, Unit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
FIELDS = ["land", "construction", "justice", "business_registration"]


def varied_answers(rng, quality):
    """A plausible respondent: each criterion satisfied with probability ``quality``."""
    def level():
        return rng.choice([4, 5]) if rng.random() < quality else rng.choice([1, 2, 3])

    answers = full_answers(**{"E.FIELD": rng.choice(FIELDS), "E.ONTIME": rng.choice(["on_time"] * 5 + ["late"]),
                              "E.VISITS": rng.choice(["1", "1", "1", "2", "3"]),
                              "X.EXPECT": rng.sample(["shorten_time", "simplify_procedures", "staff_attitude",
                                                      "more_online", "lower_fees"], 2)})
    for code, value in list(answers.items()):
        if isinstance(value, int) and code[0] in "FG":
            answers[code] = level()
    return answers


def fill(survey_round, unit, count, quality, rng, day):
    when = timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))
    definition = survey_round.questionnaire.parsed
    Response.objects.bulk_create([
        Response(id=uuid.uuid4(), round=survey_round, unit=unit,
                 channel=Response.Channel.KIOSK, language="vi", submitted_at=when, received_at=when,
                 answers=pack_answers(definition, varied_answers(rng, quality)).slots)
        for _ in range(count)
    ])


def score(survey_round):
    run = score_run_execute(run_id=score_run_for_command(round_id=survey_round.pk).pk)
    assert run.status == "done", run.error


@pytest.fixture
def scored_province():
    """Province 08 with four communes scored in two rounds (so there are ranks, changes and a trend),
    one commune with too few responses; a head of the province."""
    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level=Unit.Level.PROVINCE, name="Tỉnh Tuyên Quang")
    communes = [make_unit(code, province, name=name) for code, name in (
        ("02212", "Xã Sơn Dương"), ("02230", "Phường Minh Xuân"), ("02236", "Xã Hàm Yên"),
        ("02245", "Xã Yên Sơn"))]
    make_unit("02212.TTPV", communes[0], level=Unit.Level.CENTRE, name="Bộ phận một cửa xã Sơn Dương")
    rng = random.Random(2026)
    today = timezone.localdate()
    earlier = round_create(name="Quý III/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    for commune, quality in zip(communes, (0.7, 0.8, 0.75, 0.6), strict=True):
        fill(earlier, commune, 45, quality, rng, today - datetime.timedelta(days=90))
    score(earlier)
    round_close(survey_round=earlier)
    current = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    for commune, count, quality in zip(communes, (60, 48, 52, 12), (0.85, 0.78, 0.7, 0.6), strict=True):
        fill(current, commune, count, quality, rng, today)
    score(current)
    head = make_user("head.province", (Role.Kind.HEAD, province))
    return {"round": current, "head": head}




def too_wide(page):
    """The first elements that stick out on the right (tables inside a scrolling wrapper do not count)."""
    return page.evaluate(TOO_WIDE)


def test_a_head_opens_the_unit_page_and_the_report_and_downloads_the_pdf(chromium, live_server, scored_province,
                                                                         artifacts):
    folder = artifacts / "heads"
    folder.mkdir(exist_ok=True)
    survey_round = scored_province["round"]
    context = chromium.new_context(viewport=DESKTOP, locale="en-GB", accept_downloads=True)
    page = context.new_page()
    log_in(page, live_server, "head.province")

    page.goto(f"{live_server.url}/scores/{survey_round.pk}/08/")
    page.get_by_test_id("headline").wait_for()
    page.screenshot(path=str(folder / "unit-page.png"), full_page=True)
    assert "Tỉnh Tuyên Quang" in page.content()

    page.get_by_test_id("report-link").click()
    page.get_by_test_id("report").wait_for()
    assert page.get_by_test_id("headline").is_visible()
    # Yên Sơn has too few responses; Minh Xuân, the smallest shown commune, is withheld with it so
    # that Yên Sơn's figures cannot be worked out from the province's (scoring.disclosure).
    muted = page.get_by_test_id("sub-unit-not-enough")
    assert muted.count() == 2
    yen_son = next(text for text in muted.all_inner_texts() if "Xã Yên Sơn" in text)
    minh_xuan = next(text for text in muted.all_inner_texts() if "Phường Minh Xuân" in text)
    assert "12 responses, fewer than the 30 needed" in yen_son
    assert "cannot be worked out" in minh_xuan
    page.screenshot(path=str(folder / "report.png"), full_page=True)

    page.emulate_media(media="print")
    page.screenshot(path=str(folder / "report-print-media.png"), full_page=True)
    assert not page.locator("nav.navbar").is_visible()  # no navigation bar in print
    printed = page.pdf(path=str(folder / "report-browser-print.pdf"), format="A4", print_background=True,
                       prefer_css_page_size=True)
    assert printed.startswith(b"%PDF-")
    # Blocks flow in two columns from page to page: no page left half empty by a block that did not
    # fit (this report printed on 5 pages, two of them half empty, before).
    pages = len(re.findall(rb"/Type\s*/Page\b", printed))
    assert pages <= 3, f"the browser prints the report on {pages} A4 pages"
    page.emulate_media(media="screen")

    with page.expect_download() as download_info:
        page.get_by_test_id("report-pdf").click()
    download = download_info.value
    assert download.suggested_filename == f"sipas-round{survey_round.pk}-08-report.pdf"
    target = folder / "report-download.pdf"
    download.save_as(str(target))
    assert target.read_bytes().startswith(b"%PDF-")

    # The same report in Word, to edit: both withheld communes with their reason, no figure.
    with page.expect_download() as download_info:
        page.get_by_test_id("report-docx").click()
    download = download_info.value
    assert download.suggested_filename == f"sipas-round{survey_round.pk}-08-report.docx"
    target = folder / "report-download.docx"
    download.save_as(str(target))
    document = Document(str(target))
    rows = {row.cells[0].text: [cell.text for cell in row.cells] for table in document.tables for row in table.rows}
    minh_xuan = next(cells for name, cells in rows.items() if name.startswith("Phường Minh Xuân"))
    assert "cannot be worked out" in minh_xuan[2]
    assert not any(re.search(r"\d\.\d", cell) for cell in minh_xuan)
    context.close()


def test_the_unit_page_and_the_report_read_on_a_phone_in_vietnamese(chromium, live_server, scored_province,
                                                                    artifacts):
    folder = artifacts / "heads"
    folder.mkdir(exist_ok=True)
    survey_round = scored_province["round"]
    context = chromium.new_context(viewport=PHONE, locale="vi-VN", device_scale_factor=2)
    page = context.new_page()
    log_in(page, live_server, "head.province")

    page.goto(f"{live_server.url}/scores/{survey_round.pk}/02212/")
    page.get_by_test_id("headline").wait_for()
    page.screenshot(path=str(folder / "unit-page-phone-vi.png"), full_page=True)

    page.goto(f"{live_server.url}/scores/{survey_round.pk}/02212/report/")
    page.get_by_test_id("report").wait_for()
    assert "Tiếp cận dịch vụ hành chính công" in page.content()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"the report scrolls sideways on a phone: {width}px, {too_wide(page)}"
    page.screenshot(path=str(folder / "report-phone-vi.png"), full_page=True)

    download = page.request.get(f"{live_server.url}/scores/{survey_round.pk}/02212/report.pdf")
    assert download.ok and download.headers["content-type"] == "application/pdf"
    assert download.body().startswith(b"%PDF-")
    (folder / "report-download-vi.pdf").write_bytes(download.body())
    context.close()
