import pytest
from django.db import connection
from django.urls import reverse

from tests.base import make_user
from tests.workers import celery_worker


@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_by_the_web_process_runs_in_a_real_worker_process(client):
    client.force_login(make_user("root", superuser=True))

    with celery_worker():
        response = client.post(reverse("worker-check"))

    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] is True
    # The worker is another process, and it reached the very database the tests run on.
    assert answer["database"] == connection.settings_dict["NAME"]


@pytest.mark.django_db
def test_only_superusers_may_send_a_worker_check(client):
    client.force_login(make_user("someone"))

    response = client.post(reverse("worker-check"))

    assert response.status_code == 302  # to the login page, with nothing enqueued


def test_the_health_check_reports_database_and_redis(client, db):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok"}
