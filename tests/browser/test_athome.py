"""The at-home survey on a phone (360×740, Chromium): a personal link's page and its weight, the
consent line, Start counting the invitation opened, a reload half-way that resumes, the response
stored once with channel "link", the link answered and an expired one; axe-core on each screen.
The page weight of the first screen (bytes transferred, headers included) is printed and kept in
test-artifacts/athome/weight.txt."""

import datetime
import time

import pytest
from django.utils import timezone

from fieldwork.invitations import invitation_token, invitations_create
from fieldwork.models import Invitation, Response
from fieldwork.sampling import dossier_list_import, sample_draw
from tests.base import make_user
from tests.browser.axe import ALL, axe_violations, format_violations
from tests.browser.kiosk import SETTLED, answer_question, current_step, make_survey, open_kiosk, settle, tap, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The first screen on a slow connection: the page, the kiosk's stylesheet and modules, the at-home
# module, the questionnaire in the page. Budget: 150 KB transferred (uncompressed: the test server
# does not compress; gzip at the web server roughly quarters it).
FIRST_SCREEN_BUDGET = 150_000
HURRIED = {"E.FIELD": "transport", "E.ONTIME": "on_time", "F5.0": "no"}


@pytest.fixture
def invited():
    survey = make_survey()
    user = make_user("officer08")
    frame = "dossier_code,unit_code,service_field,completed_on\n" + "".join(
        f"H-{i:03d},02212,land,2026-10-0{i % 9 + 1}\n" for i in range(6))
    dossiers = dossier_list_import(survey_round=survey["round"], name="Hồ sơ", user=user, text=frame)
    sample = sample_draw(dossier_list=dossiers, size=6, strata=(), seed=1, user=user)
    invitations_create(sample=sample)
    return list(Invitation.objects.filter(round=survey["round"]).order_by("dossier__code"))


@pytest.fixture
def phone(chromium):
    """Opens a phone's browser, ``phone(touch=True)`` (360×740, a touch screen unless ``touch=False``)
    and returns its page; after the test it is closed, and the test fails if the page had a
    JavaScript error."""
    opened = []

    def open_phone(touch=True):
        context, page, errors = open_kiosk(chromium, "360x740", has_touch=touch, is_mobile=touch)
        opened.append((context, errors))
        return page

    yield open_phone
    for context, _errors in opened:
        context.close()
    for _context, errors in opened:
        assert not errors, errors


def link_of(live_server, invitation):
    return f"{live_server.url}/i/{invitation_token(invitation)}/"


def answer_to_the_end(page, end, touch=False):
    """Answer the questions as they come (HURRIED's choices) up to Send, then wait for the screen
    ``end`` (a test id)."""
    while not page.get_by_test_id(end).count():
        settle(page)
        _key, _taps, last = answer_question(page, HURRIED, touch=touch)
        if last:
            break
    page.get_by_test_id(end).wait_for()


def serious(page, name):
    found = axe_violations(page, impacts=ALL)
    assert not [v for v in found if v.impact in ("serious", "critical")], f"{name}:\n{format_violations(found)}"
    print(f"axe, {name}: {len(found)} of lesser impact {sorted({v.rule for v in found})}")
    return found


