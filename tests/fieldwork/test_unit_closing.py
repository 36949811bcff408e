"""Closing a unit in the administration pages warns of what fieldwork still has there: kiosks
paired at the unit or below and rounds open over it (units.signals.unit_closing, answered by
fieldwork.services.warn_unit_closing; units knows nothing of fieldwork)."""

from django.test import Client
from django.urls import reverse

from fieldwork.services import kiosk_create, kiosk_revoke, round_close, round_create
from tests.base import make_user
from tests.fieldwork.base import KioskTestCase
from units.models import Role

CENTRE = "02212.TTPV"  # the commune's one-stop centre, with no unit below it


class UnitClosingWarningsTests(KioskTestCase):
    def ask(self, code, language="en"):
        browser = Client(HTTP_ACCEPT_LANGUAGE=language)
        browser.force_login(make_user(f"admin_{language}", (Role.Kind.ADMIN, self.province)))
        page = browser.post(reverse("administration:unit-close", args=[code]),
                            {"valid_to": "2026-12-31", "successor": "02212"})
        self.assertContains(page, 'data-testid="confirm-close"')
        return page.content.decode()

    def test_kiosks_at_the_unit_and_its_open_round_are_named_before_it_closes(self):
        kiosk_create(unit=self.commune_centre, name="Quầy 2")
        kiosk_create(unit=self.commune_centre, name="Quầy 3")
        gone, _code = kiosk_create(unit=self.commune_centre, name="Quầy cũ")
        kiosk_revoke(kiosk=gone)
        round_close(survey_round=self.round)
        round_create(name="Đợt trung tâm", questionnaire_code="sipas-2017", unit_code=CENTRE, open_now=True)

        page = self.ask(CENTRE)

        self.assertIn(f"2 kiosks are still at this unit or below (Quầy 2 ({CENTRE}), Quầy 3 ({CENTRE}))", page)
        self.assertIn("before 31/12/2026", page)
        self.assertNotIn("Quầy cũ", page)  # revoked
        self.assertNotIn("Quầy 1", page)  # at the commune, above the centre
        self.assertIn(f"The round “Đợt trung tâm” over {self.commune_centre.name} is open: close it after "
                      "31/12/2026.", page)

    def test_the_warnings_are_in_vietnamese_on_a_vietnamese_page(self):
        kiosk_create(unit=self.commune_centre, name="Quầy 2")

        page = self.ask(CENTRE, language="vi")

        self.assertIn(f"Còn 1 máy khảo sát ở đơn vị này hoặc đơn vị trực thuộc (Quầy 2 ({CENTRE}))", page)
        self.assertNotIn("Đợt khảo sát", page)  # the province's round covers more than this unit: no warning

    def test_a_unit_with_nothing_attached_gets_no_warning(self):
        self.assertNotIn('data-testid="close-warnings"', self.ask(CENTRE))
