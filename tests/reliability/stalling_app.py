"""The project's Celery app, with score runs that stall half-way through storing their results.

Only for the drill that kills a worker in the middle of a recompute: ``celery -A
tests.reliability.stalling_app worker``. Before each task, the score-storing step is wrapped so
that, inside its transaction, after the old scores are deleted and the new ones inserted but before
the commit, it writes ``DRILL_STALL_MARKER`` and sleeps. Nothing in the scoring code changes.
"""

import os
import time
from pathlib import Path

from celery.signals import task_prerun

from surveyapp.celery import app  # noqa: F401 - the app celery -A finds here


@task_prerun.connect
def _stall_while_storing(**_kwargs):
    from scoring import services

    if getattr(services, "_drill_stalls", False):
        return
    real_write_scores = services._write_scores  # inserts the new UnitScore rows, inside the transaction

    def write_scores_then_stall(*args, **kwargs):
        written = real_write_scores(*args, **kwargs)
        Path(os.environ["DRILL_STALL_MARKER"]).write_text(str(os.getpid()))
        time.sleep(float(os.environ.get("DRILL_STALL_SECONDS", "120")))
        return written

    services._write_scores = write_scores_then_stall
    services._drill_stalls = True
