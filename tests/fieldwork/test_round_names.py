"""A round's name in the citizen's language, and the questionnaire version a new round is offered."""

import io

from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from fieldwork.models import Round
from fieldwork.services import RoundError, round_close, round_create, round_update
from tests.fieldwork.base import KioskTestCase


class RoundNameTests(KioskTestCase):
    def setUp(self):
        self.client.force_login(self.province_admin)

    def questionnaire(self):
        return self.client.get("/api/kiosk/v1/questionnaire", HTTP_AUTHORIZATION=f"Kiosk {self.token}").json()

    def test_the_kiosk_gets_the_rounds_name_in_both_languages(self):
        round_update(survey_round=self.round, name_en="Fourth quarter 2026")

        data = self.questionnaire()

        self.assertEqual(data["round"]["name"], "Quý IV/2026")  # as before, for kiosks that read it
        self.assertEqual(data["round"]["name_en"], "Fourth quarter 2026")
        self.assertEqual(data["round"]["names"], {"vi": "Quý IV/2026", "en": "Fourth quarter 2026"})

    def test_without_an_english_name_the_english_screen_shows_the_vietnamese_one(self):
        data = self.questionnaire()

        self.assertIsNone(data["round"]["name_en"])
        self.assertEqual(data["round"]["names"], {"vi": "Quý IV/2026", "en": "Quý IV/2026"})

    def test_an_officer_gives_the_english_name_when_creating_and_editing_a_round(self):
        round_close(survey_round=self.round)
        self.client.post(reverse("fieldwork:round-list", args=["08"]), {
            "name": "Quý I/2027", "name_en": "  First quarter 2027 ", "questionnaire": self.round.questionnaire.pk,
            "quota_policy": "flag",
        })
        created = Round.objects.get(name="Quý I/2027")
        self.assertEqual(created.name_en, "First quarter 2027")

        self.client.post(reverse("fieldwork:round", args=[created.pk]), {
            "name": "Quý I/2027", "name_en": "Q1 2027", "questionnaire": created.questionnaire.pk,
            "quota_policy": "flag",
        })

        created.refresh_from_db()
        self.assertEqual(created.name_en, "Q1 2027")

    def test_the_services_take_the_english_name(self):
        round_close(survey_round=self.round)

        created = round_create(name="Năm 2027", name_en=" Year 2027 ", questionnaire_code="sipas-2017", unit_code="08")
        round_update(survey_round=created, name_en="")

        self.assertEqual(Round.objects.get(pk=created.pk).name_en, "")
        with self.assertRaises(RoundError):
            round_update(survey_round=created, unit=self.commune)


class DefaultQuestionnaireTests(KioskTestCase):
    def test_a_new_round_is_offered_the_revision_of_the_five_factor_survey(self):
        self.client.force_login(self.province_admin)

        form = self.client.get(reverse("fieldwork:round-list", args=["08"])).context["form"]

        self.assertEqual(settings.DEFAULT_QUESTIONNAIRE, "sipas-2017-r2026")
        self.assertEqual(form.initial["questionnaire"].code, "sipas-2017-r2026")
        self.assertIn("sipas-2017", [v.code for v in form.fields["questionnaire"].queryset])  # still offered

    @override_settings(DEFAULT_QUESTIONNAIRE="no-such-version")
    def test_a_default_that_is_not_loaded_offers_no_choice(self):
        self.client.force_login(self.province_admin)

        form = self.client.get(reverse("fieldwork:round-list", args=["08"])).context["form"]

        self.assertIsNone(form.initial["questionnaire"])

    def test_the_command_uses_the_default_unless_told_otherwise(self):
        round_close(survey_round=self.round)
        out = io.StringIO()

        call_command("round_create", "--name", "Năm 2027", "--name-en", "Year 2027", "--unit", "08", stdout=out)
        call_command("round_create", "--name", "Cũ", "--questionnaire", "sipas-2017", "--unit", "08", stdout=out)

        made = Round.objects.get(name="Năm 2027")
        self.assertEqual((made.questionnaire.code, made.name_en), ("sipas-2017-r2026", "Year 2027"))
        self.assertEqual(Round.objects.get(name="Cũ").questionnaire.code, "sipas-2017")
