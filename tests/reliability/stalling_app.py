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
    from scoring.models import UnitScore

    manager = UnitScore.objects
    if getattr(manager, "_drill_stalls", False):
        return
    real_bulk_create = manager.bulk_create

    def bulk_create_then_stall(*args, **kwargs):
        created = real_bulk_create(*args, **kwargs)
        Path(os.environ["DRILL_STALL_MARKER"]).write_text(str(os.getpid()))
        time.sleep(float(os.environ.get("DRILL_STALL_SECONDS", "120")))
        return created

    manager.bulk_create = bulk_create_then_stall
    manager._drill_stalls = True
