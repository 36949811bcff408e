from celery import shared_task

from fieldwork import paper_jobs


@shared_task(name=paper_jobs.IMPORT_TASK)
def run_paper_import(job_id):
    """Import a paper import job's file (a second delivery of the same job does nothing)."""
    job = paper_jobs.paper_job_run(job_id=job_id)
    return job and job.status
