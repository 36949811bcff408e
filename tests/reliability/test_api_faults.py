"""The kiosk API while the database is away, in-process (the drill in test_postgres_restart.py does
it for real): a 503 with Retry-After and a JSON message, never a server error page."""

from unittest import mock

from django.db import InterfaceError, OperationalError

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
