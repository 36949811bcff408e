"""The citizen's kiosk in a real browser: a tablet completes the survey online and offline."""

import time

import pytest
from django.test import override_settings

from fieldwork.models import Response
from tests.browser.kiosk import (
    LANDSCAPE,
    SETTLED,
    TABLET,
    answer_question,
    complete_questionnaire,
    make_survey,
    pair,
    run_until,
    stand_still,
    tap,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def survey():
    return make_survey()


def test_a_tablet_completes_responses_online_and_offline_and_each_is_stored_once(chromium, live_server, survey,
                                                                                   artifacts):
    shots = artifacts / "kiosk"
    shots.mkdir(exist_ok=True)
    context = chromium.new_context(viewport=TABLET, locale="vi-VN")
    page = context.new_page()
    submissions = []
    page.on("response", lambda answer: submissions.append(answer.all_headers())
            if answer.url.endswith("/api/kiosk/v1/responses") else None)
    pair(page, live_server, survey["pairing_code"])
    page.screenshot(path=str(shots / "00-welcome.png"))

    complete_questionnaire(page, shots, prefix="online-")
    page.screenshot(path=str(shots / "90-thanks.png"))
    assert wait_for(lambda: Response.objects.count() == 1)

    page.get_by_test_id("welcome").wait_for(timeout=20_000)  # the thank-you screen returns by itself
    context.set_offline(True)
    complete_questionnaire(page)
    page.get_by_test_id("welcome").wait_for(timeout=20_000)
    waiting = page.get_by_test_id("waiting-count")
    waiting.wait_for()
    assert "1" in waiting.inner_text()
    page.screenshot(path=str(shots / "91-offline-waiting.png"))
    assert Response.objects.count() == 1

    context.set_offline(False)
    page.evaluate("window.sipasKiosk.flush()")
    assert wait_for(lambda: Response.objects.count() == 2)
    assert wait_for(lambda: page.evaluate("window.sipasKiosk.outboxCount()") == 0)
    assert Response.objects.values("id").distinct().count() == 2
    assert set(Response.objects.values_list("kiosk__name", flat=True)) == {"Quầy 1"}
    # Time-ordered ids, made at Submit: the offline one (made later) sorts after the online one.
    first, second = Response.objects.order_by("received_at").values_list("id", flat=True)
    assert (first.version, second.version) == (7, 7)
    assert first < second
    assert all(r.seconds_taken is not None for r in Response.objects.all())
    # answered by the kiosk API's own chain (surveyapp/wsgi.py): security headers, no cookie, no Vary
    assert submissions and all(h["x-frame-options"] == "DENY" and "set-cookie" not in h and "vary" not in h
                               for h in submissions), submissions
    context.close()


def test_the_kiosk_reads_well_in_landscape_and_in_english(chromium, live_server, survey, artifacts):
    shots = artifacts / "kiosk"
    shots.mkdir(exist_ok=True)
    context = chromium.new_context(viewport=LANDSCAPE)
    page = context.new_page()
    pair(page, live_server, survey["pairing_code"])

    tap(page, page.get_by_test_id("lang-en"))
    page.screenshot(path=str(shots / "landscape-welcome-en.png"))
    tap(page, page.get_by_test_id("start"))
    page.locator("[data-section]").wait_for()
    page.screenshot(path=str(shots / "landscape-first-section-en.png"))

    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    small = page.evaluate("""() => [...document.querySelectorAll('button')]
        .filter(b => b.offsetParent !== null)
        .map(b => b.getBoundingClientRect())
        .filter(r => r.height < 48).length""")
    assert small == 0
    context.close()


@override_settings(KIOSK_IDLE_SECONDS=15)  # the kiosk accepts no less; then a 20 s countdown
def test_after_the_idle_reset_nothing_of_the_previous_respondent_remains(chromium, live_server, survey,
                                                                         artifacts):
    context = chromium.new_context(viewport=TABLET)
    page = context.new_page()
    page.clock.install()  # 35 s of the page's time, not of the test's
    pair(page, live_server, survey["pairing_code"])
    tap(page, page.get_by_test_id("start"))
    chosen = [answer_question(page)[0] for _ in range(3)]
    assert chosen == ["E.FIELD", "E.CHANNEL_FILE", "E.VISITS"]

    stand_still(page)
    assert run_until(page, "!!document.querySelector('[data-testid=still-there]')", 16_000)
    page.screenshot(path=str(artifacts / "kiosk" / "idle-still-there.png"))
    assert run_until(page, "!!document.querySelector('[data-testid=welcome]')", 21_000)
    page.clock.resume()

    page.go_back()  # whatever the browser goes back to, it is not the previous respondent's answers
    page.wait_for_timeout(500)
    assert page.locator('button[data-item][aria-checked="true"]').count() == 0
    page.goto(f"{live_server.url}/kiosk/")
    page.get_by_test_id("welcome").wait_for()
    tap(page, page.get_by_test_id("start"))
    page.locator(f"{SETTLED} [data-step=\"E.FIELD\"]").wait_for()
    assert page.locator('button[data-item][aria-checked="true"]').count() == 0
    storage = page.evaluate("JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
    assert not any(f'"{item}"' in storage for item in chosen if item.startswith("E."))
    assert page.evaluate("window.sipasKiosk.outboxCount()") == 0
    assert Response.objects.count() == 0
    context.close()


def test_a_citizen_in_a_stratum_whose_quota_closed_is_thanked_after_the_screening_question(
        chromium, live_server, survey, artifacts):
    from fieldwork.quotas import quota_set

    quota_set(survey_round=survey["round"], unit=survey["round"].unit, target=0, stratum_item="E.FIELD",
              stratum_value="land", policy="close")
    context = chromium.new_context(viewport=TABLET)
    page = context.new_page()
    pair(page, live_server, survey["pairing_code"])

    tap(page, page.get_by_test_id("start"))
    answer_question(page, {"E.FIELD": "land"})  # the screening question: nothing more is asked

    page.get_by_test_id("quota-full").wait_for()
    page.screenshot(path=str(artifacts / "kiosk" / "quota-full.png"))
    page.get_by_test_id("welcome").wait_for(timeout=20_000)
    assert Response.objects.count() == 0
    context.close()


def test_a_tablet_whose_clock_is_an_hour_fast_sends_its_responses_in_the_servers_time(chromium, live_server, survey):
    """The server refuses a response completed in its future; the kiosk learns the server's time from
    the Date header of its answers and stamps its responses with it, online and queued offline."""
    from django.utils import timezone

    context = chromium.new_context(viewport=TABLET)
    page = context.new_page()
    page.clock.install(time=time.time() + 3600)  # the tablet's clock runs an hour ahead
    pair(page, live_server, survey["pairing_code"])
    assert wait_for(lambda: abs(page.evaluate("window.sipasKiosk.clockOffsetMs()") + 3_600_000) < 5_000)

    complete_questionnaire(page)
    assert wait_for(lambda: Response.objects.count() == 1)
    page.get_by_test_id("welcome").wait_for(timeout=20_000)
    context.set_offline(True)
    complete_questionnaire(page)
    context.set_offline(False)
    page.evaluate("window.sipasKiosk.flush()")
    assert wait_for(lambda: Response.objects.count() == 2)
    for response in Response.objects.all():
        assert abs((response.submitted_at - timezone.now()).total_seconds()) < 120, response.submitted_at
    assert page.evaluate("window.sipasKiosk.outboxCount()") == 0
    context.close()


def test_a_tablet_restarted_without_network_starts_from_the_service_workers_copy(chromium, live_server, survey):
    """The service worker keeps the page and every module it imports: reloaded offline, the kiosk starts,
    takes a response into its outbox, and sends it once the network is back."""
    context = chromium.new_context(viewport=TABLET)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    pair(page, live_server, survey["pairing_code"])
    cached = """async () => {
        await navigator.serviceWorker.ready;
        const name = (await caches.keys()).find((n) => n.startsWith("sipas-kiosk-shell-"));
        return name ? (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname) : [];
    }"""
    shell = {"/kiosk/", "/static/kiosk/main.js", "/static/kiosk/model.js"}
    assert wait_for(lambda: shell <= set(page.evaluate(cached)))

    # Only the service worker's copy is left: Chromium's HTTP cache would hide a module missing from it.
    context.new_cdp_session(page).send("Network.clearBrowserCache")
    context.set_offline(True)
    page.reload()
    page.get_by_test_id("welcome").wait_for()
    complete_questionnaire(page)
    page.get_by_test_id("welcome").wait_for(timeout=20_000)
    assert Response.objects.count() == 0
    assert page.evaluate("window.sipasKiosk.outboxCount()") == 1

    context.set_offline(False)
    page.evaluate("window.sipasKiosk.flush()")
    assert wait_for(lambda: Response.objects.count() == 1)
    assert errors == []
    context.close()
