"""CSRF on every staff form, kiosk tokens, the per-device limit, login throttling, and the security
headers of the production settings."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from unittest import mock

from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from fieldwork.models import Kiosk, Response, token_digest
from fieldwork.services import kiosk_create, kiosk_issue_token, kiosk_revoke
from scoring.models import ApiToken
from scoring.services import api_token_create
from tests.base import EnglishClient
from tests.fieldwork.base import KioskTestCase
from tests.security.urlwalk import fill, walk

ROOT = Path(__file__).resolve().parents[2]
# Where a cookie is not the credential: the kiosk API authenticates by a device token in a header, and
# so does a questionnaire preview's kiosk, by a preview key (fieldwork/views_preview.py: on a staff
# session, the same API checks the CSRF token itself), and a citizen's personal link (fieldwork/views_athome.py).
CSRF_EXEMPT = {"fieldwork:api-questionnaire", "fieldwork:api-responses", "fieldwork:api-heartbeat",
               "fieldwork:questionnaire-preview-api-questionnaire", "fieldwork:questionnaire-preview-api-responses",
               "fieldwork:questionnaire-preview-api-heartbeat",
               # the at-home survey's calls: the signed token in the path is the credential, no cookie is read
               "fieldwork:athome-start", "fieldwork:athome-responses",
               # a desk poster's unit link: its token in the path names the link (fieldwork/views_unitlinks.py)
               "fieldwork:unit-link-start", "fieldwork:unit-link-responses",
               # the gateways' delivery reports: a shared secret in a header, or Zalo's signature of the body
               "fieldwork:hook-sms-delivery", "fieldwork:hook-zalo-events"}
# A Redis that is not there: nothing listens on port 1.
REDIS_DOWN = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": "redis://127.0.0.1:1/0", "KEY_PREFIX": "down"}}


class CsrfTests(KioskTestCase):
    def csrf_client(self, user):
        client = EnglishClient(enforce_csrf_checks=True)
        client.force_login(user)
        return client

    def test_every_url_but_the_kiosk_api_refuses_a_post_without_the_csrf_token(self):
        client = self.csrf_client(self.admin)  # a superuser: nothing but CSRF stands in the way
        token, _key = api_token_create(user=self.officer, name="dashboard")
        values = {"code": "08", "unit_code": "08", "round_id": self.round.pk, "kiosk_id": self.kiosk.pk,
                  "response_id": uuid.uuid4(), "list_id": 1, "sample_id": 1, "app_label": "fieldwork",
                  "url": "x/", "object_id": 1, "content_type_id": 1, "id": self.admin.pk, "path": "x.js",
                  "token_id": token.pk,
                  "user_id": self.officer.pk, "role_id": self.officer.unit_roles.get().pk, "uidb64": "MQ",
                  "token": "made-up-token", "job_id": 1}
        accepted = []
        for route in walk():
            if route.name in CSRF_EXEMPT:
                continue
            url = fill(route.route, values)
            status = client.post(url, {"name": "x", "target": "1"}).status_code
            if status != 403:
                accepted.append(f"POST {url} ({route.name}) -> {status}")

        self.assertEqual(accepted, [])
        self.assertIsNone(Kiosk.objects.get(pk=self.kiosk.pk).revoked_at)
        self.assertEqual(ApiToken.objects.get().revoked_at, None)
        self.assertEqual(self.round.__class__.objects.get(pk=self.round.pk).status, "open")

    def test_only_the_kiosk_api_is_exempt_from_csrf(self):
        from django.urls import get_resolver

        exempt = set()

        def visit(patterns, namespace=""):
            for entry in patterns:
                if hasattr(entry, "url_patterns"):
                    visit(entry.url_patterns, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
                elif getattr(entry.callback, "csrf_exempt", False):
                    exempt.add(f"{namespace}{entry.name}")

        visit(get_resolver().url_patterns)

        self.assertEqual(exempt, CSRF_EXEMPT)

    def test_the_same_form_with_its_csrf_token_goes_through(self):
        client = self.csrf_client(self.officer)
        page = client.get(reverse("fieldwork:kiosk-list", args=["02212"]))
        token = page.cookies["csrftoken"].value

        answer = client.post(reverse("fieldwork:kiosk-revoke", args=[self.kiosk.pk]),
                             {"csrfmiddlewaretoken": token, "confirm": "True"})

        self.assertEqual(answer.status_code, 302)
        self.assertIsNotNone(Kiosk.objects.get(pk=self.kiosk.pk).revoked_at)

    def test_the_login_form_needs_its_csrf_token_too(self):
        client = EnglishClient(enforce_csrf_checks=True)

        answer = client.post(reverse("login"), {"username": "officer", "password": "password"})

        self.assertEqual(answer.status_code, 403)
        self.assertNotIn("_auth_user_id", client.session)


class KioskTokenTests(KioskTestCase):
    ENDPOINTS = (("get", "/api/kiosk/v1/questionnaire"), ("post", "/api/kiosk/v1/responses"),
                 ("post", "/api/kiosk/v1/heartbeat"))

    def call(self, method, url, header):
        extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
        body = json.dumps(self.payload()) if method == "post" else None
        return getattr(self.client, method)(url, data=body, content_type="application/json", **extra)

    def test_forged_tokens_are_refused_on_every_endpoint_with_a_message(self):
        forged = [None, "", "Kiosk", "Kiosk ", "Bearer " + self.token, "kiosk " + self.token,
                  "Kiosk " + self.token[:-1], "Kiosk " + self.token + "x", "Kiosk " + token_digest(self.token),
                  "Kiosk " + "A" * 5000, "Kiosk \x00" + self.token, "Kiosk " + self.token.upper(),
                  "Token " + self.token]
        for method, url in self.ENDPOINTS:
            for header in forged:
                with self.subTest(url=url, header=(header or "")[:40]):
                    answer = self.call(method, url, header)
                    self.assertEqual(answer.status_code, 401)
                    self.assertIn("token", answer.json()["error"].lower())
        self.assertFalse(Response.objects.exists())
        self.assertIsNone(Kiosk.objects.get(pk=self.kiosk.pk).last_seen_at)

    def test_a_revoked_kiosk_is_refused_on_every_endpoint_and_on_the_form_without_javascript(self):
        kiosk_revoke(kiosk=self.kiosk)

        for method, url in self.ENDPOINTS:
            with self.subTest(url=url):
                answer = self.call(method, url, f"Kiosk {self.token}")
                self.assertEqual(answer.status_code, 403)
                self.assertEqual(answer.json()["error"], "this kiosk has been revoked")
        self.client.cookies["sipas_kiosk"] = self.token
        page = self.client.get(reverse("fieldwork:kiosk-form"))
        self.assertNotContains(page, 'name="F1.1"')
        self.assertFalse(Response.objects.exists())

    def test_a_new_token_replaces_the_old_one(self):
        new_token = kiosk_issue_token(kiosk=self.kiosk)

        self.assertEqual(self.call("get", "/api/kiosk/v1/questionnaire", f"Kiosk {self.token}").status_code, 401)
        self.assertEqual(self.call("get", "/api/kiosk/v1/questionnaire", f"Kiosk {new_token}").status_code, 200)

    def test_pairing_codes_cannot_be_guessed_and_expire(self):
        import math

        from fieldwork.services import KioskAuthError, _pairing_code, kiosk_pair

        codes = {_pairing_code() for _ in range(2000)}
        alphabet = set("".join(codes))
        bits = len(next(iter(codes))) * math.log2(len(alphabet))

        self.assertEqual(len(codes), 2000)
        self.assertGreaterEqual(bits, 48)  # 31 symbols × 10: 2^49.5; a million guesses a day for years
        kiosk, code = kiosk_create(unit=self.commune, name="Quầy 3")
        Kiosk.objects.filter(pk=kiosk.pk).update(pairing_expires_at=timezone.now())
        with self.assertRaises(KioskAuthError):
            kiosk_pair(code=code)
        self.assertIsNone(Kiosk.objects.get(pk=kiosk.pk).paired_at)

    def test_only_a_hash_of_the_token_is_kept(self):
        stored = Kiosk.objects.filter(pk=self.kiosk.pk).values_list("token_hash", flat=True).get()

        self.assertEqual(stored, token_digest(self.token))
        self.assertNotIn(self.token, json.dumps(list(Kiosk.objects.values()), default=str))


class KioskRateLimitTests(KioskTestCase):
    """The per-device limit exists (fieldwork/ratelimit.py); here: per device, and failing open."""

    def setUp(self):
        # One fixed instant: the limit counts in one-minute windows, and a test must not straddle two.
        self.enterContext(mock.patch("fieldwork.ratelimit.time.time", return_value=1_800_000_010.0))

    @override_settings(KIOSK_RATE_LIMIT_PER_MINUTE=2)
    def test_the_limit_is_per_device_and_says_when_to_retry(self):
        other, _ = kiosk_create(unit=self.commune, name="Quầy 2")
        other_token = kiosk_issue_token(kiosk=other)

        mine = [self.post(self.payload()) for _ in range(3)]
        theirs = self.post(self.payload(), token=other_token)

        self.assertEqual([a.status_code for a in mine], [201, 201, 429])
        self.assertEqual(mine[2]["Retry-After"], "50")
        self.assertIn("too many requests", mine[2].json()["error"])
        self.assertEqual(theirs.status_code, 201)
        self.assertEqual(Response.objects.count(), 3)

    @override_settings(KIOSK_RATE_LIMIT_PER_MINUTE=2, CACHES=REDIS_DOWN)
    def test_with_redis_down_kiosks_are_not_limited_and_responses_are_stored(self):
        with self.assertLogs("fieldwork.ratelimit", "WARNING"):
            statuses = [self.post(self.payload()).status_code for _ in range(4)]

        self.assertEqual(statuses, [201] * 4)
        self.assertEqual(Response.objects.count(), 4)


@override_settings(LOGIN_FAILURE_LIMIT=3, LOGIN_USERNAME_FAILURE_LIMIT=6)
class LoginThrottleTests(KioskTestCase):
    """Throttling itself is tested in tests/surveyapp/test_login.py; here: it cannot be sidestepped."""

    def login(self, username, password, address="198.51.100.7", **extra):
        return self.client.post(reverse("login"), {"username": username, "password": password},
                                REMOTE_ADDR=address, **extra)

    def test_a_locked_username_stays_locked_in_another_spelling_and_new_addresses_buy_little(self):
        for address in ("198.51.100.7", "198.51.100.8"):
            for spelling in ("officer", " OFFICER ", "ｏｆｆｉｃｅｒ"):
                self.login(spelling, "wrong", address=address)

        answer = self.login("𝐨𝐟𝐟𝐢𝐜𝐞𝐫", "password", address="203.0.113.50")

        self.assertContains(answer, "Too many failed attempts")
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_a_forwarded_for_header_sent_by_the_client_does_not_change_its_address(self):
        for n in range(3):
            self.login("officer", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

        self.assertContains(self.login("officer", "password", HTTP_X_FORWARDED_FOR="203.0.113.99"),
                            "Too many failed attempts")

    @override_settings(CACHES=REDIS_DOWN)
    def test_with_redis_down_staff_can_still_log_in_and_a_wrong_password_is_still_refused(self):
        with self.assertLogs("surveyapp.throttle", "ERROR"):
            wrong = self.login("officer", "wrong")
            right = self.login("officer", "password")

        self.assertContains(wrong, "Please enter a correct username and password")
        self.assertRedirects(right, reverse("home"), fetch_redirect_response=False)


HEADERS_SCRIPT = """
import json, django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client()
out = {}
for url in ("/accounts/login/", "/kiosk/", "/healthz", "/api/kiosk/v1/questionnaire"):
    r = client.get(url, secure=True, HTTP_HOST="sipas.example.gov.vn")
    out[url] = {"status": r.status_code, **{k: v for k, v in r.headers.items()}}
