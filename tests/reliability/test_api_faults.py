"""The kiosk API while the database is away, in-process (the drill in test_postgres_restart.py does
it for real): a 503 with Retry-After and a JSON message, never a server error page."""

from unittest import mock

from django.db import InterfaceError, OperationalError, connection

from fieldwork.models import Response
from tests.fieldwork.base import KioskTestCase


class DatabaseAwayTests(KioskTestCase):
    def assert_try_again(self, answer):
        self.assertEqual(answer.status_code, 503)
        self.assertEqual(answer["Retry-After"], "5")
        self.assertIn("the database is not available", answer.json()["error"])

    def test_a_submission_while_the_database_is_away_is_a_503_to_retry(self):
        with mock.patch("fieldwork.kiosk_api.response_submit", side_effect=OperationalError("server closed")):
            with self.assertLogs("fieldwork.kiosk_api", "WARNING"):
                answer = self.post(self.payload())

        self.assert_try_again(answer)
        self.assertFalse(Response.objects.exists())

    def test_the_kiosk_lookup_failing_on_a_closed_connection_is_a_503_too(self):
        with mock.patch("fieldwork.kiosk_api.kiosk_authenticate", side_effect=InterfaceError("connection closed")):
            with self.assertLogs("fieldwork.kiosk_api", "WARNING"):
                answers = [self.post(self.payload()),
                           self.client.get("/api/kiosk/v1/questionnaire", HTTP_AUTHORIZATION=f"Kiosk {self.token}")]

        for answer in answers:
            self.assert_try_again(answer)


class HealthCheckTests(KioskTestCase):
    def requests_checked(self, send):
        """How many health checks (SELECT 1 before the first query) a request made, with them on."""
        with mock.patch.object(connection, "health_check_enabled", True), \
                mock.patch.object(connection, "is_usable", wraps=connection.is_usable) as is_usable:
            connection.health_check_done = False  # as at the start of every request of a server
            send()
        return is_usable.call_count

    def test_the_kiosk_api_spends_no_health_check_since_a_broken_connection_is_a_503_the_kiosk_resends(self):
        self.client.force_login(self.officer)

        submission = self.requests_checked(lambda: self.assertEqual(self.post(self.payload()).status_code, 201))
        staff_page = self.requests_checked(lambda: self.client.get(f"/rounds/{self.round.pk}/"))

        self.assertEqual((submission, staff_page), (0, 1))
