from celery import shared_task
from django.conf import settings

from fieldwork import integrity, invitations, paper_jobs, senders
from fieldwork.models import Round


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


@shared_task(bind=True, name=invitations.SEND_TASK, max_retries=None)
def send_invitation(self, invitation_id, reminder=False):
    """Send an invitation's message; transient errors are tried again with a growing delay, and
    after INVITATION_SEND_RETRIES the invitation is failed with the last reason."""
    try:
        return invitations.invitation_send(invitation_id=invitation_id, reminder=reminder)
    except senders.TransientSendError as exc:
        if self.request.retries >= settings.INVITATION_SEND_RETRIES:
            return invitations.invitation_send_failed(invitation_id=invitation_id, reason=str(exc), reminder=reminder,
                                                      temporary=True)
        raise self.retry(exc=exc, countdown=invitations.retry_delay(self.request.retries)) from exc


@shared_task(name=invitations.SEND_BATCH_TASK)
def send_invitations(invitation_ids, reminder=False):
    """Send a batch of invitations' messages; one that meets a transient error becomes a send_invitation task."""
    return invitations.invitations_send_batch(invitation_ids=invitation_ids, reminder=reminder)


@shared_task
def queue_invitations(round_id, channel):
    """Queue the messages of a round's invitations for a channel (the page's send button: a round
    of 100,000 invitations is queued here, not in the request)."""
    return invitations.invitations_queue(survey_round=Round.objects.get(pk=round_id), channel=channel)


@shared_task
def queue_invitation_reminders():
    """Beat: queue the one reminder of invitations sent INVITATION_REMINDER_DAYS ago and not answered."""
    return invitations.reminders_queue()


@shared_task
def purge_invitation_contacts():
    """Beat: delete the contact data of rounds closed INVITATION_CONTACT_KEEP_DAYS ago."""
    return invitations.contacts_purge()


@shared_task(name=integrity.CHECK_TASK)
def run_integrity_check(round_id):
    """Check a round's kiosk responses, if a check is requested (a second delivery does nothing)."""
    return integrity.integrity_run(round_id=round_id)


@shared_task(name="fieldwork.tasks.integrity_poll")
def integrity_poll():
    """Beat, every INTEGRITY_POLL_SECONDS: request checks of rounds whose kiosks stored responses."""
    return {"requested": integrity.integrity_poll()}
