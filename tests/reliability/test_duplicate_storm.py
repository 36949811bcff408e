"""Drill: the same response sent at once by two kiosks' queues and by a retrying client, over real
HTTP against granian (four processes, so the copies meet in the database, not in one process).

What the API answers today: the first copy to commit gets 201; every other copy of the same
content, from either kiosk of the unit, gets 200 with the same body (``{"id", "status": "stored"}``),
so each kiosk's queue drops it as delivered. The same id from a kiosk of another unit is a 409
naming what differs. One row is stored.
"""

import datetime
import threading
import uuid

import pytest
from django.conf import settings
from django.utils import timezone

from fieldwork.models import Kiosk, Response, ResponseChange, Round
from fieldwork.services import kiosk_create, kiosk_issue_token, round_create
from questionnaires.services import definition_files, questionnaire_load_file
from tests.base import make_unit
from tests.fieldwork.base import full_answers
from tests.reliability.processes import django_env, post_json, web_server
from tests.workers import database_url_for_tests
from units.models import Unit


@pytest.mark.django_db(transaction=True)
def test_one_response_sent_by_two_kiosks_queues_and_a_retrying_client_at_once_is_stored_once():
    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level=Unit.Level.PROVINCE)
    commune, other_commune = make_unit("02212", province), make_unit("02230", province)
    survey_round = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    tokens = {}
    for name, unit in (("A", commune), ("B", commune), ("C", other_commune)):
        kiosk, _ = kiosk_create(unit=unit, name=f"Quầy {name}")
        tokens[name] = kiosk_issue_token(kiosk=kiosk)
    now = timezone.now()
    # Opened and paired before the queued response was started (a response cannot predate them).
    Round.objects.filter(pk=survey_round.pk).update(first_opened_at=now - datetime.timedelta(hours=1))
    Kiosk.objects.update(first_paired_at=now - datetime.timedelta(hours=1))
    body = {"id": str(uuid.uuid4()), "round": survey_round.pk, "questionnaire": "sipas-2017",
            "started_at": (now - datetime.timedelta(minutes=8)).isoformat(),
            "submitted_at": (now - datetime.timedelta(minutes=5)).isoformat(), "language": "vi",
            "answers": full_answers()}
    env = django_env(DATABASE_URL=database_url_for_tests(), REDIS_URL=settings.REDIS_URL)
    # Kiosk A's queue and a retrying client on A (a double tap, a timeout resent), kiosk B's queue
    # (its outbox restored from A's backup): 24 copies released together.
    senders = ["A"] * 16 + ["B"] * 8
    answers = []
    with web_server(env, workers=4) as site:
        url = f"{site}/api/kiosk/v1/responses"
        post_json(url, {}, tokens["A"])  # (every server process has started)
        start = threading.Barrier(len(senders))

        def send(kiosk):
            start.wait()
            answers.append((kiosk, *post_json(url, body, tokens[kiosk])))

        threads = [threading.Thread(target=send, args=(kiosk,)) for kiosk in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        other_unit = post_json(url, body, tokens["C"])

    statuses = sorted(status for _kiosk, status, _answer in answers)
    assert statuses == [200] * 23 + [201], answers
    assert {answer["id"] for _kiosk, _status, answer in answers} == {body["id"]}
    assert {answer["status"] for _kiosk, _status, answer in answers} == {"stored"}
    assert Response.objects.count() == 1
    assert ResponseChange.objects.count() == 1  # counted once by the scores too
    assert {kiosk for kiosk, _s, _a in answers if _s == 201} <= {"A", "B"}
    status, answer = other_unit
    assert status == 409
    assert "a different response with this id was already received (differs in unit_id)" in answer["errors"]["id"][0]
