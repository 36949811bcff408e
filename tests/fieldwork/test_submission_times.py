"""Submissions that cannot be true: a kiosk response completed before its round first opened or its
kiosk was first paired, ahead of the server's clock by more than the skew, or arriving at a closed
round too late. Each case is sent through the API and also given to the storing statement alone
(``responses._store``), which must store nothing that the explanation of a refusal refuses."""

import datetime

from django.test import override_settings
from django.utils import timezone

from fieldwork import responses
from fieldwork.models import Kiosk, Response, ResponseChange, Round
from fieldwork.services import kiosk_create, kiosk_issue_token, round_close, round_open
from tests.fieldwork.base import KioskTestCase

DAY, HOUR, MINUTE = datetime.timedelta(days=1), datetime.timedelta(hours=1), datetime.timedelta(minutes=1)


def ago(delta):
    return (timezone.now() - delta).isoformat()


@override_settings(KIOSK_CLOCK_SKEW_SECONDS=300, LATE_ARRIVAL_GRACE_DAYS=7)
class SubmissionTimeTests(KioskTestCase):
    def setUp(self):
        self.set_kiosk(first_paired_at=timezone.now() - 30 * DAY)  # the round's first opening is the bound

    def set_round(self, **fields):
        Round.objects.filter(pk=self.round.pk).update(**fields)
        self.round.refresh_from_db()

    def set_kiosk(self, **fields):
        Kiosk.objects.filter(pk=self.kiosk.pk).update(**fields)
        self.kiosk.refresh_from_db()

    def statement_stores(self, body):
        """What the storing statement alone does with this body (stores it: True), given the round as
        a process that saw it open a minute ago remembers it: it must store nothing that
        _why_not_stored refuses, whatever the process remembers."""
        envelope = responses.parse_envelope(body)
        remembered = Round.objects.select_related("questionnaire", "unit").get(pk=envelope.round_id)
        remembered.status = Round.Status.OPEN
        packed = responses._checked_answers(body, remembered, envelope.dossier, Response.Channel.KIOSK, self.commune)
        submission = responses._Submission(envelope, body, Response.Channel.KIOSK, self.commune, self.kiosk,
                                           remembered, packed)
        return responses._store(submission) is not None

    def assert_refused(self, body, status, field, words):
        self.assertFalse(self.statement_stores(body), "the statement stored what the explanation refuses")
        answer = self.post(body)

        self.assertEqual(answer.status_code, status, answer.content)
        self.assertIn(words, answer.json()["errors"][field][0])
        self.assertEqual((Response.objects.count(), ResponseChange.objects.count()), (0, 0))

    def assert_stored(self, body):
        self.assertTrue(self.statement_stores(body))
        body = {**body, "id": self.payload()["id"]}

        answer = self.post(body)

        self.assertEqual(answer.status_code, 201, answer.content)
        self.assertEqual(Response.objects.count(), 2)

    def test_a_kiosk_whose_first_pairing_was_never_recorded_is_bounded_by_nothing_on_both_paths(self):
        # Only rows written outside the services lack it (bench/synthetic.py's used to): the statement
        # must then store them, not refuse and fall back to looking again on every submission.
        self.set_kiosk(first_paired_at=None)

        self.assert_stored(self.payload())

    # Before the round first opened

    def test_a_response_completed_before_the_round_first_opened_is_refused_naming_submitted_at(self):
        self.set_round(first_opened_at=timezone.now() - HOUR)

        self.assert_refused(self.payload(started_at=ago(3 * HOUR), submitted_at=ago(2 * HOUR)), 400, "submitted_at",
                            f"is before round {self.round.pk} first opened")

    def test_a_response_started_before_the_round_first_opened_is_refused_naming_started_at(self):
        self.set_round(first_opened_at=timezone.now() - HOUR)

        self.assert_refused(self.payload(started_at=ago(2 * HOUR), submitted_at=ago(50 * MINUTE)), 400, "started_at",
                            f"is before round {self.round.pk} first opened")

    def test_a_back_dated_response_is_refused_by_a_closed_round_too(self):
        self.set_round(first_opened_at=timezone.now() - 2 * DAY)
        round_close(survey_round=self.round)

        self.assert_refused(self.payload(started_at=None, submitted_at="2020-01-01T09:00:00+07:00"), 400,
                            "submitted_at", "first opened")

    def test_a_reopening_keeps_the_first_opening_so_a_response_queued_before_it_is_stored(self):
        first = self.round.first_opened_at
        round_close(survey_round=self.round)
        round_open(survey_round=self.round)
        self.round.refresh_from_db()

        self.assertEqual(self.round.first_opened_at, first)
        self.assertGreater(self.round.opened_at, first)
        self.assert_stored(self.payload(started_at=ago(12 * HOUR + 3 * MINUTE), submitted_at=ago(12 * HOUR)))

    def test_a_clock_a_few_minutes_slow_is_forgiven_right_after_the_opening(self):
        self.set_round(first_opened_at=timezone.now())

        self.assert_stored(self.payload(started_at=ago(4 * MINUTE), submitted_at=ago(2 * MINUTE)))

    # Before the kiosk was first paired

    def test_a_response_completed_before_the_kiosk_was_first_paired_is_refused(self):
        self.set_kiosk(first_paired_at=timezone.now() - HOUR)

        self.assert_refused(self.payload(started_at=ago(3 * HOUR), submitted_at=ago(2 * HOUR)), 400, "submitted_at",
                            "is before this kiosk was first paired")

    def test_a_re_pairing_keeps_the_first_pairing_so_the_tablets_queue_still_arrives(self):
        first = self.kiosk.first_paired_at
        self.token = kiosk_issue_token(kiosk=self.kiosk)
        self.kiosk.refresh_from_db()

        self.assertEqual(self.kiosk.first_paired_at, first)
        self.assertGreater(self.kiosk.paired_at, first)
        self.assert_stored(self.payload(started_at=ago(6 * HOUR + 3 * MINUTE), submitted_at=ago(6 * HOUR)))

    def test_the_first_pairing_is_kept_from_the_first_token(self):
        kiosk, _ = kiosk_create(unit=self.commune, name="Quầy mới")
        kiosk_issue_token(kiosk=kiosk)
        kiosk.refresh_from_db()

        self.assertEqual(kiosk.first_paired_at, kiosk.paired_at)

    # In the future

    def test_a_response_completed_further_ahead_than_the_clock_skew_is_refused(self):
        body = self.payload(started_at=ago(-3 * MINUTE), submitted_at=ago(-6 * MINUTE))

        answer = self.post(body)

        self.assertEqual(answer.status_code, 400)
        self.assertIn("is in the future (more than 300 seconds ahead", answer.json()["errors"]["submitted_at"][0])
        self.assertEqual(Response.objects.count(), 0)

    def test_a_clock_a_few_minutes_fast_is_forgiven(self):
        self.assert_stored(self.payload(started_at=ago(-1 * MINUTE), submitted_at=ago(-4 * MINUTE)))

    @override_settings(KIOSK_CLOCK_SKEW_SECONDS=30)
    def test_the_skew_is_a_setting(self):
        self.assertEqual(self.post(self.payload(submitted_at=ago(-MINUTE))).status_code, 400)

    # Late arrivals at a closed round

    def test_a_late_arrival_completed_before_the_close_is_stored_within_the_grace_period(self):
        self.set_round(first_opened_at=timezone.now() - 30 * DAY, status=Round.Status.CLOSED,
                       closed_at=timezone.now() - 6 * DAY)

        self.assert_stored(self.payload(started_at=ago(7 * DAY + 3 * MINUTE), submitted_at=ago(7 * DAY)))

    def test_a_late_arrival_after_the_grace_period_is_refused(self):
        self.set_round(first_opened_at=timezone.now() - 30 * DAY, status=Round.Status.CLOSED,
                       closed_at=timezone.now() - 8 * DAY)

        self.assert_refused(self.payload(started_at=ago(9 * DAY + 3 * MINUTE), submitted_at=ago(9 * DAY)), 409,
                            "round", "is accepted up to 7 days after it, and this one came later")

    def test_a_response_completed_after_the_close_is_refused_even_within_the_grace_period(self):
        self.set_round(first_opened_at=timezone.now() - 30 * DAY, status=Round.Status.CLOSED,
                       closed_at=timezone.now() - DAY)

        self.assert_refused(self.payload(started_at=ago(12 * HOUR), submitted_at=ago(11 * HOUR)), 409, "round",
                            "was closed")

    def test_a_response_stored_in_time_is_still_recognised_when_sent_again_after_the_grace_period(self):
        self.set_round(first_opened_at=timezone.now() - 30 * DAY)
        body = self.payload(started_at=ago(9 * DAY + 3 * MINUTE), submitted_at=ago(9 * DAY))
        self.assertEqual(self.post(body).status_code, 201)
        self.set_round(status=Round.Status.CLOSED, closed_at=timezone.now() - 8 * DAY)

        self.assertEqual(self.post(body).status_code, 200)

    @override_settings(LATE_ARRIVAL_GRACE_DAYS=1)
    def test_the_grace_period_is_a_setting(self):
        self.set_round(first_opened_at=timezone.now() - 30 * DAY, status=Round.Status.CLOSED,
                       closed_at=timezone.now() - 2 * DAY)

        self.assertEqual(self.post(self.payload(started_at=None, submitted_at=ago(3 * DAY))).status_code, 409)

    # How long it took

    def test_a_questionnaire_that_took_longer_than_a_smallint_is_stored_with_the_largest_duration(self):
        self.set_round(first_opened_at=timezone.now() - 30 * DAY)
        body = self.payload(started_at=ago(2 * DAY), submitted_at=ago(MINUTE))

        self.assertEqual(self.post(body).status_code, 201)
        self.assertEqual(Response.objects.get().seconds_taken, Response.SECONDS_TAKEN_MAX)


