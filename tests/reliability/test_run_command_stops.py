"""Drill: `make run` (scripts/dev.py run) stops everything it started, whatever signals arrive while
it stops.

The real command runs until its site answers; then Ctrl-C (SIGINT to its process group, as the
terminal sends it), and all through the stopping a storm of further SIGINT, SIGTERM and SIGHUP (a
second Ctrl-C, make forwarding a SIGTERM, the terminal closed). The command must exit, and every
process it started — the Celery worker and its pool, beat, the web server and its reloader, and the
embedded PostgreSQL and Redis when it started them — must be gone, none left running orphaned.
Each run's processes are found by a marker of its own in their environment; the embedded servers
(which overwrite their environment with their process titles) by their pid files.
"""

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg2
from django.db import connection

from tests.reliability.processes import ROOT, PrivateRedis, free_port, wait_until
from tests.workers import database_url_for_tests

MARKER = "SIPAS_RUN_DRILL"
STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


def marked_processes(marker):
    """{pid: command line} of the live processes whose environment carries the marker (a zombie's
    environment reads empty)."""
    needle = f"{MARKER}={marker}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and needle in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def running(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def group_members(pgid):
    """The live processes of a process group."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split(")")[-1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def site_answers(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except OSError:
        return False


@contextmanager
def make_run(env):
    """`python scripts/dev.py run` with ``env`` on a free port, until its site answers; yields the
    process and its marker. Whatever the drill leaves running is killed afterwards."""
    marker, port = uuid.uuid4().hex, free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "scripts/dev.py", "run"], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            env={**env, MARKER: marker, "PORT": str(port)})
    try:
        wait_until(lambda: site_answers(port) or proc.poll() is not None, 120, "the site to answer")
        assert proc.poll() is None, "the run command exited before its site answered"
        yield proc, marker
    except BaseException:
        log.seek(0)
        print(f"--- the run command's output ---\n{log.read().decode(errors='replace')[-6000:]}", file=sys.stderr)
        raise
    finally:
        for pid in marked_processes(marker):
            os.kill(pid, signal.SIGKILL)
        proc.wait()
        log.close()


def stop_with_signal_storm(proc):
    """Ctrl-C, then SIGINT, SIGTERM and SIGHUP in turn every 50 ms until the command has exited;
    returns how long it took."""
    began = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    sent = 0
    while proc.poll() is None and time.monotonic() - began < 60:
        time.sleep(0.05)
        try:
            os.kill(proc.pid, STOP_SIGNALS[sent % 3])
            sent += 1
        except ProcessLookupError:
            break
    proc.wait(timeout=5)
    assert sent >= 3, "the command stopped before the storm: nothing tested the stopping"
    return time.monotonic() - began


def assert_started_the_product(processes):
    commands = " | ".join(processes.values())
    for part in ("celery -A surveyapp worker", "celery -A surveyapp beat", "manage.py runserver"):
        assert part in commands, f"{part} is not among the run command's processes: {commands}"


@contextmanager
def database_of_its_own():
    """A database of this drill's own on the test database's server, dropped afterwards."""
    name = f"sipas_run_drill_{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    admin = psycopg2.connect(dbname="postgres", user=db["USER"], password=db["PASSWORD"],
                             host=db["HOST"] or None, port=db["PORT"] or None)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        yield database_url_for_tests(name)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def run_env(**overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SURVEYAPP_TEST_DB")}
    return {**env, "PYTHONUNBUFFERED": "1", **overrides}


def test_make_run_on_given_servers_stops_all_its_processes_whatever_signals_arrive_while_it_stops():
    redis = PrivateRedis()
    redis.start()
    try:
        with database_of_its_own() as database_url:
            with make_run(run_env(DATABASE_URL=database_url, REDIS_URL=redis.url)) as (proc, marker):
                started = marked_processes(marker)
                assert_started_the_product(started)

                took = stop_with_signal_storm(proc)

                wait_until(lambda: not marked_processes(marker), 5, "every process of the run command to be gone")
                assert proc.returncode == 0
                assert took < 30
    finally:
        redis.stop()


def test_make_run_with_embedded_servers_stops_them_too_whatever_signals_arrive_while_it_stops():
    var_dir = Path(tempfile.mkdtemp(prefix="sipas-run-drill-"))
    try:
        with make_run(run_env(SURVEYAPP_VAR_DIR=str(var_dir))) as (proc, marker):
            assert_started_the_product(marked_processes(marker))
            postgres = int((var_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
            redis = int((var_dir / "redis" / "redis.pid").read_text().split()[0])
            assert running(postgres) and running(redis)

            took = stop_with_signal_storm(proc)

            wait_until(lambda: not marked_processes(marker), 5, "every process of the run command to be gone")
            wait_until(lambda: not running(postgres) and not running(redis), 5, "the embedded servers to stop")
            assert proc.returncode == 0
            assert took < 30
    finally:
        for pid_file in (var_dir / "pgdata" / "postmaster.pid", var_dir / "redis" / "redis.pid"):
            if pid_file.exists() and running(pid := int(pid_file.read_text().split()[0])):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(var_dir, ignore_errors=True)


def test_stopping_kills_a_child_deaf_to_sigterm_and_what_an_exited_child_left_behind():
    spec = importlib.util.spec_from_file_location("dev", ROOT / "scripts" / "dev.py")
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    deaf = subprocess.Popen(["sh", "-c", "trap '' TERM; sleep 60"], start_new_session=True)
    exited = subprocess.Popen(["sh", "-c", "trap '' TERM; sleep 60 & exit 0"], start_new_session=True)
    exited.wait()
    wait_until(lambda: group_members(exited.pid), 5, "the exited child's sleep")
    try:
        began = time.monotonic()
        dev.stop_all([("deaf", deaf), ("exited", exited)], timeout=1)

        assert time.monotonic() - began < 5
        assert deaf.returncode == -signal.SIGKILL
        wait_until(lambda: not group_members(deaf.pid) and not group_members(exited.pid), 5,
                   "every process of both groups to be gone")
    finally:
        for pid in group_members(deaf.pid) + group_members(exited.pid):
            os.kill(pid, signal.SIGKILL)


def test_the_embedded_postgres_still_stops_after_a_process_holding_it_was_killed_outright():
    var_dir = Path(tempfile.mkdtemp(prefix="sipas-run-drill-"))
    env = run_env(SURVEYAPP_VAR_DIR=str(var_dir))
    attach = "from surveyapp import embedded; embedded.embedded_database_url(); print('attached', flush=True)"
    postmaster = var_dir / "pgdata" / "postmaster.pid"
    try:
        killed = subprocess.Popen([sys.executable, "-c", f"{attach}; import time; time.sleep(60)"], cwd=ROOT,
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert killed.stdout.readline() == b"attached\n"
        postgres = int(postmaster.read_text().split()[0])
        killed.kill()  # no atexit: it stays in pgserver's list of the server's holders
        killed.wait()

        subprocess.run([sys.executable, "-c", attach], cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)

        wait_until(lambda: not running(postgres), 10, "the embedded PostgreSQL to stop with its last holder")
    finally:
        if postmaster.exists() and running(pid := int(postmaster.read_text().split()[0])):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(var_dir, ignore_errors=True)
