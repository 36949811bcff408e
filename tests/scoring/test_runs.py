"""Score runs: debounced requests, claiming, atomic replacement, failures, the reaper, the command,
the beat's poll of fieldwork's change log, and one run through a real Celery worker.

Steps are tested by calling them directly with a small engine of our own plugged into the
documented hook ``scoring.services.ENGINE``; the end-to-end test runs the real engine in a real
worker process.
"""

import datetime
import io
import time
from unittest import mock

import pytest
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError

from fieldwork.exclusions import response_exclude
from fieldwork.models import Response, ResponseChange
from fieldwork.responses import response_submit
from fieldwork.services import kiosk_create, round_close, round_create
from questionnaires.services import definition_files, questionnaire_load_file
from scoring import engine, services
from scoring.engine import RoundResult
from scoring.figures import UnitResult
from scoring.models import ScoreRun, UnitScore
from scoring.services import (
    rounds_needing_scores,
    rounds_with_changes,
    score_run_execute,
    score_run_request,
    score_runs_reap,
)
from scoring.tasks import poll_changes, recompute_open_rounds, recompute_round
from tests.base import make_unit
from tests.fieldwork.base import KioskTestCase, full_answers
from tests.workers import celery_worker
from units.models import Unit


def unit_result(unit, n=40, headline=80.0, **extra):
    return UnitResult(
        unit_id=unit.pk, n=n, enough=n >= 30, headline=headline, headline_ci=(headline - 5, headline + 5),
        weighted_headline=None, factors={"F1": {"value": headline, "n": n}},
        items={"F1.1": {"n": n, "satisfied": n // 2, "rate": 50.0, "ci": [40.0, 60.0]}},
        indicators={}, expectations=[], **extra,
    )


class FakeEngine:
    """Returns the given units, reporting progress per unit; counts its calls."""

    def __init__(self, *units, responses_used=40, error=None):
        self.units, self.responses_used, self.error, self.calls = units, responses_used, error, 0

    def __call__(self, survey_round, progress=None, full=True):
        self.calls += 1
        if self.error:
            raise self.error
        for done in range(1, len(self.units) + 1):
            if progress:
                progress(done, len(self.units))
        return RoundResult(units=list(self.units), responses_used=self.responses_used)


class ScoreRunTestCase(KioskTestCase):
    def engine(self, engine):
        """Plug a test engine into the documented hook for the rest of the test."""
        self.enterContext(mock.patch.object(services, "ENGINE", engine))
        return engine

    def queued_run(self, **fields):
        return ScoreRun.objects.create(round=self.round, **{"reason": "test", **fields})

    def spy_on_enqueue(self):
        return self.enterContext(mock.patch.object(services, "_send"))


class RequestingRunsTests(ScoreRunTestCase):
    def test_two_requests_queue_one_run_and_enqueue_it_once(self):
        enqueue = self.spy_on_enqueue()

        with self.captureOnCommitCallbacks(execute=True):
            first, queued = score_run_request(round_id=self.round.pk, reason="responses")
            second, joined = score_run_request(round_id=self.round.pk, reason="exclusion")

        # The second joined the queued run (the database allows one queued run a round).
        self.assertEqual((second, queued, joined), (first, True, False))
        self.assertEqual(list(ScoreRun.objects.values_list("status", "reason")), [("queued", "responses")])
        enqueue.assert_called_once_with(args=[first.pk], countdown=0)

    def test_a_run_starts_a_minute_after_the_previous_one_started_and_up_to_the_spread_later(self):
        enqueue = self.spy_on_enqueue()
        ScoreRun.objects.create(round=self.round, status="done", started_at=timezone.now() - datetime.timedelta(
            seconds=20), finished_at=timezone.now())

        with self.captureOnCommitCallbacks(execute=True):
            run, _ = score_run_request(round_id=self.round.pk, reason="responses")

        self.assertEqual(enqueue.call_args.kwargs["args"], [run.pk])
        self.assertTrue(40 <= enqueue.call_args.kwargs["countdown"] <= 41 + services.RUN_SPREAD)

    def test_the_runs_of_rounds_that_became_busy_together_are_spread_over_the_spread(self):
        ScoreRun.objects.create(round=self.round, status="done", started_at=timezone.now() - datetime.timedelta(
            seconds=20), finished_at=timezone.now())

        waits = {services._countdown(self.round.pk) for _ in range(200)}

        # 200 draws from 21 values show all 21 but for odds of about 1 in 1,000; fewer than 15, never
        self.assertGreaterEqual(len(waits), 15)
        self.assertTrue(min(waits) >= 40 and max(waits) <= 41 + services.RUN_SPREAD, waits)

    def test_the_task_is_enqueued_only_after_the_commit(self):
        enqueue = self.spy_on_enqueue()

        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            score_run_request(round_id=self.round.pk, reason="responses")

        enqueue.assert_not_called()
        self.assertEqual(len(callbacks), 1)

    def test_once_a_run_has_started_a_new_request_queues_another(self):
        self.spy_on_enqueue()
        self.engine(FakeEngine(unit_result(self.province)))
        first, _ = score_run_request(round_id=self.round.pk, reason="responses")
        score_run_execute(run_id=first.pk)  # from its start, changes need a new run

        second, _ = score_run_request(round_id=self.round.pk, reason="responses")

        self.assertNotEqual(second.pk, first.pk)
        self.assertEqual(second.status, "queued")


class ExecutingRunsTests(ScoreRunTestCase):
    def test_a_run_stores_one_score_per_unit_and_records_what_it_used(self):
        self.engine(FakeEngine(unit_result(self.province, n=50), unit_result(self.commune, n=40), responses_used=50))
        run = self.queued_run()

        run = score_run_execute(run_id=run.pk)

        self.assertEqual((run.status, run.units_total, run.units_done, run.responses_used, run.error),
                         ("done", 2, 2, 50, ""))
        self.assertLessEqual(run.started_at, run.finished_at)
        scores = {s.unit_id: s for s in UnitScore.objects.filter(round=self.round)}
        self.assertEqual(set(scores), {self.province.pk, self.commune.pk})
        commune = scores[self.commune.pk]
        self.assertEqual((commune.run, commune.n, commune.headline, commune.headline_low, commune.headline_high),
                         (run, 40, 80.0, 75.0, 85.0))

    def test_executing_the_same_run_twice_computes_it_once(self):
        engine = self.engine(FakeEngine(unit_result(self.province)))
        run = self.queued_run()

        first = score_run_execute(run_id=run.pk)
        second = score_run_execute(run_id=run.pk)

        self.assertEqual(engine.calls, 1)
        self.assertEqual((first.status, second.status), ("done", "done"))
        self.assertEqual(first.finished_at, second.finished_at)

    def test_a_run_is_not_claimed_while_another_run_of_the_round_is_running(self):
        engine = self.engine(FakeEngine(unit_result(self.province)))
        enqueue = self.spy_on_enqueue()
        self.queued_run(status="running", started_at=timezone.now())
        waiting = self.queued_run()

        with self.captureOnCommitCallbacks(execute=True):
            result = score_run_execute(run_id=waiting.pk)

        self.assertEqual((result.status, engine.calls), ("queued", 0))
        enqueue.assert_called_once_with(args=[waiting.pk], countdown=services.MIN_INTERVAL)

    def test_an_unknown_run_is_nothing_to_do(self):
        self.assertIsNone(score_run_execute(run_id=987654))

    def test_a_failing_engine_records_the_error_and_leaves_the_previous_scores(self):
        self.engine(FakeEngine(unit_result(self.province, headline=70.0)))
        score_run_execute(run_id=self.queued_run().pk)
        self.engine(FakeEngine(error=ZeroDivisionError("division by zero in F3")))

        run = score_run_execute(run_id=self.queued_run().pk)

        self.assertEqual(run.status, "failed")
        self.assertIn("ZeroDivisionError: division by zero in F3", run.error)
        self.assertIn("Traceback", run.error)
        self.assertIsNotNone(run.finished_at)
        self.assertEqual(list(UnitScore.objects.values_list("unit_id", "headline")), [(self.province.pk, 70.0)])

    def test_new_results_replace_the_previous_ones(self):
        self.engine(FakeEngine(unit_result(self.province, headline=70.0), unit_result(self.commune, headline=60.0)))
        score_run_execute(run_id=self.queued_run().pk)
        self.engine(FakeEngine(unit_result(self.province, headline=75.0)))

        run = score_run_execute(run_id=self.queued_run().pk)

        self.assertEqual(list(UnitScore.objects.values_list("run", "unit_id", "headline")),
                         [(run.pk, self.province.pk, 75.0)])

    def test_a_run_failing_while_storing_leaves_every_previous_score_in_place(self):
        self.engine(FakeEngine(unit_result(self.province, headline=70.0), unit_result(self.commune, headline=60.0)))
        old = score_run_execute(run_id=self.queued_run().pk)
        # The old rows are deleted first, then the new ones inserted; a second result for the same unit
        # breaks the insert half way, after the delete.
        self.engine(FakeEngine(unit_result(self.province, headline=90.0), unit_result(self.province)))

        run = score_run_execute(run_id=self.queued_run().pk)

        self.assertEqual(run.status, "failed")
        self.assertIn("unit_score_once_per_round", run.error)
        self.assertEqual(sorted(UnitScore.objects.values_list("run", "unit_id", "headline")),
                         sorted([(old.pk, self.province.pk, 70.0), (old.pk, self.commune.pk, 60.0)]))

    def test_scores_are_sent_page_by_page_and_a_failing_page_undoes_the_whole_run(self):
        self.enterContext(mock.patch.object(services, "SCORE_PAGE", 1))  # a page per unit
        self.engine(FakeEngine(unit_result(self.province, headline=70.0), unit_result(self.commune, headline=60.0),
                               unit_result(self.other_commune, headline=50.0)))
        old = score_run_execute(run_id=self.queued_run().pk)
        stored = sorted(UnitScore.objects.values_list("run", "unit_id", "headline"))
        self.engine(FakeEngine(unit_result(self.province, headline=90.0), unit_result(self.commune),
                               unit_result(self.commune)))  # the third page repeats the second

        run = score_run_execute(run_id=self.queued_run().pk)

        self.assertEqual(stored, sorted([(old.pk, self.province.pk, 70.0), (old.pk, self.commune.pk, 60.0),
                                         (old.pk, self.other_commune.pk, 50.0)]))
        self.assertEqual(run.status, "failed")
        self.assertIn("unit_score_once_per_round", run.error)
        self.assertEqual(sorted(UnitScore.objects.values_list("run", "unit_id", "headline")), stored)

    def test_the_garbage_collector_pauses_during_a_run_and_resumes_after_it(self):
        import gc

        seen = []
        engine = self.engine(FakeEngine(unit_result(self.province)))
        original = engine.__call__
        self.engine(lambda *args, **kwargs: seen.append(gc.isenabled()) or original(*args, **kwargs))

        score_run_execute(run_id=self.queued_run().pk)
        self.engine(FakeEngine(error=MemoryError("out of memory")))
        score_run_execute(run_id=self.queued_run().pk)

        self.assertEqual(seen, [False])
        self.assertTrue(gc.isenabled())  # also after a failed run

    def test_the_task_calls_the_service(self):
        self.engine(FakeEngine(unit_result(self.province)))
        run = self.queued_run()

        self.assertEqual(recompute_round(run.pk), "done")

    def test_runs_are_sent_under_the_name_the_task_is_registered_by(self):
        from surveyapp.celery import app

        self.assertEqual(recompute_round.name, services.RECOMPUTE_TASK)
        self.assertIs(app.tasks[services.RECOMPUTE_TASK].run, recompute_round.run)


class HousekeepingTests(ScoreRunTestCase):
    def test_the_reaper_fails_a_run_left_running_by_a_lost_worker(self):
        from django.conf import settings

        limit = settings.CELERY_TASK_TIME_LIMIT + 60
        stale = self.queued_run(status="running", started_at=timezone.now() - datetime.timedelta(seconds=limit + 5))
        other_round = round_create(name="Khác", questionnaire_code="sipas-2017", unit_code="10", open_now=True)
        busy = ScoreRun.objects.create(round=other_round, status="running",
                                       started_at=timezone.now() - datetime.timedelta(seconds=limit - 30))

        self.assertEqual(score_runs_reap(), (1, 0))

        stale.refresh_from_db()
        busy.refresh_from_db()
        self.assertEqual((stale.status, busy.status), ("failed", "running"))
        self.assertIn("worker lost", stale.error)
        self.assertIsNotNone(stale.finished_at)

    def test_the_reaper_enqueues_again_a_run_queued_long_ago(self):
        enqueue = self.spy_on_enqueue()
        run = self.queued_run()
        ScoreRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=11))

        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(score_runs_reap(), (0, 1))

        enqueue.assert_called_once_with(args=[run.pk], countdown=0)

    def test_the_beat_requests_runs_of_open_rounds_whose_scores_are_behind(self):
        self.spy_on_enqueue()
        self.assertEqual(list(rounds_needing_scores()), [])  # no responses yet
        self.submit_response()
        self.assertEqual(list(rounds_needing_scores()), [self.round])

        score_run_execute(run_id=self.queued_run().pk)  # the real engine takes the pending change in
        self.assertEqual(list(rounds_needing_scores()), [])  # up to date

        response = self.submit_response()
        self.assertEqual(list(rounds_needing_scores()), [self.round])
        score_run_execute(run_id=self.queued_run().pk)
        self.assertEqual(list(rounds_needing_scores()), [])
        response_exclude(response=response, reason="test", user=self.province_officer)
        self.assertEqual(list(rounds_needing_scores()), [self.round])

        with self.captureOnCommitCallbacks(execute=True):
            summary = recompute_open_rounds()

        self.assertEqual(summary, {"reaped": 0, "re-enqueued": 0, "requested": [self.round.pk]})
        self.assertEqual(ScoreRun.objects.get(status="queued").reason, "beat")

    def test_the_beat_check_reads_pending_changes_not_the_times_of_responses(self):
        self.submit_response()

        with CaptureQueriesContext(connection) as queries:
            self.assertEqual(list(rounds_needing_scores()), [self.round])

        (sql,) = [q["sql"] for q in queries.captured_queries]
        self.assertIn('"scoring_scorepending"', sql)
        self.assertNotIn("received_at", sql)  # no index on it: a scan of every response

    def test_a_round_whose_last_run_failed_is_behind_and_its_next_run_counts_everything(self):
        self.submit_response()
        score_run_execute(run_id=self.queued_run().pk)
        self.submit_response()
        failing = self.engine(FakeEngine(error=RuntimeError("lost the database half way")))
        score_run_execute(run_id=self.queued_run().pk)
        ResponseChange.objects.all().delete()  # as if that run had taken the change in before failing
        self.assertEqual(list(rounds_needing_scores()), [self.round])

        engine_calls = self.engine(mock.Mock(wraps=engine.compute_round))
        run = score_run_execute(run_id=self.queued_run(reason="responses").pk)

        self.assertEqual(failing.calls, 1)
        self.assertEqual(engine_calls.call_args.kwargs["full"], True)
        self.assertEqual((run.status, run.full, run.responses_used), ("done", True, 2))
        self.assertEqual(UnitScore.objects.get(unit=self.commune).n, 2)
        self.assertEqual(list(rounds_needing_scores()), [])

    def submit_response(self):
        return response_submit(unit=self.commune, kiosk=self.kiosk, payload=self.payload()).response