class TimeZoneOffsetTests(KioskTestCase):
    """PostgreSQL takes offsets up to ±15:59, Python up to ±23:59, and real zones span -12:00 to +14:00."""

    def test_every_offset_a_time_zone_has_is_accepted(self):
        now = timezone.now()
        for hours in (-12, -3.5, 0, 5.75, 7, 14):
            with self.subTest(hours=hours):
                zone = datetime.timezone(datetime.timedelta(hours=hours))
                body = self.payload(started_at=(now - 3 * MINUTE).astimezone(zone).isoformat(),
                                    submitted_at=now.astimezone(zone).isoformat())

                self.assertEqual(self.post(body).status_code, 201)

    def test_an_offset_no_time_zone_has_is_a_400_naming_the_field(self):
        for field in ("started_at", "submitted_at"):
            for text in ("2026-12-06T10:00:00+23:59", "2026-12-06T10:00:00-23:59", "2026-12-06T10:00:00+15:59",
                         "2026-12-06T10:00:00+14:01", "2026-12-06T10:00:00-12:30", "2026-12-06T10:00:00+07:00:30",
                         "2026-12-06T10:00:00+07:00:00.5"):
                with self.subTest(field=field, text=text):
                    answer = self.post(self.payload(**{field: text}))

                    self.assertEqual(answer.status_code, 400)
                    self.assertIn("time zone offset", answer.json()["errors"][field][0])
        self.assertEqual(Response.objects.count(), 0)

    def test_the_first_and_last_years_with_an_offset_are_a_400_not_an_overflow(self):
        for text, words in (("0001-01-01T00:00:00+14:00", "out of range"),
                            ("0001-01-01T00:00:00-12:00", "first opened"),
                            ("9999-12-31T23:59:59-12:00", "out of range"),
                            ("9999-12-31T23:59:59+14:00", "future")):
            with self.subTest(text=text):
                answer = self.post(self.payload(started_at=None, submitted_at=text))

                self.assertEqual(answer.status_code, 400)
                self.assertIn(words, answer.json()["errors"]["submitted_at"][0])
        self.assertEqual(Response.objects.count(), 0)


