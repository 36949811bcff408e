"""Nothing a logged-in member of staff is shown, and no score page, export or API answer, is kept by a
browser's cache or a proxy (surveyapp.middleware.no_store_for_staff)."""

from django.test import Client
from django.urls import reverse

from scoring.services import api_token_create
from tests.scoring.test_exports import ScoredRoundTestCase


class NoStoreTests(ScoredRoundTestCase):
    def assertNoStore(self, response, where):
        self.assertIn(response.status_code, (200, 302), where)
        cache_control = response.get("Cache-Control", "")
        self.assertIn("no-store", cache_control, where)
        self.assertIn("private", cache_control, where)

    def test_score_pages_exports_and_the_report_are_not_stored(self):
        unit = f"/scores/{self.round.pk}/02212/"
        pages = {
            self.province_head: ["/scores/", f"/scores/{self.round.pk}/", unit, unit + "export.xlsx",
                                 unit + "export.csv?table=units", unit + "export.csv?table=items",
                                 unit + "report/", unit + "report.pdf", f"/api/v1/scores/{self.round.pk}/02212"],
            self.officer: [unit + "responses.csv", unit + "responses.csv?part=codebook"],
        }
        for user, urls in pages.items():
            self.client.force_login(user)
            for url in urls:
                with self.subTest(url=url):
                    self.assertNoStore(self.client.get(url), url)

    def test_every_staff_page_is_not_stored(self):
        self.client.force_login(self.officer)
        for url in (reverse("home"), reverse("api-tokens"), reverse("password_change"),
                    reverse("units:detail", args=["02212"]), reverse("fieldwork:kiosk-list", args=["02212"]),
                    reverse("fieldwork:round", args=[self.round.pk])):
            with self.subTest(url=url):
                self.assertNoStore(self.client.get(url), url)

    def test_the_score_api_answer_to_a_token_is_not_stored(self):
        _token, key = api_token_create(user=self.province_head)

        answer = Client().get(f"/api/v1/scores/{self.round.pk}/02212", HTTP_AUTHORIZATION=f"Token {key}")

        self.assertNoStore(answer, "api")

    def test_a_score_page_asked_without_a_session_is_not_stored_either(self):
        self.assertNoStore(Client().get(f"/scores/{self.round.pk}/02212/"), "redirect to login")

    def test_the_kiosk_keeps_its_own_caching_and_is_not_made_to_vary_on_cookies(self):
        answer = Client().get(reverse("fieldwork:kiosk"))

        self.assertEqual(answer["Cache-Control"], "no-cache")
        self.assertNotIn("Cookie", answer.get("Vary", ""))