class RecomputeCommandTests(ScoreRunTestCase):
    def test_it_shows_a_progress_bar_and_the_summary(self):
        self.engine(FakeEngine(unit_result(self.province), unit_result(self.commune), unit_result(self.other_commune),
                               responses_used=123))
        out = io.StringIO()

        call_command("recompute_scores", "--round", str(self.round.pk), stdout=out)

        run = ScoreRun.objects.get()
        self.assertEqual((run.status, run.reason), ("done", "command"))
        text = out.getvalue()
        self.assertIn("\r[##########....................] 1/3 units", text)
        self.assertIn("\r[##############################] 3/3 units", text)
        self.assertRegex(text.splitlines()[-2],
                         rf"^round {self.round.pk}: 3 units, 123 responses used, \d+\.\d\d s \(run {run.pk}\)$")

    def test_it_runs_the_real_engine(self):
        for _ in range(2):
            response_submit(unit=self.commune, kiosk=self.kiosk, payload=self.payload())
        out = io.StringIO()

        call_command("recompute_scores", "--round", str(self.round.pk), stdout=out)

        run_line, breakdowns_line = out.getvalue().splitlines()[-2:]
        self.assertIn(" 2 responses used, ", run_line)
        self.assertRegex(breakdowns_line, r"^breakdowns: 2 responses counted in \d+\.\d\d s$")  # they follow it
        self.assertEqual(UnitScore.objects.get(unit=self.commune).n, 2)

    def test_it_takes_over_the_queued_run(self):
        self.engine(FakeEngine(unit_result(self.province)))
        queued = self.queued_run(reason="responses")

        call_command("recompute_scores", "--round", str(self.round.pk), stdout=io.StringIO())

        self.assertEqual(list(ScoreRun.objects.values_list("pk", "status", "reason")),
                         [(queued.pk, "done", "responses")])

    def test_a_failure_is_reported(self):
        from django.core.management import CommandError

        self.engine(FakeEngine(error=ValueError("no questionnaire scoring block")))

        with self.assertRaisesMessage(CommandError, "no questionnaire scoring block"):
            call_command("recompute_scores", "--round", str(self.round.pk), stdout=io.StringIO())
        self.assertEqual(ScoreRun.objects.get().status, "failed")


