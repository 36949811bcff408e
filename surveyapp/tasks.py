import socket

from celery import shared_task


@shared_task
def ping():
    """Answers from a worker: the health page uses it to show that workers are running."""
    return {"worker": socket.gethostname()}
