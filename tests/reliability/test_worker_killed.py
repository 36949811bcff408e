"""Drill: a Celery worker killed (SIGKILL) in the middle of a recompute.

A real worker stalls inside the transaction that replaces a round's scores (old rows deleted, new
rows inserted, not committed: see stalling_app.py) and is killed there. Readers see the previous
complete run's scores all along; after the kill they are still the ones stored; the reaper (the
beat task) marks the job row failed with the reason; the next run, in a fresh worker, completes.
"""

import datetime
import os
import signal
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from django.db.models import F
from django.utils import timezone

from fieldwork.responses import response_submit
from scoring.models import ScoreRun, UnitScore
from scoring.tasks import poll_changes, recompute_open_rounds
from tests.fieldwork.base import full_answers
from tests.reliability.drill_data import drill_round
from tests.reliability.processes import celery_worker, django_env, wait_until
from tests.workers import database_url_for_tests


def submit(unit, kiosk, survey_round):
    now = timezone.now()
    return response_submit(unit=unit, kiosk=kiosk, payload={
        "id": str(uuid.uuid4()), "round": survey_round.pk, "questionnaire": "sipas-2017",
        "started_at": (now - datetime.timedelta(minutes=3)).isoformat(), "submitted_at": now.isoformat(),
        "language": "vi", "answers": full_answers(),
    }).response


def scores(survey_round):
    return sorted(UnitScore.objects.filter(round=survey_round).values_list("unit__code", "n", "run_id"))


def run_finished(run_id):
    return ScoreRun.objects.filter(pk=run_id, status__in=["done", "failed"]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_storing_scores_leaves_the_previous_scores_and_the_next_run_completes():
    survey_round, commune, kiosk, _token = drill_round()
    env = django_env(DATABASE_URL=database_url_for_tests())
    marker = Path(tempfile.mkdtemp()) / "stalled"

    # 1. Three responses, scored by a healthy worker: the complete run a reader should keep seeing.
    for _ in range(3):
        submit(commune, kiosk, survey_round)
    poll_changes()  # the beat's poll of fieldwork's change log
    first = ScoreRun.objects.get()
    with celery_worker(env, name="healthy"):
        wait_until(lambda: run_finished(first.pk), 60, "the first run")
    first.refresh_from_db()
    assert first.status == "done"
    complete = scores(survey_round)
    assert complete == [("02212", 3, first.pk), ("08", 3, first.pk)]

    # 2. Two more responses; the run the poll queues for them stalls half-way through storing, and is killed.
    ScoreRun.objects.filter(pk=first.pk).update(started_at=F("started_at") - datetime.timedelta(minutes=1))
    for _ in range(2):
        submit(commune, kiosk, survey_round)
    poll_changes()
    doomed = ScoreRun.objects.get(status="queued")
    stalling = django_env(DATABASE_URL=database_url_for_tests(), DRILL_STALL_MARKER=str(marker))
    with celery_worker(stalling, app="tests.reliability.stalling_app", name="doomed") as worker:
        wait_until(marker.exists, 60, "the worker to stall inside its transaction")
        assert ScoreRun.objects.get(pk=doomed.pk).status == "running"
        assert scores(survey_round) == complete  # its deletes and inserts are not visible
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    time.sleep(0.5)  # PostgreSQL notices the closed connection and rolls its transaction back

    assert scores(survey_round) == complete
    assert ScoreRun.objects.get(pk=doomed.pk).status == "running"  # nobody has said otherwise yet

    # 3. The beat task, once the run is older than the task time limit (made so here), fails the
    #    lost run with the reason and asks for a new run, which a fresh worker completes.
    # (Ten minutes pass: every run of the round moves back, so their order stays as it was.)
    ScoreRun.objects.filter(round=survey_round).update(started_at=F("started_at") - datetime.timedelta(minutes=10),
                                                       created_at=F("created_at") - datetime.timedelta(minutes=10))
    answer = recompute_open_rounds()
    doomed.refresh_from_db()
    assert answer["reaped"] == 1 and answer["requested"] == [survey_round.pk]
    assert doomed.status == "failed"
    assert doomed.error.startswith("worker lost: still running")
    assert doomed.finished_at is not None
    following = ScoreRun.objects.get(status="queued")
    with celery_worker(env, name="healthy-again"):
        wait_until(lambda: run_finished(following.pk), 60, "the run after the kill")
    following.refresh_from_db()
    assert (following.status, following.error, following.responses_used) == ("done", "", 5)
    assert scores(survey_round) == [("02212", 5, following.pk), ("08", 5, following.pk)]
