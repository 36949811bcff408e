"""Previewing a questionnaire version on the real kiosk client (fieldwork/views_preview.py): the
preview API gives the kiosk API's questionnaire body for the version, takes a response with the
kiosk API's checks and stores nothing, and only administrators reach it."""

import datetime
import json
import re
import uuid
from pathlib import Path

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fieldwork.models import Response, ResponseChange
from fieldwork.services import round_create
from fieldwork.views_preview import KEY_PREFIX, preview_key
from tests.base import make_user
from tests.fieldwork.base import KioskTestCase, full_answers
from units.models import Role

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


class PreviewTestCase(KioskTestCase):
    def api(self, endpoint, code="sipas-2017", unit="02212"):
        return reverse(f"fieldwork:questionnaire-preview-api-{endpoint}", args=[code, unit])

    def page(self, code="sipas-2017", follow=False, **query):
        url = reverse("fieldwork:questionnaire-preview", args=[code])
        return self.client.get(url, query, follow=follow)

    def response_body(self, version="sipas-2017", **overrides):
        now = timezone.now()
        body = {"id": str(uuid.uuid4()), "round": None, "questionnaire": version,
                "started_at": (now - datetime.timedelta(minutes=3)).isoformat(), "submitted_at": now.isoformat(),
                "language": "vi", "answers": full_answers(version)}
        body.update(overrides)
        return body

    def post_response(self, body, client=None, **url):
        return (client or self.client).post(self.api("responses", **url), data=json.dumps(body),
                                            content_type="application/json")


class PreviewApiTests(PreviewTestCase):
    def test_it_gives_the_questionnaire_exactly_as_the_kiosk_api_gives_it_at_that_unit(self):
        self.client.force_login(self.province_admin)

        preview = self.client.get(self.api("questionnaire")).json()
        kiosk = Client().get("/api/kiosk/v1/questionnaire", HTTP_AUTHORIZATION=f"Kiosk {self.token}").json()

        self.assertEqual(set(preview), set(kiosk))
        self.assertEqual(preview["questionnaire"], kiosk["questionnaire"])
        self.assertEqual(preview["unit"], kiosk["unit"])
        self.assertEqual((preview["idle_seconds"], preview["thanks_seconds"]),
                         (kiosk["idle_seconds"], kiosk["thanks_seconds"]))
        self.assertEqual(set(preview["round"]), set(kiosk["round"]))
        self.assertIsNone(preview["round"]["id"])
        self.assertIn("sipas-2017", json.dumps(preview["questionnaire"]))
        self.assertEqual(preview["kiosk"]["name"], "Xem thử — không lưu")

    def test_an_item_known_from_the_unit_is_not_asked_there_but_is_asked_at_no_unit(self):
        self.client.force_login(self.province_admin)

        def codes(unit):
            body = self.client.get(self.api("questionnaire", code="sipas-2017-r2026", unit=unit)).json()
            return [item["code"] for section in body["questionnaire"]["sections"] for item in section["items"]]

        self.assertNotIn("E.LEVEL", codes("02212"))
        self.assertNotIn("E.LEVEL", codes("08"))
        self.assertIn("E.LEVEL", codes("-"))
        self.assertIn("E.FIELD", codes("02212"))

    def test_a_response_is_checked_and_answered_as_stored_but_nothing_is_stored(self):
        self.client.force_login(self.province_admin)
        body = self.response_body()
        before = (Response.objects.count(), ResponseChange.objects.count())

        answer = self.post_response(body)
        again = self.post_response(body)

        self.assertEqual(answer.status_code, 201)
        self.assertEqual(answer.json()["id"], body["id"])
        self.assertEqual(again.status_code, 201)
        self.assertEqual((Response.objects.count(), ResponseChange.objects.count()), before)

    def test_a_wrong_response_gets_the_kiosk_apis_400_naming_each_problem(self):
        self.client.force_login(self.province_admin)
        answers = full_answers()
        answers.pop("G.0")
        answers["F1.1"] = 9

        answer = self.post_response(self.response_body(answers=answers))
        envelope = self.post_response(self.response_body(language="fr", submitted_at="yesterday"))
        other_version = self.post_response(self.response_body(version="sipas-2023-services"))
        not_json = self.client.post(self.api("responses"), data=b"{", content_type="application/json")

        self.assertEqual(answer.status_code, 400)
        self.assertEqual(set(envelope.json()["errors"]), {"language", "submitted_at"})
        self.assertEqual(envelope.json()["errors"]["language"], ["must be 'vi' or 'en'"])
        kiosk_answer = self.post({**self.payload(), "answers": answers})  # the kiosk API's own words
        self.assertEqual(answer.json()["errors"]["G.0"], kiosk_answer.json()["errors"]["G.0"])
        self.assertEqual(answer.json()["errors"]["F1.1"], kiosk_answer.json()["errors"]["F1.1"])
        self.assertEqual(other_version.status_code, 400)
        self.assertIn("questionnaire", other_version.json()["errors"])
        self.assertEqual(not_json.status_code, 400)
        self.assertFalse(Response.objects.exists())

    def test_an_answer_known_from_the_unit_must_agree_with_it_as_on_a_kiosk(self):
        self.client.force_login(self.province_admin)
        answers = full_answers("sipas-2017-r2026", **{"E.LEVEL": "province"})

        answer = self.post_response(self.response_body("sipas-2017-r2026", answers=answers),
                                    code="sipas-2017-r2026")

        self.assertEqual(answer.status_code, 400)
        self.assertIn("E.LEVEL", answer.json()["errors"])

    def test_the_heartbeat_is_answered_and_ignored(self):
        self.client.force_login(self.province_admin)

        self.assertEqual(self.client.post(self.api("heartbeat"), data="{}", content_type="application/json")
                         .status_code, 204)