class HeartbeatTests(KioskTestCase):
    def beat(self, body):
        return self.client.post("/api/kiosk/v1/heartbeat", data=body, content_type="application/json",
                                HTTP_AUTHORIZATION=f"Kiosk {self.token}")

    def test_the_largest_count_the_column_holds_is_recorded(self):
        self.assertEqual(self.beat('{"waiting": 2147483647}').status_code, 204)
        self.kiosk.refresh_from_db()
        self.assertEqual(self.kiosk.waiting_reported, 2147483647)

    def test_no_count_means_none_waiting(self):
        self.assertEqual(self.beat("{}").status_code, 204)

    def test_anything_but_a_whole_number_that_fits_is_a_400_naming_waiting(self):
        for value in ("2147483648", str(10**30), "-1", "true", "false", "1.5", "3.0", '"3"', "null", "[]", "{}",
                      "1e3", '"\\u0000"'):
            with self.subTest(value=value):
                answer = self.beat(f'{{"waiting": {value}}}')

                self.assertEqual(answer.status_code, 400)
                self.assertIn("must be a whole number from 0 to 2147483647", answer.json()["errors"]["waiting"][0])
        self.kiosk.refresh_from_db()
        self.assertEqual((self.kiosk.waiting_reported, self.kiosk.last_seen_at), (0, None))

    def test_a_body_that_is_not_a_json_object_is_a_400_naming_the_body(self):
        for body in ("[]", "3", "null", '"waiting"', "{", "\x00"):
            with self.subTest(body=body):
                answer = self.beat(body)

                self.assertEqual(answer.status_code, 400)
                self.assertIn("body", answer.json()["errors"])
