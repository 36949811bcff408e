import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from fieldwork.models import Kiosk, Round, token_digest
from fieldwork.services import RoundError, kiosk_create, round_create, round_open
from tests.fieldwork.base import KioskTestCase


class RoundTests(KioskTestCase):
    def test_round_create_prints_the_round_id_last(self):
        out = io.StringIO()

        call_command("round_create", "--name", "Đợt 2", "--questionnaire", "sipas-2023-services",
                     "--unit", "10", "--open", stdout=out)

        round_id = int(out.getvalue().strip().splitlines()[-1])
        created = Round.objects.get(pk=round_id)
        self.assertEqual((created.status, created.questionnaire.code), ("open", "sipas-2023-services"))

    def test_a_second_open_round_over_the_same_subtree_is_refused(self):
        with pytest.raises(RoundError, match="already open"):
            round_create(name="Xã", questionnaire_code="sipas-2017", unit_code="02212", open_now=True)
        with pytest.raises(RoundError, match="already open"):
            round_create(name="Tỉnh", questionnaire_code="sipas-2017", unit_code="08", open_now=True)

    def test_a_draft_round_can_wait_while_another_is_open(self):
        draft = round_create(name="Sau", questionnaire_code="sipas-2017", unit_code="02212")

        self.assertEqual(draft.status, Round.Status.DRAFT)
        with pytest.raises(RoundError):
            round_open(survey_round=draft)

    def test_unknown_codes_are_named(self):
        with pytest.raises(CommandError, match="unknown questionnaire version 'nope'"):
            call_command("round_create", "--name", "x", "--questionnaire", "nope", "--unit", "08")
        with pytest.raises(CommandError, match="unknown unit code '99'"):
            call_command("round_create", "--name", "x", "--questionnaire", "sipas-2017", "--unit", "99")


class KioskTests(KioskTestCase):
    def test_kiosk_create_prints_a_token_that_the_server_keeps_only_as_a_hash(self):
        out = io.StringIO()

        call_command("kiosk_create", "--unit", "02230", "--name", "Quầy 2", stdout=out)

        token = out.getvalue().strip().splitlines()[-1]
        kiosk = Kiosk.objects.get(name="Quầy 2")
        self.assertEqual(kiosk.token_hash, token_digest(token))
        self.assertNotIn(token, str(Kiosk.objects.filter(pk=kiosk.pk).values().get()))
        response = self.client.get("/api/kiosk/v1/questionnaire", HTTP_AUTHORIZATION=f"Kiosk {token}")
        self.assertEqual(response.json()["unit"]["code"], "02230")

    def test_a_pairing_code_works_once(self):
        kiosk, code = kiosk_create(unit=self.commune, name="Quầy 3")

        first = self.client.post(reverse("fieldwork:kiosk-pair"), {"code": code.lower()})
        second = self.client.post(reverse("fieldwork:kiosk-pair"), {"code": code})

        token = first.cookies["sipas_kiosk"].value
        self.assertContains(first, f'data-token="{token}"')  # for static/kiosk/paired.js
        self.assertContains(first, "kiosk/paired.js")
        self.assertIn("sipas_kiosk", first.cookies)
        self.assertContains(second, "unknown, used or expired")
        kiosk.refresh_from_db()
        self.assertIsNotNone(kiosk.token_hash)

    def test_an_officer_registers_a_kiosk_and_sees_the_pairing_code_and_qr_image(self):
        self.client.force_login(self.officer)

        response = self.client.post(reverse("fieldwork:kiosk-list", args=["02212"]), {"name": "Quầy 4"})

        self.assertContains(response, "<svg")
        self.assertContains(response, "/kiosk/pair/")
        self.assertTrue(Kiosk.objects.filter(name="Quầy 4", unit=self.commune).exists())

    def test_an_officer_cannot_see_or_revoke_another_units_kiosks(self):
        other, _ = kiosk_create(unit=self.other_commune, name="Khác")
        self.client.force_login(self.officer)

        listing = self.client.get(reverse("fieldwork:kiosk-list", args=["02230"]))
        revoke = self.client.post(reverse("fieldwork:kiosk-revoke", args=[other.pk]), {"confirm": "True"})

        self.assertEqual((listing.status_code, revoke.status_code), (404, 404))
        other.refresh_from_db()
        self.assertIsNone(other.revoked_at)

    def test_a_head_cannot_manage_kiosks(self):
        self.client.force_login(self.head)

        self.assertEqual(self.client.get(reverse("fieldwork:kiosk-list", args=["02212"])).status_code, 404)

    def test_revoking_stops_the_kiosk_at_once(self):
        self.client.force_login(self.officer)

        self.client.post(reverse("fieldwork:kiosk-revoke", args=[self.kiosk.pk]), {"confirm": "True"})

        response = self.client.get("/api/kiosk/v1/questionnaire", HTTP_AUTHORIZATION=f"Kiosk {self.token}")
        self.assertEqual(response.status_code, 403)

    def test_a_heartbeat_records_the_waiting_count(self):
        response = self.client.post("/api/kiosk/v1/heartbeat", data='{"waiting": 3}',
                                    content_type="application/json", HTTP_AUTHORIZATION=f"Kiosk {self.token}")

        self.assertEqual(response.status_code, 204)
        self.kiosk.refresh_from_db()
        self.assertEqual(self.kiosk.waiting_reported, 3)
        self.assertIsNotNone(self.kiosk.last_seen_at)


class NoJavascriptFormTests(KioskTestCase):
    def setUp(self):
        self.client.cookies["sipas_kiosk"] = self.token

    def test_the_plain_form_stores_a_response_the_same_way(self):
        from fieldwork.models import Response
        from tests.fieldwork.base import full_answers

        page = self.client.get(reverse("fieldwork:kiosk-form"))
        data = {k: v for k, v in full_answers().items()}
        data["response_id"] = page.context["response_id"]
        data["started_at"] = page.context["started_at"]

        response = self.client.post(reverse("fieldwork:kiosk-form"), data)
        again = self.client.post(reverse("fieldwork:kiosk-form"), data)  # a double tap

        self.assertRedirects(response, reverse("fieldwork:kiosk-form-thanks") + "?lang=vi",
                             fetch_redirect_response=False)
        self.assertEqual(again.status_code, 302)
        stored = Response.objects.get()
        self.assertEqual(stored.channel, Response.Channel.WEB)

    def test_the_plain_form_shows_errors_and_stores_nothing(self):
        from fieldwork.models import Response

        response = self.client.post(reverse("fieldwork:kiosk-form") + "?lang=en", {"F1.1": "4"})

        self.assertContains(response, "an answer is required")
        self.assertFalse(Response.objects.exists())

    def test_the_plain_form_is_in_english_on_request(self):
        self.assertContains(self.client.get(reverse("fieldwork:kiosk-form") + "?lang=en"), "Submit")

    def test_without_pairing_it_says_so(self):
        self.client.cookies.clear()

        self.assertContains(self.client.get(reverse("fieldwork:kiosk-form")), "not paired")
