"""Every URL pattern with hostile values in its parameters and its query string, asked by the
superuser (who may open everything): a 4xx or a page, never a server error. PostgreSQL takes no
NUL in text, so a NUL in a unit code or a query parameter used to fail in the database (500)."""

from urllib.parse import quote

from tests.fieldwork.base import KioskTestCase
from tests.security.urlwalk import fill, parameters, walk

HOSTILE_TEXT = ["\x00", "08\x00", "\x01\x1f", "x" * 3000, "08/../10", "%", "' OR 1=1 --", "\u202e08"]
HOSTILE_QUERY = "&".join(f"{name}={quote(value)}" for name in ("unit", "sort", "table", "part", "page", "lang",
                                                                 "lagging", "next", "code")
                         for value in ("\x00",)) + "&%00=1"
NUMBER = "99999999999999999999"  # past every integer column


class HostileAddressTests(KioskTestCase):
    def routes(self, text):
        for route in walk():
            if route.route.startswith("^static/") or route.name.startswith("admin:"):
                continue  # Django's own admin and static file views are Django's to keep
            values = {}
            for name in parameters(route.route):
                values[name] = NUMBER if f"<int:{name}>" in route.route else quote(text, safe="")
            yield route.name, fill(route.route, values)

    def test_no_page_answers_a_hostile_code_or_query_with_a_server_error(self):
        self.client.raise_request_exception = False
        self.client.force_login(self.admin)
        problems = []
        for text in HOSTILE_TEXT:
            for name, url in self.routes(text):
                for method, target in (("get", url), ("get", f"{url}?{HOSTILE_QUERY}"), ("post", url)):
                    status = getattr(self.client, method)(target).status_code
                    if status >= 500:
                        problems.append((name, method, target[:120], status))
        self.assertEqual(problems, [])

    def test_a_nul_in_the_address_is_a_400_that_says_so(self):
        self.client.force_login(self.admin)

        for url in ("/units/%00/", f"/scores/{self.round.pk}/?unit=%00", "/api/v1/scores/1/08%00"):
            with self.subTest(url=url):
                answer = self.client.get(url)
                self.assertEqual(answer.status_code, 400)
                self.assertIn("NUL", answer.content.decode())