def test_answering_at_home_on_a_phone(phone, live_server, invited, artifacts):
    invitation = invited[0]
    link = link_of(live_server, invitation)
    shots = artifacts / "athome"
    shots.mkdir(exist_ok=True)
    page = phone()
    transferred = []
    page.on("requestfinished", lambda request: transferred.append(
        (request.url, sum(max(0, n) for n in (request.sizes()["responseBodySize"],
                                              request.sizes()["responseHeadersSize"])))))
    page.goto(link)
    page.get_by_test_id("welcome").wait_for()
    page.wait_for_load_state("networkidle")
    weight = sum(size for _url, size in transferred)
    listing = "\n".join(f"{size:>8} {url.removeprefix(live_server.url)}" for url, size in transferred)
    (shots / "weight.txt").write_text(f"first screen: {weight} bytes in {len(transferred)} requests\n{listing}\n")
    print(f"\nat-home first screen: {weight} bytes in {len(transferred)} requests\n{listing}")
    assert weight < FIRST_SCREEN_BUDGET, listing
    assert "91/2025/QH15" in page.get_by_test_id("consent").inner_text()
    assert "Luật Bảo vệ dữ liệu cá nhân" in page.get_by_test_id("consent").inner_text()
    assert page.evaluate("document.documentElement.lang") == "vi"
    page.screenshot(path=str(shots / "01-welcome.png"))
    serious(page, "welcome")
    invitation.refresh_from_db()
    assert invitation.opened_at is None  # the page's GET is no "opened"

    tap(page, page.get_by_test_id("start"), touch=True)
    first = current_step(page)
    wait_for(lambda: Invitation.objects.get(pk=invitation.pk).opened_at is not None)
    page.screenshot(path=str(shots / "02-question.png"))
    serious(page, "first question")
    answered = [answer_question(page, HURRIED, touch=True)[0] for _i in range(4)]
    here = current_step(page)
    assert first == answered[0] and here not in answered

    # Closed half-way (a reload): the answers are on the phone, and Start goes on from there.
    page.reload()
    page.get_by_test_id("welcome").wait_for()
    assert page.get_by_test_id("start").inner_text() == "Tiếp tục từ chỗ đã dừng"
    serious(page, "welcome, resuming")
    tap(page, page.get_by_test_id("start"), touch=True)
    assert current_step(page) == here
    tap(page, page.get_by_test_id("back"), touch=True)
    page.locator(f'{SETTLED} [data-step="{answered[-1]}"] [aria-checked="true"]').wait_for()  # kept
    tap(page, page.locator(".nav .btn-primary"), touch=True)
    page.locator(f'{SETTLED} [data-step="{here}"]').wait_for()
    answer_to_the_end(page, "athome-thanks", touch=True)
    page.screenshot(path=str(shots / "03-thanks.png"))
    serious(page, "thanks")
    stored = Response.objects.filter(channel=Response.Channel.LINK)
    assert stored.count() == 1
    assert stored.get().unit.code == "02212" and stored.get().dossier_hash is None
    invitation.refresh_from_db()
    assert invitation.completed_at is not None
    assert page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('sipas.athome'))") == []

    # Reopened: already answered, nothing more stored; answers a phone still kept for it are deleted.
    key = f"sipas.athome.{invitation_token(invitation)[:22]}"
    page.evaluate("(key) => localStorage.setItem(key, '{}')", key)
    page.goto(link)
    page.get_by_test_id("athome-used").wait_for()
    page.wait_for_function("(key) => localStorage.getItem(key) === null", arg=key)
    assert "đã được trả lời" in page.inner_text("h1")
    serious(page, "already answered")

    # An expired link: a clear page, nothing stored.
    expired = invited[1]
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(days=1))
    page.goto(link_of(live_server, expired))
    page.get_by_test_id("athome-expired").wait_for()
    assert "hết hạn" in page.inner_text("h1") and "expired" in page.inner_text("h1")
    page.screenshot(path=str(shots / "04-expired.png"))
    serious(page, "expired")
    assert Response.objects.count() == 1


def test_a_second_tab_sending_after_the_first_gets_already_answered(phone, live_server, invited):
    """Two tabs on one link: the second one's Send stores nothing and says the link was answered."""
    invitation = invited[2]
    page = phone(touch=False)
    page.goto(link_of(live_server, invitation))
    tap(page, page.get_by_test_id("start"))
    current_step(page)
    Invitation.objects.filter(pk=invitation.pk).update(completed_at=timezone.now())  # the other tab sent
    answer_to_the_end(page, "athome-used")
    serious(page, "already answered, after sending")
    assert Response.objects.count() == 0


def test_the_slips_code_on_a_phone(phone, live_server, invited):
    """The short code typed on the small public page leads to the survey; a wrong one is said plainly."""
    invitation = invited[3]
    page = phone()
    page.goto(f"{live_server.url}/i/")
    serious(page, "code page")
    page.get_by_label("Mã trên phiếu mời").fill("zzzz 3333")
    page.get_by_test_id("code-go").click()
    assert "Không có cuộc khảo sát nào đang mở với mã này" in page.get_by_test_id("error").inner_text()
    serious(page, "code page, wrong code")
    page.get_by_label("Mã trên phiếu mời").fill(invitation.code.lower())
    page.get_by_test_id("code-go").click()
    page.get_by_test_id("welcome").wait_for()
    assert page.url == link_of(live_server, invitation)
    invitation.refresh_from_db()
    assert invitation.opened_at is None


# A cheap Android phone on a poor mobile connection: Chrome DevTools' "Slow 3G" (400 ms, 400 kbit/s
# down) and a CPU four times slower than this machine's.
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400 * 1024 // 8, "uploadThroughput": 400 * 1024 // 8}
SLOW_FIRST_SCREEN_SECONDS = 10


def test_the_first_screen_on_a_slow_connection(phone, live_server, invited, artifacts):
    link = link_of(live_server, invited[4])
    page = phone()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    started = time.monotonic()
    page.goto(link, wait_until="commit", timeout=60_000)
    page.get_by_test_id("start").wait_for(timeout=60_000)
    seconds = time.monotonic() - started
    (artifacts / "athome").mkdir(exist_ok=True)
    (artifacts / "athome" / "slow.txt").write_text(f"first screen on Slow 3G, CPU ÷4: {seconds:.1f} s\n")
    print(f"\nat-home first screen on Slow 3G, CPU ÷4: {seconds:.1f} s")
    assert seconds < SLOW_FIRST_SCREEN_SECONDS
