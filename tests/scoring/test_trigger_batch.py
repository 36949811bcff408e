"""Kiosk submissions ask for a score run from a batch per process, after their commits."""

import datetime
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from unittest import mock

import pytest
from django.utils import timezone

from fieldwork.services import round_create
from scoring import services
from scoring.models import ScoreRun
from tests.base import make_unit
from tests.fieldwork.base import full_answers
from tests.reliability.drill_data import drill_round
from units.models import Unit

ROOT = Path(__file__).resolve().parents[2]


def submit(client, survey_round, token):
    now = timezone.now()
    body = {"id": str(uuid.uuid4()), "round": survey_round.pk, "questionnaire": "sipas-2017",
            "started_at": (now - datetime.timedelta(minutes=3)).isoformat(), "submitted_at": now.isoformat(),
            "language": "vi", "answers": full_answers()}
    return client.post("/api/kiosk/v1/responses", json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Kiosk {token}").status_code


def eventually(check, seconds=10):
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return check()


@pytest.mark.django_db(transaction=True)
def test_submissions_within_a_batch_ask_for_one_score_run_after_the_requests_not_inside_them(client, settings):
    settings.SCORE_TRIGGER_BATCH_SECONDS = 2
    survey_round, _, _, token = drill_round()

    statuses = [submit(client, survey_round, token) for _ in range(3)]

    assert statuses == [201, 201, 201]
    assert not ScoreRun.objects.exists()  # not asked for inside the requests
    assert eventually(ScoreRun.objects.exists)
    run = ScoreRun.objects.get()
    assert (run.round_id, run.status, run.reason) == (survey_round.pk, ScoreRun.Status.QUEUED, "responses")


def test_a_batch_sends_each_of_its_rounds_once_and_the_next_trigger_starts_a_new_batch():
    sent = []
    with mock.patch.object(services, "score_run_trigger", side_effect=lambda *call, **how: sent.append(call)):
        batch = services._TriggerBatch()
        for round_id, reason in [(7, "responses"), (7, "responses"), (9, "responses"), (7, "later")]:
            batch.add(round_id, reason, delay=0.2)
        assert sent == []
        assert eventually(lambda: len(sent) == 2, seconds=5)
        batch.add(7, "responses", delay=0.05)
        assert eventually(lambda: len(sent) == 3, seconds=5)

    assert sent == [(7, "responses"), (9, "responses"), (7, "responses")]
    assert not [t for t in threading.enumerate() if t.name == "score-trigger-batch"]


EXITING = """
import django
django.setup()
from scoring import services
services.score_run_trigger = lambda round_id, reason, **how: print("sent", round_id, reason, flush=True)
services.score_run_trigger_soon(5, "responses")
print("exiting", flush=True)
"""


def test_a_process_that_exits_normally_sends_its_batch_first():
    done = subprocess.run([sys.executable, "-c", EXITING], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "surveyapp.settings",
                               "SCORE_TRIGGER_BATCH_SECONDS": "0.5"})

    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["exiting", "sent 5 responses"]


def three_rounds():
    first, _, _, _ = drill_round()  # the questionnaires, province 08 and its round
    others = []
    for code in ("10", "12"):
        make_unit(code, level=Unit.Level.PROVINCE)
        others.append(round_create(name=f"Quý IV/2026 {code}", questionnaire_code="sipas-2017", unit_code=code,
                                   open_now=True))
    return [first, *others]


def queued_rounds():
    return set(ScoreRun.objects.filter(status=ScoreRun.Status.QUEUED).values_list("round_id", flat=True))


def batch_of(rounds):
    batch = services._TriggerBatch()
    for survey_round in rounds:
        batch.add(survey_round.pk, "responses", delay=60)
    batch._timer.cancel()  # sent by the test, at once
    return batch


@pytest.mark.django_db(transaction=True)
def test_a_batch_sets_its_rounds_redis_keys_together_and_queues_a_run_where_none_was_queued():
    rounds = three_rounds()
    assert services.cache.add(services._queued_key(rounds[1].pk), "earlier", timeout=60)  # a run is queued
    batch = batch_of(rounds)

    with mock.patch.object(services.cache, "add", side_effect=AssertionError("one key at a time")):
        batch.send()

    # The second round's queued run (its key says so) will see the change: no second run for it.
    assert queued_rounds() == {rounds[0].pk, rounds[2].pk}
    keys = [services.cache.get(services._queued_key(r.pk)) for r in rounds]
    assert keys == ["responses", "earlier", "responses"]  # as cache.add stores them, readable by the cache


@pytest.mark.django_db(transaction=True)
def test_with_redis_not_answering_a_batch_asks_it_once_and_queues_each_round_by_the_database():
    rounds = three_rounds()
    batch = batch_of(rounds)
    from django.core.cache.backends.redis import RedisCache

    down = RedisCache("redis://127.0.0.1:1/0", {"KEY_PREFIX": "down"})  # nothing listens on port 1
    claims = mock.Mock(wraps=services._claim_queued_keys)

    with mock.patch.object(services, "cache", down), mock.patch.object(services, "_claim_queued_keys", claims), \
            mock.patch.object(down, "add", side_effect=AssertionError("asked Redis again for one round")):
        batch.send()

    assert claims.call_count == 1
    assert queued_rounds() == {r.pk for r in rounds}
