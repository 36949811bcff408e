"""A real Celery worker process for end-to-end tests, on the test database and the test Redis."""

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from surveyapp.celery import app

ROOT = Path(__file__).resolve().parent.parent


def database_url_for_tests(name=None):
    """The URL of the database the tests run on (pytest-django's test_ database), or of another
    database ``name`` on its server."""
    db = {**connection.settings_dict, "NAME": name or connection.settings_dict["NAME"]}
    credentials = quote(db["USER"]) + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    host = db["HOST"] or ""
    if host.startswith("/"):
        return f"postgresql://{credentials}@/{db['NAME']}?host={host}"
    return f"postgresql://{credentials}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def celery_worker(name="test", timeout=30):
    """Start ``celery worker`` in a subprocess; wait until it answers; stop it afterwards."""
    env = {**os.environ, "DATABASE_URL": database_url_for_tests(), "REDIS_URL": settings.REDIS_URL}
    node = f"{name}-{os.getpid()}@localhost"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "surveyapp", "worker", "--pool", "solo",
         "-n", node, "--loglevel", "WARNING", "--without-mingle", "--without-gossip"],
        env=env, cwd=ROOT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while not app.control.ping(destination=[node], timeout=0.5):
            if proc.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with code {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not answer within {timeout} s")
        yield proc
    finally:
        _stop(proc)


@contextmanager
def celery_beat(tmp_path, timeout=30):
    """Start ``celery beat`` in a subprocess (settings.CELERY_BEAT_SCHEDULE, its schedule file in
    ``tmp_path``); wait until it has started; stop it afterwards. It sends to the queue of
    ``celery_worker``'s workers (CELERY_QUEUE, inherited)."""
    env = {**os.environ, "DATABASE_URL": database_url_for_tests(), "REDIS_URL": settings.REDIS_URL}
    log = tmp_path / "beat.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "surveyapp", "beat", "--schedule", str(tmp_path / "schedule"),
         "--pidfile", str(tmp_path / "beat.pid"), "--loglevel", "INFO", "--logfile", str(log)],
        env=env, cwd=ROOT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while not (log.exists() and "beat: Starting" in log.read_text(errors="replace")):
            if proc.poll() is not None:
                raise RuntimeError(f"celery beat exited with code {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"celery beat did not start within {timeout} s")
            time.sleep(0.1)
        yield proc
    finally:
        _stop(proc)


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
