import socket

from celery import shared_task
from django.db import connection


@shared_task(ignore_result=False)  # the worker check waits for its answer
def ping():
    """Answers from a worker, naming the database it reaches: the health check uses it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
    return {"worker": socket.gethostname(), "database": database}
