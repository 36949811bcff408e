"""Scoring pulls: fieldwork only records its changes, and a real beat and a real worker bring the
scores up to date within the documented time (SCORE_POLL_SECONDS plus a run)."""

import ast
import datetime
import json
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from fieldwork.models import ResponseChange
from scoring.models import ScoreRun, UnitScore
from tests.fieldwork.base import full_answers
from tests.reliability.drill_data import drill_round
from tests.workers import celery_beat, celery_worker

ROOT = Path(__file__).resolve().parents[2]
REFLECTED_WITHIN = 30  # seconds, at the default settings


def kiosk_body(survey_round):
    now = timezone.now()
    return {"id": str(uuid.uuid4()), "round": survey_round.pk, "questionnaire": "sipas-2017",
            "started_at": (now - datetime.timedelta(minutes=3)).isoformat(), "submitted_at": now.isoformat(),
            "language": "vi", "answers": full_answers()}


def submit(client, survey_round, token):
    return client.post("/api/kiosk/v1/responses", json.dumps(kiosk_body(survey_round)),
                       content_type="application/json", HTTP_AUTHORIZATION=f"Kiosk {token}").status_code


def n_of(survey_round, unit):
    return UnitScore.objects.filter(round=survey_round, unit=unit).values_list("n", flat=True).first()


def wait_for(check, seconds):
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@pytest.mark.django_db(transaction=True)
def test_a_stored_response_is_in_the_scores_within_30_seconds_through_a_real_beat_and_worker(client, tmp_path):
    assert settings.SCORE_POLL_SECONDS == 5  # the default this promise is made for
    survey_round, commune, _, token = drill_round()

    with celery_worker(name="poll"), celery_beat(tmp_path):
        assert submit(client, survey_round, token) == 201
        submitted = time.monotonic()
        assert not ScoreRun.objects.exists()  # the submission asked scoring for nothing
        assert wait_for(lambda: n_of(survey_round, commune) == 1, REFLECTED_WITHIN), \
            (list(ScoreRun.objects.values()), (tmp_path / "beat.log").read_text())
        first = time.monotonic() - submitted

        # A second one, while the round's previous run started less than a minute ago: its run waits
        # out the rest of that minute (scoring.services.MIN_INTERVAL), so push the first run's start back.
        ScoreRun.objects.update(started_at=timezone.now() - datetime.timedelta(minutes=2))
        assert submit(client, survey_round, token) == 201
        submitted = time.monotonic()
        assert wait_for(lambda: n_of(survey_round, commune) == 2, REFLECTED_WITHIN), list(ScoreRun.objects.values())
        second = time.monotonic() - submitted

    print(f"\nscores took in the response {first:.1f} s and {second:.1f} s after it was stored")
    assert not ResponseChange.objects.exists()  # each consumed by the run that counted it
    assert set(ScoreRun.objects.values_list("status", "reason")) == {("done", "changes")}


def imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("app", ["units", "questionnaires", "fieldwork"])
def test_the_lower_apps_import_nothing_from_scoring(app):
    found = [(str(path.relative_to(ROOT)), module) for path in sorted((ROOT / app).rglob("*.py"))
             for module in imported_modules(path) if module.split(".")[0] == "scoring"]

    assert found == []
