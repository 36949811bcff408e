"""Scripts come only from the site's own files: the CSP says ``script-src 'self'``, and no page has an
inline script, an event-handler attribute or a ``javascript:`` URL, which that policy would block."""

import re
import uuid
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings
from django.test import Client

from fieldwork.services import kiosk_create
from scoring.services import api_token_create
from tests.fieldwork.base import KioskTestCase
from tests.security.urlwalk import fill, walk

TEMPLATES = Path(settings.BASE_DIR) / "templates"
DATA_TYPES = {"application/json", "application/ld+json"}  # data, never run: allowed by the policy
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href"}


class ScriptFinder(HTMLParser):
    """Collects what ``script-src 'self'`` would block in one HTML page."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and not attributes.get("src") and (attributes.get("type") or "") not in DATA_TYPES:
            self.found.append(f"inline <script> at line {self.getpos()[0]}")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...> at line {self.getpos()[0]}")
            if name in URL_ATTRIBUTES and re.sub(r"\s", "", value or "").lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...> at line {self.getpos()[0]}")


def blocked_scripts(html: str) -> list[str]:
    finder = ScriptFinder()
    finder.feed(html)
    return finder.found


def test_the_policy_allows_scripts_from_the_site_only(db):
    policy = Client().get("/accounts/login/")["Content-Security-Policy"]

    assert "script-src 'self'" in [part.strip() for part in policy.split(";")]
    assert "unsafe-inline" not in policy


def test_the_finder_finds_what_the_policy_blocks():
    assert blocked_scripts('<script>alert(1)</script><script src="/s.js"></script>') == ["inline <script> at line 1"]
    assert blocked_scripts('<a href=" JavaScript:go()">x</a>') == ["<a href=javascript:...> at line 1"]
    assert blocked_scripts('<button onclick="go()">x</button>') == ["<button onclick=...> at line 1"]
    assert blocked_scripts('<script type="application/json">{"a": 1}</script>') == []


def test_no_template_has_an_inline_script_an_event_handler_or_a_javascript_url():
    problems = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        found = blocked_scripts(path.read_text(encoding="utf-8"))
        if found:
            problems[str(path.relative_to(TEMPLATES))] = found

    assert problems == {}


class RenderedPagesTests(KioskTestCase):
    """Every page the URL walker reaches, as a superuser and as the kiosk, checked as the browser gets it
    (with the admin's and the form library's templates, which the template check does not see)."""

    def test_no_page_has_a_script_the_policy_would_block(self):
        token, _key = api_token_create(user=self.head, name="dashboard")
        _kiosk, code = kiosk_create(unit=self.commune, name="Quầy 9")
        values = {"code": "08", "unit_code": "02212", "round_id": self.round.pk, "kiosk_id": self.kiosk.pk,
                  "response_id": uuid.uuid4(), "list_id": 1, "sample_id": 1, "app_label": "fieldwork",
                  "url": "x/", "object_id": self.round.pk, "content_type_id": 1, "id": self.admin.pk,
                  "path": "kiosk/main.js", "token_id": token.pk,
                  "user_id": self.officer.pk, "role_id": self.officer.unit_roles.get().pk, "uidb64": "MQ",
                  "token": "made-up-token", "job_id": 1}
        self.admin.is_staff = True
        self.admin.save()
        staff = Client()
        staff.force_login(self.admin)
        kiosk = Client()
        kiosk.cookies["sipas_kiosk"] = self.token
        pages = [(staff, fill(route.route, values)) for route in walk() if route.name not in ("logout", "admin:logout")]
        pages += [(kiosk, "/kiosk/form/"), (Client(), "/accounts/login/"), (Client(), "/admin/login/")]
        problems, checked = {}, 0
        for client, url in pages:
            answer = client.get(url)
            if answer.streaming or "text/html" not in answer.get("Content-Type", ""):
                continue
            checked += 1
            found = blocked_scripts(answer.content.decode("utf-8", "replace"))
            if found:
                problems[url] = found
        paired = Client().post(f"/kiosk/pair/{code}/", {"code": code})

        self.assertContains(paired, 'data-token="')
        self.assertEqual(blocked_scripts(paired.content.decode()), [])
        self.assertEqual(problems, {})
        self.assertGreater(checked, 40)