class PreviewKeyTests(PreviewTestCase):
    """The kiosk sends no cookies: the page lends it a preview key as its device token."""

    def with_key(self, key, endpoint="questionnaire"):
        client = Client()
        if endpoint == "questionnaire":
            return client.get(self.api(endpoint), HTTP_AUTHORIZATION=f"Kiosk {key}")
        return client.post(self.api(endpoint), data=json.dumps(self.response_body()),
                           content_type="application/json", HTTP_AUTHORIZATION=f"Kiosk {key}")

    def test_the_key_opens_the_api_without_a_session_and_stores_nothing(self):
        key = preview_key(self.province_admin)

        self.assertTrue(key.startswith(KEY_PREFIX))
        self.assertEqual(self.with_key(key).status_code, 200)
        self.assertEqual(self.with_key(key, "responses").status_code, 201)
        self.assertFalse(Response.objects.exists())

    def test_it_is_the_same_key_all_day_so_two_preview_tabs_agree(self):
        self.assertEqual(preview_key(self.province_admin), preview_key(self.province_admin))
        self.assertNotEqual(preview_key(self.province_admin), preview_key(self.admin))

    def test_a_forged_old_or_outdated_key_opens_nothing(self):
        good = preview_key(self.province_admin)
        old = preview_key(self.province_admin, day=timezone.localdate() - datetime.timedelta(days=2))
        forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")

        for key in (forged, old, "preview.", KEY_PREFIX + "x:y", self.token):
            with self.subTest(key=key[:20]):
                self.assertEqual(self.with_key(key).status_code, 401)
        self.province_admin.set_password("a new password")
        self.province_admin.save()
        self.assertEqual(self.with_key(good).status_code, 401)

    def test_on_a_staff_session_the_api_asks_for_the_csrf_token_as_staff_pages_do(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.province_admin)

        self.assertEqual(self.post_response(self.response_body(), client=client).status_code, 403)
        self.assertEqual(client.get(self.api("questionnaire")).status_code, 200)
        by_key = Client(enforce_csrf_checks=True)
        self.assertEqual(by_key.post(self.api("responses"), data=json.dumps(self.response_body()),
                                     content_type="application/json",
                                     HTTP_AUTHORIZATION=f"Kiosk {preview_key(self.province_admin)}").status_code, 201)

    def test_the_key_of_someone_who_is_no_longer_an_administrator_gets_404(self):
        key = preview_key(self.province_admin)
        Role.objects.filter(user=self.province_admin).delete()

        self.assertEqual(self.with_key(key).status_code, 404)
        self.assertEqual(self.with_key(key, "responses").status_code, 404)


