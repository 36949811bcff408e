"""Paper imports too large for a request: the upload page keeps the file in a PaperImportJob and
the Celery worker imports it with the same all-or-nothing rule (fieldwork.paper.paper_import_csv).

A job runs once: the worker claims it by moving it from queued to running in one UPDATE, so a
second delivery of the task finds nothing to claim and does nothing. Even a job run twice would
store every form once (the import stores nothing twice, by form id)."""

import csv
import io
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fieldwork import paper
from fieldwork.models import PaperImportJob, Round
from surveyapp.celery import app as celery_app

log = logging.getLogger(__name__)

IMPORT_TASK = "fieldwork.tasks.run_paper_import"
STALE_QUEUED = timedelta(minutes=10)  # a job queued this long lost its task (broker down): send it again


def count_rows(text: str) -> int:
    """Forms in a CSV text (rows after the header; quoted line breaks are counted right)."""
    return max(sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1, 0)


def paper_job_create(*, survey_round: Round, user, text: str) -> PaperImportJob:
    """Keep the file and send the worker its import once the job is committed."""
    job = PaperImportJob.objects.create(round=survey_round, user=user, content=text, rows=count_rows(text),
                                        language=translation.get_language() or "vi")
    transaction.on_commit(lambda: _send(job.pk))
    return job


def _send(job_id):
    try:
        celery_app.send_task(IMPORT_TASK, args=[job_id])
    except Exception:  # the broker is down: the job stays queued (its page shows it waiting)
        log.exception("could not send paper import job %s to the worker", job_id)


def paper_job_run(*, job_id: int) -> PaperImportJob | None:
    """Import a queued job's file and keep the result; a job no longer queued is left alone (None)."""
    claimed = PaperImportJob.objects.filter(pk=job_id, status=PaperImportJob.Status.QUEUED).update(
        status=PaperImportJob.Status.RUNNING, started_at=timezone.now())
    if not claimed:
        return None
    job = PaperImportJob.objects.select_related("round", "user").get(pk=job_id)
    try:
        with translation.override(job.language):  # the problems in the language of the page that sent it
            result = paper.paper_import_csv(survey_round=job.round, text=job.content, user=job.user)
    except paper.PaperImportError as exc:
        job.status, job.problems, job.problems_more = PaperImportJob.Status.FAILED, list(exc.errors), exc.more
    except Exception:  # a fault, not the file: the import's transaction is rolled back, the page says so
        log.exception("paper import job %s failed", job_id)
        with translation.override(job.language):
            job.status, job.problems = PaperImportJob.Status.FAILED, [
                _("the import stopped on an unexpected error; nothing was stored. Try again later or ask an "
                  "administrator.")]
    else:
        job.status, job.stored, job.already_stored = PaperImportJob.Status.DONE, result.stored, result.already_stored
    job.finished_at = timezone.now()
    job.content = ""  # the file is imported or rejected: the result is what the page needs now
    job.save(update_fields=["status", "problems", "problems_more", "stored", "already_stored", "finished_at",
                            "content"])
    return job


def paper_jobs_reap() -> tuple[int, int]:
    """Beat: fail jobs left running by a lost worker (killed at the task's time limit, or restarted),
    whose import was rolled back, so nothing of the file is stored and the page says to send it
    again; send again the task of jobs queued long ago (lost while the broker was down).
    Returns (failed, sent again)."""
    now = timezone.now()
    limit = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    lost = PaperImportJob.objects.filter(status=PaperImportJob.Status.RUNNING, started_at__lt=now - limit)
    failed = 0
    for job in lost.only("pk", "language"):
        with translation.override(job.language):
            problem = _("the import stopped before it finished (the worker was restarted, or the file took longer "
                        "than %(seconds)d seconds); nothing was stored. Upload the file again, or split it into "
                        "smaller files.") % {"seconds": settings.CELERY_TASK_TIME_LIMIT}
        failed += PaperImportJob.objects.filter(pk=job.pk, status=PaperImportJob.Status.RUNNING).update(
            status=PaperImportJob.Status.FAILED, problems=[problem], finished_at=now, content="")
    stale = list(PaperImportJob.objects.filter(status=PaperImportJob.Status.QUEUED, created_at__lt=now - STALE_QUEUED)
                 .values_list("pk", flat=True))
    for job_id in stale:
        _send(job_id)
    return failed, len(stale)
