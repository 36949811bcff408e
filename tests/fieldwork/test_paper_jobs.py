"""Paper imports over PAPER_UPLOAD_MAX_ROWS: the upload page keeps the file as a job and the real
Celery worker imports it (fieldwork.paper_jobs)."""

import csv
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from fieldwork.models import PaperImportJob, Response
from fieldwork.paper import paper_template_csv
from fieldwork.paper_jobs import paper_job_create, paper_job_run, paper_jobs_reap
from fieldwork.services import round_create
from questionnaires.services import definition_files, questionnaire_load_file
from tests.base import EnglishClient, make_unit, make_user
from tests.fieldwork.base import full_answers
from tests.fieldwork.test_paper import form_row
from tests.workers import celery_worker
from units.models import Role, Unit


@pytest.fixture
def world(db):
    province = make_unit("08", level=Unit.Level.PROVINCE, name="Tỉnh Tuyên Quang")
    make_unit("02212", province, name="Xã Sơn Dương")
    make_unit("10", level=Unit.Level.PROVINCE, name="Tỉnh Lào Cai")
    for path in definition_files():
        questionnaire_load_file(path=path)
    survey_round = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    survey_round.first_opened_at = timezone.now() - timezone.timedelta(days=1)
    survey_round.save(update_fields=["first_opened_at"])
    officer = make_user("province_officer", (Role.Kind.OFFICER, province))
    far_officer = make_user("far_officer", (Role.Kind.OFFICER, Unit.objects.get(code="10")))
    return survey_round, officer, far_officer


