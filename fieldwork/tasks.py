from celery import shared_task

from fieldwork import paper_jobs


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
