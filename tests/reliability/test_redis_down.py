"""Drill: Redis (cache and broker) goes down while kiosks submit, and comes back empty.

granian and a Celery worker run against the test database and a private redis-server of this
drill (never the machine's shared Redis). While it is down every kiosk submission is stored and
answered at once (the rate limit fails open; a submission only records its change in fieldwork's
change log, in PostgreSQL), the health check says 503. When it is back, empty (as after a crash
without persistence: the queued task is lost), the beat's reaper re-enqueues the run left queued,
and the scores take in every response.

Found by this drill: a worker holding a task with a countdown (a score run waiting out the minute
between runs) when the broker connection drops dies (Celery/kombu 5.7) instead of reconnecting. The
drill restarts it, as the supervisor of a production worker must (systemd ``Restart=always``).
"""

import datetime
import time
import uuid
from contextlib import ExitStack

import pytest
from django.db.models import F
from django.utils import timezone

from fieldwork.models import Response, ResponseChange
from scoring.models import ScoreRun, UnitScore
from scoring.services import STALE_QUEUED
from tests.fieldwork.base import full_answers
from tests.reliability.drill_data import drill_round
from tests.reliability.processes import (
    Outbox,
    PrivateRedis,
    celery_call,
    celery_worker,
    django_env,
    post_json,
    wait_until,
    web_server,
)
from tests.workers import database_url_for_tests


def kiosk_body(survey_round):
    now = timezone.now()
    return {"id": str(uuid.uuid4()), "round": survey_round.pk, "questionnaire": "sipas-2017",
            "started_at": (now - datetime.timedelta(minutes=3)).isoformat(), "submitted_at": now.isoformat(),
            "language": "vi", "answers": full_answers()}


def get_status(url):
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_kiosks_keep_submitting_and_scores_catch_up_when_it_returns():
    survey_round, commune, kiosk, token = drill_round()
    redis = PrivateRedis()
    redis.start()
    drill = uuid.uuid4().hex[:8]
    env = django_env(DATABASE_URL=database_url_for_tests(), REDIS_URL=redis.url, CELERY_QUEUE=f"drill{drill}",
                     CACHE_KEY_PREFIX=f"drill{drill}")
    try:
        with web_server(env) as site, ExitStack() as workers:
            # Redis up: five responses, then a worker scores them.
            outbox = Outbox(site, token)
            outbox.send_all([kiosk_body(survey_round) for _ in range(5)], threads=1)
            celery_call(env, "scoring.tasks.poll_changes")  # (what the beat sends every SCORE_POLL_SECONDS)
            worker = workers.enter_context(celery_worker(env, name="redis-drill"))
            wait_until(lambda: ScoreRun.objects.filter(status="done", responses_used=5).exists(), 60,
                       "the first run")
            # One more: its run waits out the minute between runs, its task held by the worker.
            outbox.send(kiosk_body(survey_round))
            celery_call(env, "scoring.tasks.poll_changes")
            wait_until(lambda: ScoreRun.objects.filter(status="queued").exists(), 10, "the next run queued")
            queued = ScoreRun.objects.get(status="queued")
            time.sleep(1)

            print(f"\n{time.strftime('%X')} first run done, the next one waiting; stopping Redis")
            redis.stop()
            assert get_status(f"{site}/healthz") == 503
            timings = []
            for _ in range(20):
                started = time.monotonic()
                status, answer = post_json(f"{site}/api/kiosk/v1/responses", kiosk_body(survey_round), token)
                timings.append(time.monotonic() - started)
                assert status == 201, answer
            assert Response.objects.count() == 26
            assert ScoreRun.objects.get(status="queued") == queued  # it will take them in (its task is lost with Redis)

            print(f"{time.strftime('%X')} 20 stored with Redis down; starting Redis")
            redis.start()  # back, and empty
            wait_until(lambda: get_status(f"{site}/healthz") == 200, 30, "the health check to recover")
            outbox.send_all([kiosk_body(survey_round) for _ in range(4)], threads=1)
            assert Response.objects.count() == 30

            # The beat task re-enqueues a run queued longer than STALE_QUEUED ago: let that time pass.
            ScoreRun.objects.filter(pk=queued.pk).update(created_at=F("created_at") - STALE_QUEUED
                                                         - datetime.timedelta(minutes=1))
            time.sleep(3)  # (a worker that is going to die of it has done so by now)
            if worker.poll() is not None:
                # Celery 5.7 / kombu 5.7: a worker holding a task with a countdown when the broker
                # connection drops dies ("Unrecoverable error: AttributeError ... 'hostname'") instead
                # of reconnecting. Production runs workers under a supervisor that restarts them.
                lost = next((line for line in worker.log_path.read_text(errors="replace").splitlines()
                             if "Unrecoverable error" in line), f"exit code {worker.returncode}")
                print(f"{time.strftime('%X')} the worker died with Redis: {lost.strip()[:160]}; restarting it")
                workers.enter_context(celery_worker(env, name="redis-drill-restarted"))
            print(f"{time.strftime('%X')} Redis back; sending the beat task")
            celery_call(env, "scoring.tasks.recompute_open_rounds")
            wait_until(lambda: ScoreRun.objects.filter(pk=queued.pk, status__in=["done", "failed"]).exists(), 90,
                       "the run left queued while Redis was down")
        print(f"{time.strftime('%X')} the run left queued is done")
    finally:
        redis.stop()

    queued.refresh_from_db()
    assert (queued.status, queued.error, queued.responses_used) == ("done", "", 30), queued.error
    assert UnitScore.objects.get(round=survey_round, unit=commune).n == 30
    assert not ResponseChange.objects.exists()
    assert outbox.failures == [] and len(outbox.acknowledged) == 10
    print(f"\nsubmissions with Redis down: {len(timings)}, all 201; latency max {max(timings) * 1000:.0f} ms, "
          f"median {sorted(timings)[len(timings) // 2] * 1000:.0f} ms")
    assert max(timings) < 3, timings
