"""The desk poster's unit link on a phone (360×740, Chromium, issue 19): the link opens the round's
questionnaire with the consent line, the citizen answers, the response is stored once with channel
POSTER at the poster's unit; the same browser opening the link again is told it has answered (the
localStorage key and the cookie), and a link switched off says so and stores nothing."""

import pytest

from fieldwork import unitlinks
from fieldwork.models import Response
from tests.base import make_user
from tests.browser.axe import ALL, axe_violations, format_violations
from tests.browser.kiosk import make_survey, open_kiosk, tap
from tests.browser.test_athome import answer_to_the_end

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def serious(page, name):
    found = axe_violations(page, impacts=ALL)
    assert not [v for v in found if v.impact in ("serious", "critical")], f"{name}:\n{format_violations(found)}"


def test_answering_through_a_desk_posters_unit_link_counts_once(chromium, live_server, artifacts):
    survey = make_survey()
    survey_round, commune = survey["round"], survey["kiosk"].unit
    link = f"{live_server.url}/u/{unitlinks.unit_link_token(survey_round, commune)}/"
    shots = artifacts / "unitlink"
    shots.mkdir(exist_ok=True)
    context, page, errors = open_kiosk(chromium, "360x740", has_touch=True, is_mobile=True)
    try:
        page.goto(link)
        page.get_by_test_id("welcome").wait_for()
        assert "91/2025/QH15" in page.get_by_test_id("consent").inner_text()
        serious(page, "welcome")
        tap(page, page.get_by_test_id("start"), touch=True)
        answer_to_the_end(page, "athome-thanks", touch=True)
        page.screenshot(path=str(shots / "01-thanks.png"))
        stored = Response.objects.filter(channel=Response.Channel.POSTER)
        assert stored.count() == 1
        assert stored.get().unit == commune and stored.get().kiosk is None

        # The same browser again: told it has answered, by the page's localStorage key (and the cookie).
        page.goto(link)
        page.get_by_test_id("athome-answered").wait_for()
        assert "đã trả lời từ điện thoại này" in page.inner_text("h1")
        serious(page, "answered here")
        page.evaluate("() => localStorage.clear()")
        page.goto(link)
        page.get_by_test_id("athome-answered").wait_for()  # the server's cookie says so too
        assert stored.count() == 1

        # Switched off by the officer: a clear page, nothing stored.
        unitlinks.unit_links_switch(survey_round=survey_round, unit=None, off=True, user=make_user("officer08"))
        context.clear_cookies()
        page.goto(link)
        page.get_by_test_id("athome-off").wait_for()
        assert "tạm dừng" in page.inner_text("h1")
        page.screenshot(path=str(shots / "02-off.png"))
        serious(page, "switched off")
        assert Response.objects.count() == 1
        assert not errors, errors
    finally:
        context.close()
