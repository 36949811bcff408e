from django.urls import reverse

from tests.fieldwork.base import KioskTestCase


class AdminTests(KioskTestCase):
    def test_a_superuser_can_open_every_admin_list(self):
        self.client.force_login(self.admin)
        self.admin.is_staff = True
        self.admin.save()

        for name in ("units_unit", "units_role", "auth_user", "fieldwork_round", "fieldwork_kiosk",
                     "questionnaires_questionnaireversion"):
            response = self.client.get(reverse(f"admin:{name}_changelist"))
            self.assertEqual(response.status_code, 200, name)

    def test_the_kiosk_admin_never_shows_token_hashes(self):
        self.admin.is_staff = True
        self.admin.save()
        self.client.force_login(self.admin)

        response = self.client.get(reverse("admin:fieldwork_kiosk_change", args=[self.kiosk.pk]))

        self.assertNotContains(response, self.kiosk.token_hash)
