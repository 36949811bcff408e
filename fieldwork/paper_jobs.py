"""Paper imports too large for a request: the upload page keeps the file in a PaperImportJob and
the Celery worker imports it with the same all-or-nothing rule (fieldwork.paper.paper_import_csv).

A job runs once: the worker claims it by moving it from queued to running in one UPDATE, so a
second delivery of the task finds nothing to claim and does nothing. Even a job run twice would
store every form once (the import stores nothing twice, by form id)."""

import csv
import io
import logging

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fieldwork import paper
from fieldwork.models import PaperImportJob, Round
from surveyapp.celery import app as celery_app

log = logging.getLogger(__name__)

IMPORT_TASK = "fieldwork.tasks.run_paper_import"


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