class PreviewAccessTests(PreviewTestCase):
    def test_nothing_is_reachable_without_logging_in(self):
        page = self.page()

        self.assertEqual(page.status_code, 302)
        self.assertTrue(page["Location"].startswith("/accounts/login/"))
        self.assertEqual(self.client.get(self.api("questionnaire")).status_code, 401)
        self.assertEqual(self.post_response(self.response_body()).status_code, 401)
        self.assertFalse(Response.objects.exists())

    def test_staff_who_are_not_administrators_get_404(self):
        for user in (self.officer, self.province_officer, self.province_head, self.head, self.nobody):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                self.assertEqual(self.page().status_code, 404)
                self.assertEqual(self.client.get(self.api("questionnaire")).status_code, 404)
                self.assertEqual(self.post_response(self.response_body()).status_code, 404)

    def test_an_administrator_previews_only_at_their_own_units(self):
        self.client.force_login(self.province_admin)

        # The page's unit comes from a form: another province's or a made-up code goes back to the
        # version's page with the reason, not to a 404 page; the API answers 404 as the kiosk API does.
        for code in ("10", "lua-chon-la"):
            with self.subTest(code=code):
                answer = self.page(unit=code, follow=True)
                self.assertEqual(answer.redirect_chain[-1][0],
                                 reverse("questionnaire-version", args=["sipas-2017"]))
                self.assertContains(answer, f"No unit with the code “{code}” among the units you administer")
        self.assertEqual(self.client.get(self.api("questionnaire", unit="10")).status_code, 404)
        self.assertEqual(self.page(unit="02212").status_code, 200)
        self.assertEqual(self.page(code="no-such-version").status_code, 404)

    def test_an_administrator_of_a_commune_previews_too(self):
        commune_admin = make_user("commune_admin", (Role.Kind.ADMIN, self.commune))
        self.client.force_login(commune_admin)

        page = self.page()

        self.assertEqual(page.status_code, 200)
        self.assertEqual(page.context["unit"], self.commune)  # the first unit they administer
        self.assertEqual(self.page(unit="02230").status_code, 302)  # a unit they do not administer: back
        self.assertEqual(self.client.get(self.api("questionnaire", unit="02230")).status_code, 404)

    def test_a_draft_can_be_previewed(self):
        from questionnaires.services import questionnaire_load

        doc = json.loads((Path(__file__).resolve().parents[2] / "questionnaires" / "definitions" /
                          "sipas-2017.json").read_text(encoding="utf-8"))
        doc.update(code="sipas-draft", family="sipas-draft")
        questionnaire_load(doc=doc, publish=False)
        self.client.force_login(self.province_admin)

        self.assertEqual(self.page(code="sipas-draft").status_code, 200)
        self.assertEqual(self.post_response(self.response_body(version="sipas-2017", questionnaire="sipas-draft"),
                                            code="sipas-draft").status_code, 201)
        self.assertFalse(Response.objects.exists())


class PreviewPageTests(PreviewTestCase):
    def test_the_page_is_the_kiosk_frame_with_its_stylesheet_and_script_under_a_banner(self):
        self.client = Client()  # in Vietnamese, as for a browser that asks for no language
        self.client.force_login(self.province_admin)

        page = self.page(code="sipas-2017-r2026", unit="02212")
        html = page.content.decode()

        app = (TEMPLATES / "kiosk" / "app.html").read_text(encoding="utf-8")
        comment, frame = (TEMPLATES / "kiosk" / "_frame.html").read_text(encoding="utf-8").split(
            "{% endcomment %}\n", 1)
        self.assertIn('{% include "kiosk/_frame.html" %}', app)
        self.assertIn(frame, html)  # the kiosk's own frame, the one app.html includes
        self.assertNotIn(comment.splitlines()[-1], html)  # and not the template's comment about it
        for asset in re.findall(r"\{% static '([^']+)' %\}", app):
            self.assertIn(f"/static/{asset}", html)
        self.assertContains(page, "Xem thử — không lưu")
        self.assertContains(page, "Xã Sơn Dương")
        api = reverse("fieldwork:questionnaire-preview-api-questionnaire", args=["sipas-2017-r2026", "02212"])
        self.assertContains(page, f'data-api-base="{api.removesuffix("questionnaire")}"')
        self.assertContains(page, f'data-preview-key="{preview_key(self.province_admin)}"')
        self.assertNotContains(page, 'data-sw-url="/kiosk/sw.js"')

    def test_the_pages_service_worker_address_answers_404(self):
        self.client.force_login(self.province_admin)
        page = self.page()
        sw_url = re.search(r'data-sw-url="([^"]+)"', page.content.decode()).group(1)

        self.assertEqual(self.client.get(sw_url).status_code, 404)

    def test_the_kiosk_is_previewed_at_the_first_unit_one_administers_by_default(self):
        self.client.force_login(self.province_admin)

        self.assertEqual(self.page().context["unit"], self.province)
        self.assertIsNone(self.page(unit="").context["unit"])

    def test_a_round_keeps_working_while_its_version_is_previewed(self):
        round_create(name="Khác", questionnaire_code="sipas-2017", unit_code="10", open_now=True)
        self.client.force_login(self.province_admin)
        self.post_response(self.response_body())

        stored = self.post(self.payload())

        self.assertEqual(stored.status_code, 201)
        self.assertEqual(Response.objects.count(), 1)
