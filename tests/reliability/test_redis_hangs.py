"""Drill: Redis hangs (it accepts connections and never answers: an overloaded server, a network
that drops packets) while kiosks submit over granian.

A submission does not touch Redis for the scores at all: it records its change in fieldwork's
change log, in its own transaction, and the beat's poll queues the score run (a submission that
asked for a run itself once waited for ever on the broker without timeouts). What it still asks of
Redis (the rate limit) fails open within the settings' socket timeouts, so every submission is
stored and answered within a few seconds, and no score run has been asked for.
"""

import datetime
import socket
import threading
import time
import uuid

import pytest
from django.utils import timezone

from fieldwork.models import Response, ResponseChange
from scoring.models import ScoreRun
from tests.fieldwork.base import full_answers
from tests.reliability.drill_data import drill_round
from tests.reliability.processes import django_env, post_json, web_server
from tests.workers import database_url_for_tests


class BlackHole:
    """A TCP server that accepts every connection and never sends a byte."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.server.accept()[0])
            except OSError:
                return

    def close(self):
        self.server.close()
        for conn in self.held:
            conn.close()


@pytest.mark.django_db(transaction=True)
def test_with_redis_hanging_every_submission_is_stored_and_answered_within_seconds():
    survey_round, commune, kiosk, token = drill_round()
    hole = BlackHole()
    env = django_env(DATABASE_URL=database_url_for_tests(), REDIS_URL=f"redis://127.0.0.1:{hole.port}/0",
                     CELERY_QUEUE=f"drill{uuid.uuid4().hex[:8]}")
    timings = []
    try:
        with web_server(env, workers=2) as site:
            for _ in range(4):
                now = timezone.now()
                body = {"id": str(uuid.uuid4()), "round": survey_round.pk, "questionnaire": "sipas-2017",
                        "started_at": (now - datetime.timedelta(minutes=3)).isoformat(),
                        "submitted_at": now.isoformat(), "language": "vi", "answers": full_answers()}
                started = time.monotonic()
                status, answer = post_json(f"{site}/api/kiosk/v1/responses", body, token, timeout=60)
                timings.append(time.monotonic() - started)
                assert status == 201, answer
    finally:
        hole.close()

    print(f"\nsubmissions with Redis hanging: {len(timings)}, all 201, in "
          + ", ".join(f"{t:.1f}" for t in timings) + " s")
    assert Response.objects.count() == 4
    assert not ScoreRun.objects.exists()  # the submissions asked scoring for nothing
    assert ResponseChange.objects.filter(round=survey_round).count() == 4  # for the beat's poll, Redis back
    assert max(timings) < 10, timings  # the kiosk gives up on a request after 15 s
