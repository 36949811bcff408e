"""The WSGI application a server loads: the kiosk API with only the security middleware, the rest with all of
it, and the application's own long-lived objects left out of garbage collection."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from fieldwork.models import Response
from tests.fieldwork.base import KioskTestCase

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, sys
import surveyapp.wsgi
print(gc.get_freeze_count(), len(gc.get_objects()),
      "fieldwork.kiosk_api" in sys.modules, "scoring.views" in sys.modules)
"""


def test_loading_the_application_freezes_django_the_urls_and_every_view_before_the_first_request():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "surveyapp.settings"})
    assert done.returncode == 0, done.stderr
    frozen, tracked, kiosk_api_loaded, score_views_loaded = done.stdout.split()
    # Django with its apps, models and URL patterns makes about 90,000 objects: all frozen, so a full
    # collection during a request walks only what requests made since (bench/request_cpu.py times it).
    assert int(frozen) > 50_000
    assert int(tracked) < int(frozen) / 10
    assert (kiosk_api_loaded, score_views_loaded) == ("True", "True")


def call(application, method, path, body=b"", **headers):
    """(status, headers, body) of one request to a WSGI application, in this process."""
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SERVER_NAME": "testserver", "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(len(body)), **headers,
    }
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), response_headers

    content = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], content


class TheKioskApiItsOwnMiddlewareTests(KioskTestCase):
    def setUp(self):
        # As Django's test client does: the test's transaction must outlive the request.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        self.addCleanup(request_started.connect, close_old_connections)
        self.addCleanup(request_finished.connect, close_old_connections)

    def test_a_submission_through_the_application_is_stored_with_the_security_headers_and_no_cookie(self):
        from surveyapp.wsgi import application

        body = self.payload()
        status, headers, content = call(
            application, "POST", "/api/kiosk/v1/responses", json.dumps(body).encode(),
            CONTENT_TYPE="application/json", HTTP_AUTHORIZATION=f"Kiosk {self.token}",
            HTTP_COOKIE="sessionid=abc; csrftoken=x", HTTP_ACCEPT_LANGUAGE="vi",
        )

        self.assertEqual((status, json.loads(content)), (201, {"id": body["id"], "status": "stored"}))
        self.assertEqual(Response.objects.filter(pk=body["id"]).count(), 1)
        names = {name.lower(): value for name, value in headers}
        self.assertEqual(names["x-frame-options"], "DENY")
        self.assertEqual(names["x-content-type-options"], "nosniff")
        self.assertIn("frame-ancestors 'none'", names["content-security-policy"])
        self.assertNotIn("set-cookie", names)  # no session, no CSRF cookie, no language cookie
        self.assertNotIn("vary", names)  # nothing about it depends on a cookie or a language
        self.assertEqual(names["content-length"], str(len(content)))  # not chunked

    def test_a_staff_page_through_the_application_still_has_sessions_users_and_csrf(self):
        from surveyapp.wsgi import application

        status, headers, _ = call(application, "GET", f"/rounds/{self.round.pk}/")
        login_status, login_headers, _ = call(application, "GET", "/accounts/login/")

        self.assertEqual(status, 302)
        self.assertIn("/accounts/login/", dict(headers)["Location"])
        self.assertEqual(login_status, 200)
        cookies = [value.strip() for name, value in login_headers if name == "Set-Cookie"]
        self.assertTrue(any(cookie.startswith("csrftoken=") for cookie in cookies), cookies)


def test_the_kiosk_api_keeps_the_security_middleware_and_adds_none_of_its_own():
    from surveyapp.wsgi import kiosk_api_handler, site_handler

    security = [m for m in settings.MIDDLEWARE if "security" in m or "clickjacking" in m]
    kept = [m for m in settings.KIOSK_API_MIDDLEWARE if m != "surveyapp.middleware.content_length"]
    assert kept == security  # the same ones, in the same order
    assert len(site_handler._view_middleware) > len(kiosk_api_handler._view_middleware) == 0  # CSRF is a view one
    assert settings.MIDDLEWARE != settings.KIOSK_API_MIDDLEWARE  # swapped only while the handler was made
