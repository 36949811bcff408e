"""What citizens wrote, in a real browser: a survey officer opens the comments from the round page,
searches without accents, hides a comment that gives a phone number; the head opens the comments
from the unit page and sees who hid it and why, not its text. A long comment without spaces wraps,
HTML in a comment shows as text. axe-core finds no serious or critical violation at 1366×768 and on
a 390×844 phone, where nothing sticks out sideways. Screenshots in test-artifacts/comments/."""

import datetime

import pytest
from django.utils import timezone

from fieldwork.models import CommentHiding, Response
from fieldwork.services import round_create
from questionnaires.answers import pack_answers
from questionnaires.services import definition_files, questionnaire_load_file
from tests.base import make_unit, make_user
from tests.browser.staff import SIZES, check_page, log_in
from tests.fieldwork.base import full_answers
from units.models import Role, Unit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "Chị Lan ở quầy 3 gọi lại cho tôi số 0912 345 678, rất nhiệt tình"
HTML = "Cán bộ <b>nhiệt tình</b> & chu đáo <script>alert(1)</script>"
LONG = ("Đường vào trụ sở Hà Nội khó tìm, xem https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet"
        ".html?ma_thu_tuc=" + "1.000" * 40)  # a long address with no space to break at


@pytest.fixture
def comment_round():
    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level=Unit.Level.PROVINCE, name="Tỉnh Tuyên Quang")
    commune = make_unit("02212", province, name="Xã Sơn Dương")
    make_user("officer.province", (Role.Kind.OFFICER, province))
    make_user("head.commune", (Role.Kind.HEAD, commune))
    survey_round = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    now = timezone.now()
    for minutes, text, overrides in ((3, LONG, {}), (2, HTML, {"F1.1": 1}), (1, PHONE, {})):
        when = now - datetime.timedelta(minutes=minutes)
        slots = pack_answers(survey_round.questionnaire.parsed, full_answers(**overrides)).slots
        Response.objects.create(round=survey_round, unit=commune, channel=Response.Channel.KIOSK, language="vi",
                                submitted_at=when, received_at=when, answers=slots, texts={"C.COMMENT": text})
    return survey_round


def test_an_officer_hides_a_phone_number_and_the_head_sees_only_who_and_why(
        chromium, live_server, comment_round, artifacts):
    folder = artifacts / "comments"
    folder.mkdir(exist_ok=True)
    context = chromium.new_context(viewport=SIZES["desktop"], locale="en-GB")
    page = context.new_page()
    log_in(page, live_server, "officer.province")
    page.goto(f"{live_server.url}/rounds/{comment_round.pk}/")
    page.get_by_test_id("comments-link").click()
    page.wait_for_load_state()
    texts = page.get_by_test_id("comment-text")
    assert texts.count() == 3
    assert texts.nth(0).inner_text() == PHONE  # newest first
    assert texts.nth(1).inner_text() == HTML  # shown as written, not as HTML
    check_page(page, folder, "officer-list")

    page.fill("input[name=q]", "ha noi")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("comment-text").count() == 1
    check_page(page, folder, "officer-searched")

    page.get_by_role("link", name="Show every comment").click()
    page.wait_for_load_state()
    first = page.get_by_test_id("comment").first
    first.locator("summary").click()
    first.get_by_label("Reason").select_option("phone")
    first.get_by_label("Note").fill("số điện thoại cá nhân")
    check_page(page, folder, "officer-hiding")
    first.get_by_role("button", name="Hide").click()
    page.wait_for_load_state()
    hiding = CommentHiding.objects.get()
    assert (hiding.reason, hiding.hidden_by.username) == ("phone", "officer.province")
    assert "Hidden from heads by officer.province" in page.get_by_test_id("hidden-note").inner_text()
    check_page(page, folder, "officer-hidden")
    context.close()

    context = chromium.new_context(viewport=SIZES["desktop"], locale="en-GB")
    page = context.new_page()
    log_in(page, live_server, "head.commune")
    page.goto(f"{live_server.url}/scores/{comment_round.pk}/02212/")
    page.get_by_test_id("comments-link").click()
    page.wait_for_load_state()
    body = page.locator("main").inner_text()
    assert "0912" not in body and "số điện thoại cá nhân" not in body
    assert "gives a phone number" in page.get_by_test_id("hidden-note").inner_text()
    assert page.get_by_test_id("comment-text").count() == 2
    assert page.get_by_role("button", name="Hide").count() == 0
    check_page(page, folder, "head-list")
    context.close()