r = client.get("/accounts/login/", HTTP_HOST="sipas.example.gov.vn")
out["http"] = {"status": r.status_code, "Location": r.headers.get("Location")}
print(json.dumps(out))
"""


def test_production_settings_send_the_security_headers_on_every_kind_of_page():
    dropped = ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(DEBUG="0", SECRET_KEY="x" * 20 + uuid.uuid4().hex, ALLOWED_HOSTS="sipas.example.gov.vn",
               DJANGO_SETTINGS_MODULE="surveyapp.settings")
    done = subprocess.run([sys.executable, "-c", HEADERS_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    pages = json.loads(done.stdout.strip().splitlines()[-1])

    assert pages.pop("http") == {"status": 301, "Location": "https://sipas.example.gov.vn/accounts/login/"}
    for url, headers in pages.items():
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", url
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["Referrer-Policy"] == "same-origin", url
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin", url
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], url
        assert "object-src 'none'" in headers["Content-Security-Policy"], url
        assert "script-src 'self'" in headers["Content-Security-Policy"], url


def test_pages_under_the_local_settings_carry_the_same_headers_but_hsts(db):
    answer = Client().get("/accounts/login/")

    assert answer["X-Frame-Options"] == "DENY"
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in answer["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in answer  # HSTS over plain HTTP on a laptop would be wrong
