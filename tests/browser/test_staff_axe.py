"""axe-core over every staff page (tests/surveyapp/staff_scene.py: the URL patterns with a scene that
has something on each page), as a survey officer, a head and an administrator, on a 1366×768 screen
and a 390×844 phone: no violation of impact serious or critical. A new page is checked as soon as
it is in a urls.py; a page a role may not open (404) is skipped for that role. Phone screenshots
in test-artifacts/staff-axe/."""

import pytest
from django.test import Client

from tests.browser.axe import axe_violations, format_violations
from tests.surveyapp import staff_scene

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


def _pages_for(username, urls):
    """The URLs that answer this user with an HTML page (not a download, not a 404)."""
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    shown = []
    for url in urls:
        answer = client.get(url)
        if answer.status_code == 200 and "text/html" in answer.get("Content-Type", ""):
            shown.append(url)
    return shown


def _log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize("role", ["officer", "head", "admin"])
def test_no_staff_page_has_a_serious_accessibility_violation(chromium, live_server, artifacts, role):
    scene = staff_scene.build()
    username, password = staff_scene.LOGINS[role]
    urls = _pages_for(username, staff_scene.staff_urls(scene))
    folder = artifacts / "staff-axe"
    folder.mkdir(exist_ok=True)
    for old in folder.glob(f"{role}-*.png"):  # the pages of an earlier run (other round ids)
        old.unlink()
    problems = []
    for viewport, size in VIEWPORTS.items():
        context = chromium.new_context(viewport=size, locale="vi-VN")
        page = context.new_page()
        _log_in(page, live_server, username, password)
        for url in urls:
            page.goto(live_server.url + url)
            page.wait_for_load_state("load")
            violations = axe_violations(page)
            if violations:
                problems.append(format_violations(violations, f"{url} ({role}, {viewport})"))
            if viewport == "phone":
                name = url.strip("/").replace("/", "_").replace("?", "_").replace("&", "_").replace("=", "-")
                page.screenshot(path=str(folder / f"{role}-{name or 'home'}.png"), full_page=True)
        context.close()

    assert len(urls) > (12 if role == "head" else 20), urls
    assert not problems, "\n\n".join(problems)
