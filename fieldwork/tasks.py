from celery import shared_task

from fieldwork import integrity, paper_jobs


@shared_task(name=paper_jobs.IMPORT_TASK)
def run_paper_import(job_id):
    """Import a paper import job's file (a second delivery of the same job does nothing)."""
    job = paper_jobs.paper_job_run(job_id=job_id)
    return job and job.status


@shared_task
def reap_paper_imports():
    """Beat: fail paper import jobs of lost workers and send again jobs whose task was lost."""
    failed, sent = paper_jobs.paper_jobs_reap()
    return {"failed": failed, "sent again": sent}


@shared_task(name=integrity.CHECK_TASK)
def run_integrity_check(round_id):
    """Check a round's kiosk responses, if a check is requested (a second delivery does nothing)."""
    return integrity.integrity_run(round_id=round_id)


@shared_task(name="fieldwork.tasks.integrity_poll")
def integrity_poll():
    """Beat, every INTEGRITY_POLL_SECONDS: request checks of rounds whose kiosks stored responses."""
    return {"requested": integrity.integrity_poll()}
