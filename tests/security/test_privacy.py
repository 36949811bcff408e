"""Privacy: nothing identifying a citizen or their device's address is stored or logged with a
response; dossier codes only as keyed hashes; a unit's figures from too few responses are not
shown to heads."""

import hashlib
import hmac
import io
import logging

from django.db import connection
from django.test import override_settings
from django.utils import timezone

from fieldwork.models import Response
from fieldwork.responses import dossier_hash
from scoring.models import ScoreRun, UnitScore
from tests.fieldwork.base import KioskTestCase, full_answers

# What a response row holds. A new column must be added here on purpose, after asking whether it
# could identify the citizen (an address, a user agent, a name, a phone number, a session...).
RESPONSE_COLUMNS = {"id", "round_id", "unit_id", "kiosk_id", "channel", "language", "seconds_taken",
                    "submitted_at", "received_at", "answers", "texts", "dossier_hash", "over_quota",
                    "paper_entry"}  # typed on the entry page or imported from a file: nobody's identity
IDENTIFYING = ("ip", "addr", "agent", "user", "name", "phone", "email", "session", "cookie", "device", "host",
               "dossier_code", "citizen", "person")
DOSSIER = "000.00.12.H56-261123-0001"
PRIVATE = ("203.0.113.77", "SIPAS-Tablet/9.9 (secret UA)", DOSSIER, "Nguyễn Văn A, 0912 345 678")


class PrivacyTests(KioskTestCase):
    def submit_with_everything_identifying(self):
        self.round.ask_dossier_code = True
        self.round.save()
        body = self.payload(dossier_code=DOSSIER, answers=full_answers(**{"C.COMMENT": "thank you"}))
        return self.post(body, REMOTE_ADDR=PRIVATE[0], HTTP_USER_AGENT=PRIVATE[1],
                         HTTP_X_FORWARDED_FOR=f"{PRIVATE[0]}, 10.0.0.1", HTTP_X_REAL_NAME=PRIVATE[3])

    def test_the_response_table_has_no_column_that_could_identify_anyone(self):
        model_columns = {field.column for field in Response._meta.concrete_fields}
        with connection.cursor() as cursor:
            table_columns = {c.name for c in connection.introspection.get_table_description(
                cursor, Response._meta.db_table)}

        self.assertEqual(model_columns, RESPONSE_COLUMNS)
        self.assertEqual(table_columns, RESPONSE_COLUMNS)  # nothing added behind the model's back either
        suspicious = [c for c in table_columns - {"kiosk_id"} if any(word in c for word in IDENTIFYING)]
        self.assertEqual(suspicious, [])

    def test_a_stored_response_holds_no_address_user_agent_header_or_dossier_code(self):
        self.assertEqual(self.submit_with_everything_identifying().status_code, 201)

        with connection.cursor() as cursor:
            cursor.execute("SELECT row_to_json(r)::text FROM fieldwork_response r")
            row = cursor.fetchone()[0]
        for secret in PRIVATE:
            self.assertNotIn(secret, row)
        self.assertNotIn(DOSSIER.replace(".", ""), row.replace(".", ""))

    def test_the_dossier_code_is_kept_only_as_a_keyed_hash(self):
        self.submit_with_everything_identifying()
        stored = Response.objects.get().dossier_hash
        key = b"development-only-key-do-not-use-in-production"  # SECRET_KEY of the test settings

        self.assertEqual(stored, hmac.new(key, DOSSIER.upper().encode(), "sha256").hexdigest())
        self.assertNotIn(stored, {hashlib.sha256(DOSSIER.encode()).hexdigest(),
                                  hashlib.sha256(DOSSIER.upper().encode()).hexdigest()})  # not a plain hash
        with override_settings(DOSSIER_HASH_KEY="another-province-key"):
            self.assertNotEqual(dossier_hash(DOSSIER), stored)  # without the key, no way to test a guess

    def test_nothing_identifying_is_logged_while_a_response_is_submitted(self):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
        root = logging.getLogger()
        previous = root.level
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        try:
            stored = self.submit_with_everything_identifying()
            bad = self.post(self.payload(dossier_code=DOSSIER + "\u200b", answers={"F1.1": 9}), REMOTE_ADDR=PRIVATE[0],
                            HTTP_USER_AGENT=PRIVATE[1])
            twice = self.post(self.payload(dossier_code=DOSSIER), REMOTE_ADDR=PRIVATE[0], HTTP_USER_AGENT=PRIVATE[1])
        finally:
            root.removeHandler(handler)
            root.setLevel(previous)

        self.assertEqual([stored.status_code, bad.status_code, twice.status_code], [201, 400, 409])
        logged = stream.getvalue()
        self.assertIn("/api/kiosk/v1/responses", logged)  # (the refusals were logged: the capture works)
        for secret in PRIVATE:
            self.assertNotIn(secret, logged)


class SmallUnitScoreTests(KioskTestCase):
    """A unit with fewer than the questionnaire's minimum responses (30) is computed and marked
    ``enough: false``. Pages show no figures for it (issue 6); the score API is checked here."""

    def setUp(self):
        run = ScoreRun.objects.create(round=self.round, status="done", reason="test")
        UnitScore.objects.create(
            run=run, round=self.round, unit=self.commune, n=4, enough=False, withheld="too_few", headline=75.0,
            headline_low=30.0, headline_high=95.0, weighted_headline=74.0, factors={"F1": {"value": 75.0, "n": 4}},
            items={"F1.1": {"n": 4, "satisfied": 3, "rate": 75.0, "ci": [30.0, 95.0]}},
            indicators={"E.VISITS": {"1": 75.0, "n": 4}}, expectations=[{"code": "x", "count": 3, "share": 75.0}],
            computed_at=timezone.now(),
        )
        self.client.force_login(self.head)

    def test_the_api_says_there_are_not_enough_responses(self):
        body = self.client.get(f"/api/v1/scores/{self.round.pk}/02212").json()

        self.assertEqual((body["n"], body["enough"]), (4, False))

    def test_the_api_shows_a_head_no_figures_of_a_unit_with_too_few_responses(self):
        body = self.client.get(f"/api/v1/scores/{self.round.pk}/02212").json()

        self.assertIsNone(body["headline"]["value"])
        self.assertIsNone(body["headline"]["ci"])
        self.assertIsNone(body["weighted_headline"]["value"])
        self.assertEqual((body["factors"], body["items"], body["indicators"], body["expectations"]), ({}, {}, {}, []))
        self.assertEqual(body["withheld"], f"Only {body['n']} valid responses: at least 30 are needed before figures "
                                           "are shown.")
        self.assertFalse(body["enough"])
