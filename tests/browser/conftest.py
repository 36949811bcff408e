"""Headless Chromium (Debian's package) driven by Playwright, against pytest-django's live server
serving the application that servers load (surveyapp/wsgi.py).

Screenshots go to the git-ignored test-artifacts/ folder.
"""

import os
import shutil
from pathlib import Path
from unittest import mock

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Playwright's sync API runs an event loop in this thread; the tests still read the database
# directly to check what was stored, which Django only allows with this flag.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "1")


@pytest.fixture(scope="session")
def chromium():
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.skip("chromium is not installed: browser tests skipped (make test tries to install it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                  "--disable-gpu", "--no-first-run", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def live_server():
    """pytest-django's live server serving ``surveyapp.wsgi.application`` (the kiosk API through its
    own middleware chain, as gunicorn and granian serve it) behind the static files. Django's server
    thread wraps a handler of its own in one for media files, which with no MEDIA_URL answers every
    path itself: the project has no media files, so that wrapper gives way to the application. The
    thread makes its handler when it starts, which the LiveServer waits for."""
    from pytest_django.live_server_helper import LiveServer

    from surveyapp.wsgi import application

    with mock.patch("django.test.testcases._MediaFilesHandler", lambda _django_handler: application):
        server = LiveServer("localhost")
    yield server
    server.stop()