class PollTests(ScoreRunTestCase):
    """Submissions and exclusions only write fieldwork's change log; the beat's poll queues the runs."""

    def poll(self):
        with self.captureOnCommitCallbacks(execute=True):
            return poll_changes()

    def test_a_burst_of_kiosk_submissions_asks_nothing_of_scoring_and_one_poll_queues_one_run(self):
        enqueue = self.spy_on_enqueue()
        with CaptureQueriesContext(connection) as queries:
            with self.captureOnCommitCallbacks(execute=True) as callbacks:
                for _ in range(5):
                    self.assertEqual(self.post(self.payload()).status_code, 201)

        self.assertEqual([q["sql"] for q in queries.captured_queries if "scoring_scorerun" in q["sql"]], [])
        self.assertEqual(callbacks, [])  # nothing after the commits either
        self.assertFalse(ScoreRun.objects.exists())
        self.assertEqual(ResponseChange.objects.filter(round=self.round, sign=1).count(), 5)

        self.assertEqual(self.poll()["requested"], [self.round.pk])

        self.assertEqual(list(ScoreRun.objects.values_list("status", "reason")), [("queued", "changes")])
        enqueue.assert_called_once()

    def test_a_round_with_a_queued_run_is_left_to_it(self):
        enqueue = self.spy_on_enqueue()
        self.post(self.payload())
        self.poll()
        self.post(self.payload())  # the queued run has not started: it will see this one

        self.assertEqual(self.poll()["requested"], [])

        self.assertEqual(ScoreRun.objects.count(), 1)
        enqueue.assert_called_once()

    def test_a_poll_reads_the_change_log_by_its_round_index_in_one_query(self):
        self.post(self.payload())

        with CaptureQueriesContext(connection) as queries:
            self.assertEqual(list(rounds_with_changes()), [self.round])

        (sql,) = [q["sql"] for q in queries.captured_queries]
        self.assertIn('"scoring_scorepending"', sql)  # ResponseChange's table (it kept its name)
        self.assertNotIn('"fieldwork_response"', sql)  # never the responses: a round without any has none to stop at

    def test_with_the_broker_down_the_poll_leaves_the_run_queued_for_the_reaper(self):
        enqueue = self.spy_on_enqueue()
        enqueue.side_effect = OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

        self.assertEqual(self.post(self.payload()).status_code, 201)
        self.assertEqual(self.poll()["requested"], [self.round.pk])

        enqueue.assert_called_once()
        self.assertEqual(ScoreRun.objects.get().status, "queued")  # the beat's reaper enqueues it later

    def test_a_submission_is_stored_when_redis_is_down(self):
        with mock.patch.object(RedisCache, "add", side_effect=ConnectionError("Redis is down")):
            answers = [self.post(self.payload()).status_code for _ in range(2)]

        self.assertEqual(answers, [201, 201])
        self.assertEqual(ResponseChange.objects.count(), 2)

    def test_a_retry_of_a_stored_response_records_no_second_change(self):
        body = self.payload()
        self.post(body)

        self.assertEqual(self.post(body).status_code, 200)

        self.assertEqual(ResponseChange.objects.count(), 1)

    def test_an_exclusion_is_polled_and_its_run_takes_it_in(self):
        self.spy_on_enqueue()
        response = response_submit(unit=self.commune, kiosk=self.kiosk, payload=self.payload()).response
        score_run_execute(run_id=score_run_request(round_id=self.round.pk, reason="test")[0].pk)
        self.assertEqual(self.poll()["requested"], [])

        response_exclude(response=response, reason="test", user=self.province_officer)
        self.assertEqual(self.poll()["requested"], [self.round.pk])
        run = score_run_execute(run_id=ScoreRun.objects.get(status="queued").pk)

        self.assertEqual((run.status, run.responses_used), ("done", 0))
        self.assertFalse(ResponseChange.objects.exists())

    def test_a_late_arrival_in_a_closed_round_is_polled_too(self):
        self.spy_on_enqueue()
        self.post(self.payload())
        round_close(survey_round=self.round)

        self.assertEqual(self.poll()["requested"], [self.round.pk])

    def test_the_beat_polls_every_score_poll_seconds(self):
        from django.conf import settings

        entry = settings.CELERY_BEAT_SCHEDULE["scoring-poll-changes"]
        self.assertEqual((entry["task"], entry["schedule"]), ("scoring.tasks.poll_changes", 5.0))
        self.assertEqual(settings.SCORE_POLL_SECONDS, 5)