def csv_text(survey_round, rows):
    header = next(csv.reader(io.StringIO(paper_template_csv(survey_round=survey_round))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def many_rows(n):
    """n different valid forms (identical rows would be different forms too, but vary them anyway)."""
    return [form_row(**full_answers(**{"G.0": 1 + i % 5})) for i in range(n)]


def upload(client, survey_round, text):
    return client.post(reverse("fieldwork:paper-import", args=[survey_round.pk]),
                       {"file": SimpleUploadedFile("forms.csv", ("\ufeff" + text).encode())})


def wait_finished(job, timeout=240):
    deadline = time.monotonic() + timeout
    while True:
        job.refresh_from_db()
        if job.status in (PaperImportJob.Status.DONE, PaperImportJob.Status.FAILED):
            return job
        assert time.monotonic() < deadline, f"job still {job.status} after {timeout} s"
        time.sleep(0.5)


@pytest.mark.django_db(transaction=True)
def test_a_2500_row_file_uploaded_on_the_page_is_imported_by_the_worker_once(world):
    survey_round, officer, _ = world
    client = EnglishClient()
    client.force_login(officer)

    with celery_worker():
        page = upload(client, survey_round, csv_text(survey_round, many_rows(2500)))
        job = PaperImportJob.objects.get()
        assert page.status_code == 302
        assert page["Location"] == reverse("fieldwork:paper-import-job", args=[survey_round.pk, job.pk])
        assert job.rows == 2500
        wait_finished(job)

    assert (job.status, job.stored, job.already_stored) == ("done", 2500, 0)
    assert Response.objects.filter(round=survey_round, channel=Response.Channel.PAPER).count() == 2500
    status = client.get(reverse("fieldwork:paper-import-job-status", args=[survey_round.pk, job.pk])).json()
    assert status == {"status": "done", "finished": True}
    result = client.get(page["Location"])
    assert "2,500 paper forms stored, 0 already stored before." in result.content.decode()
    assert "source=paper_import" in result.content.decode()
    assert "paper_job.js" not in result.content.decode()  # nothing left to poll


@pytest.mark.django_db(transaction=True)
def test_a_large_file_with_a_bad_row_stores_nothing_and_the_page_names_the_line(world):
    survey_round, officer, _ = world
    client = EnglishClient()
    client.force_login(officer)
    rows = many_rows(1200)
    rows[1100] = form_row(**full_answers(**{"F3.2": 6}))

    with celery_worker():
        page = upload(client, survey_round, csv_text(survey_round, rows))
        job = wait_finished(PaperImportJob.objects.get())

    assert job.status == "failed"
    assert not Response.objects.exists()
    result = client.get(page["Location"]).content.decode()
    assert "nothing was stored" in result
    assert "<li>line 1102, F3.2: must be one of 1, 2, 3, 4, 5</li>" in result


@pytest.mark.django_db(transaction=True)
def test_the_task_run_twice_stores_once(world):
    survey_round, officer, _ = world
    job = paper_job_create(survey_round=survey_round, user=officer,
                           text=csv_text(survey_round, many_rows(30)))

    first = paper_job_run(job_id=job.pk)
    second = paper_job_run(job_id=job.pk)  # a second delivery of the task finds it no longer queued

    assert (first.status, first.stored) == ("done", 30)
    assert second is None
    assert Response.objects.count() == 30
    # Even a job that was claimed again (a worker lost while running it) stores nothing twice.
    PaperImportJob.objects.filter(pk=job.pk).update(status="queued", content=csv_text(survey_round, many_rows(30)))
    again = paper_job_run(job_id=job.pk)
    assert (again.stored, again.already_stored) == (0, 30)
    assert Response.objects.count() == 30


@override_settings(PAPER_UPLOAD_MAX_ROWS=2)
@pytest.mark.django_db
def test_without_a_worker_the_page_shows_the_job_queued_with_a_refresh_link(world):
    survey_round, officer, far_officer = world
    client = EnglishClient()
    client.force_login(officer)

    page = upload(client, survey_round, csv_text(survey_round, many_rows(3)))

    job = PaperImportJob.objects.get()
    assert (job.status, job.rows, job.user) == ("queued", 3, officer)
    shown = client.get(page["Location"]).content.decode()
    assert "The file of 3 paper forms is being imported in the background" in shown
    assert ">Refresh</a>" in shown and "paper_job.js" in shown
    assert "http-equiv" not in shown  # no meta refresh
    assert not Response.objects.exists()


@override_settings(PAPER_UPLOAD_MAX_ROWS=2)
@pytest.mark.django_db
def test_a_file_within_the_limit_is_still_imported_in_the_request(world):
    survey_round, officer, _ = world
    client = EnglishClient()
    client.force_login(officer)

    upload(client, survey_round, csv_text(survey_round, many_rows(2)))

    assert not PaperImportJob.objects.exists()
    assert Response.objects.count() == 2


@pytest.mark.django_db
def test_an_officer_of_another_province_gets_404_for_the_job(world):
    survey_round, officer, far_officer = world
    job = paper_job_create(survey_round=survey_round, user=officer, text=csv_text(survey_round, many_rows(1)))
    client = EnglishClient()
    client.force_login(far_officer)

    for name in ("paper-import-job", "paper-import-job-status"):
        assert client.get(reverse(f"fieldwork:{name}", args=[survey_round.pk, job.pk])).status_code == 404
    client.force_login(officer)
    other_round = round_create(name="Lào Cai", questionnaire_code="sipas-2017", unit_code="10", open_now=True)
    # The job under another round's address is not found either.
    assert client.get(reverse("fieldwork:paper-import-job", args=[other_round.pk, job.pk])).status_code == 404


@override_settings(PAPER_UPLOAD_MAX_ROWS=2)
@pytest.mark.django_db
def test_the_job_page_and_its_problems_are_in_vietnamese_for_a_vietnamese_officer(world):
    survey_round, officer, _ = world
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    client.force_login(officer)
    rows = many_rows(3)
    rows[2] = form_row(**full_answers(**{"F3.2": 6}))

    page = upload(client, survey_round, csv_text(survey_round, rows))
    job = PaperImportJob.objects.get()
    assert job.language == "vi"
    assert "đang được nhập ở chế độ nền" in client.get(page["Location"]).content.decode()

    paper_job_run(job_id=job.pk)  # as the worker would, in a process whose language is not the page's
    shown = client.get(page["Location"]).content.decode()
    assert "Tệp bị từ chối; chưa lưu gì" in shown
    assert "dòng 4" in shown


@override_settings(PAPER_UPLOAD_MAX_ROWS=2)
@pytest.mark.django_db
def test_a_file_the_row_count_cannot_read_is_refused_by_the_import_in_the_request(world):
    survey_round, officer, _ = world
    client = EnglishClient()
    client.force_login(officer)
    text = csv_text(survey_round, many_rows(1)) + '02212,"' + "x" * 200_000 + '"\r\n'

    page = upload(client, survey_round, text)

    assert page.status_code == 200
    assert "nothing was stored" in page.content.decode()
    assert not PaperImportJob.objects.exists() and not Response.objects.exists()


@pytest.mark.django_db
def test_a_fault_in_the_worker_fails_the_job_with_a_message_and_stores_nothing(world, monkeypatch):
    survey_round, officer, _ = world
    job = paper_job_create(survey_round=survey_round, user=officer, text=csv_text(survey_round, many_rows(3)))

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("fieldwork.paper.paper_import_csv", broken)
    job = paper_job_run(job_id=job.pk)

    assert job.status == "failed"
    assert job.problems == ["the import stopped on an unexpected error; nothing was stored. Try again later "
                            "or ask an administrator."]
    assert not Response.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_beat_fails_a_job_its_worker_lost_and_sends_again_a_job_whose_task_was_lost(world):
    survey_round, officer, _ = world
    text = csv_text(survey_round, many_rows(5))

    def job(**fields):  # a job whose task is not in the broker (lost, or not needed by the test)
        return PaperImportJob.objects.create(round=survey_round, user=officer, content=text, rows=5, **fields)

    lost, stuck, fresh, running = job(language="vi"), job(language="en"), job(), job()
    long_ago = timezone.now() - timezone.timedelta(hours=1)
    PaperImportJob.objects.filter(pk=lost.pk).update(status="running", started_at=long_ago, created_at=long_ago)
    PaperImportJob.objects.filter(pk=stuck.pk).update(created_at=long_ago)
    PaperImportJob.objects.filter(pk=running.pk).update(status="running", started_at=timezone.now())

    with celery_worker():
        assert paper_jobs_reap() == (1, 1)
        wait_finished(stuck)

    lost.refresh_from_db()
    assert (lost.status, lost.content, lost.stored) == ("failed", "", 0)
    assert lost.problems == [
        "quá trình nhập dừng trước khi xong (trình chạy nền đã khởi động lại, hoặc tệp cần lâu hơn 360 giây); "
        "chưa lưu gì. Hãy tải tệp lên lại, hoặc chia thành các tệp nhỏ hơn."]
    assert (stuck.status, stuck.stored) == ("done", 5)
    assert PaperImportJob.objects.get(pk=fresh.pk).status == "queued"  # a job queued a moment ago waits
    assert PaperImportJob.objects.get(pk=running.pk).status == "running"  # a job its worker still runs
    assert paper_jobs_reap() == (0, 0)  # nothing else is lost or stale