# ---------------------------------------------------------------------------------------------
# End to end, through a real worker and the real engine


def _wait_for(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout} s: {list(ScoreRun.objects.values())}")
        time.sleep(0.2)


def _submit(unit, kiosk, survey_round, **answers):
    import uuid

    now = timezone.now()
    payload = {
        "id": str(uuid.uuid4()), "round": survey_round.pk, "questionnaire": "sipas-2017",
        "started_at": (now - datetime.timedelta(minutes=3)).isoformat(), "submitted_at": now.isoformat(),
        "language": "vi", "answers": full_answers(**answers),
    }
    return response_submit(unit=unit, kiosk=kiosk, payload=payload).response


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not hasattr(engine, "compute_round"), reason="the scoring engine has not landed yet")
def test_submissions_and_an_exclusion_are_scored_by_a_real_worker(django_user_model):
    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level=Unit.Level.PROVINCE)
    commune = make_unit("02212", province)
    officer = django_user_model.objects.create_user("officer", is_superuser=True)
    survey_round = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    kiosk, _ = kiosk_create(unit=commune, name="Quầy 1")

    with celery_worker():
        with transaction.atomic():  # (so that the worker cannot start before the third arrives)
            responses = [_submit(commune, kiosk, survey_round) for _ in range(3)]
        assert not ScoreRun.objects.exists()  # the submissions only wrote fieldwork's change log
        poll_changes()  # the beat's poll (tests/scoring/test_poll.py runs a real beat)
        first = ScoreRun.objects.get()  # three submissions, one run
        assert first.reason == "changes"
        _wait_for(lambda: ScoreRun.objects.filter(pk=first.pk, status__in=["done", "failed"]).exists())
        first.refresh_from_db()
        assert (first.status, first.error, first.responses_used) == ("done", "", 3)
        assert UnitScore.objects.get(round=survey_round, unit=commune).n == 3
        assert UnitScore.objects.get(round=survey_round, unit=province).n == 3

        # The next run may start a minute after this one did: pretend that minute has passed.
        ScoreRun.objects.filter(pk=first.pk).update(started_at=F("started_at") - datetime.timedelta(minutes=1))
        response_exclude(response=responses[0], reason="test", user=officer)
        poll_changes()
        second = ScoreRun.objects.exclude(pk=first.pk).get()
        assert second.reason == "changes"
        _wait_for(lambda: ScoreRun.objects.filter(pk=second.pk, status__in=["done", "failed"]).exists())

    second.refresh_from_db()
    assert (second.status, second.error, second.responses_used) == ("done", "", 2)
    assert list(UnitScore.objects.filter(unit=commune).values_list("run", "n")) == [(second.pk, 2)]
    assert Response.objects.count() == 3


class AdminTests(ScoreRunTestCase):
    def test_superusers_see_runs_read_only(self):
        run = self.queued_run(status="failed", error="ZeroDivisionError")
        self.admin.is_staff = True  # the Django admin also needs is_staff
        self.admin.save()
        self.client.force_login(self.admin)

        listing = self.client.get("/admin/scoring/scorerun/")
        detail = self.client.get(f"/admin/scoring/scorerun/{run.pk}/change/")

        self.assertContains(listing, "failed")
        self.assertContains(detail, "ZeroDivisionError")
        self.assertNotContains(detail, 'name="_save"')
        self.assertEqual(self.client.get("/admin/scoring/scorerun/add/").status_code, 403)
