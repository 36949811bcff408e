#!/usr/bin/env python3
"""The two commands of the README: ``run`` (the whole product) and ``test`` (the test suite).

Needs only Python 3.11+. It creates ``.venv``, installs the pinned requirements when they change,
then re-runs itself inside the virtualenv.

run   Without DATABASE_URL / REDIS_URL starts the embedded PostgreSQL and Redis (data in var/),
      migrates, loads the questionnaires and the demo data (once), starts a Celery worker and beat
      and the web server on http://127.0.0.1:$PORT (8000). Ctrl-C stops everything it started.
test  Uses DATABASE_URL / REDIS_URL when set, else the machine's PostgreSQL and Redis when they
      answer on 127.0.0.1:5432 / 6379, else the embedded ones; then runs pytest with any extra
      arguments given.
"""

import hashlib
import os
import signal
import subprocess
import sys
import time
import venv
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
REQUIREMENTS = [ROOT / "requirements.txt", ROOT / "requirements-dev.txt"]


def say(message):
    try:
        print(f"\033[1m==> {message}\033[0m", flush=True)
    except OSError:  # the terminal has gone (SIGHUP): carry on stopping without it
        pass


def ensure_virtualenv():
    """Create .venv and install the requirements when they are new or changed; then re-exec in it."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before the virtualenv exists
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in REQUIREMENTS)).hexdigest()
    marker = VENV / ".requirements-installed"
    if not VENV_PYTHON.exists():
        say(f"creating the virtualenv in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not marker.exists() or marker.read_text() != digest:
        say("installing the pinned requirements")
        subprocess.run(
            [str(VENV_PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q",
             "-r", str(ROOT / "requirements-dev.txt")],
            check=True,
        )
        marker.write_text(digest)
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])


def manage(*args, env, capture=False):
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], check=True, env=env, cwd=ROOT,
        stdout=subprocess.PIPE if capture else None, text=True,
    )
    return done.stdout


RESTARTS = 5  # of the Celery worker and beat, a minute, before `make run` gives up
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # Ctrl-C, kill, the terminal closed


class Stop:
    """The first SIGINT, SIGTERM or SIGHUP stops `make run`: it raises KeyboardInterrupt in the main
    thread. While a child or an embedded server is being started (`held()`), it is kept and raised
    just after, once the new process is known and will be stopped. Once stopping has begun (that
    first signal, or the final clean-up), further signals are ignored: nothing interrupts the
    stopping of the children, nor, at exit, the release of the embedded servers (atexit handlers)."""

    begun = False
    held = False
    pending = False

    @classmethod
    def on_signal(cls, signum, frame):
        if cls.begun:
            return
        if cls.held:
            cls.pending = True
            return
        cls.begun = True
        raise KeyboardInterrupt


@contextmanager
def held():
    """A stop signal arriving inside is raised at its end (see Stop)."""
    Stop.held = True
    try:
        yield
    finally:
        Stop.held = False
        if Stop.pending and not Stop.begun:
            Stop.begun = True
            raise KeyboardInterrupt


def start(name, args, env):
    say(f"starting {name}")
    # Each child leads its own process group, so stopping it stops its own children too.
    return name, subprocess.Popen(args, env=env, cwd=ROOT, start_new_session=True)


def signal_group(proc, signum):
    try:
        os.killpg(proc.pid, signum)
    except ProcessLookupError:  # nobody is left in the group
        pass


def stop_all(children, timeout=15):
    """SIGTERM to every child's process group; at the deadline SIGKILL to every group, so that what
    a child left behind (a worker's pool processes, the web server's reloaded process) goes too,
    even when the child itself has exited first."""
    for _name, proc in children:
        signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for _name, proc in children:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for _name, proc in children:
        signal_group(proc, signal.SIGKILL)
        proc.wait()


def run():
    sys.path.insert(0, str(ROOT))
    from surveyapp import embedded

    for signum in STOP_SIGNALS:
        signal.signal(signum, Stop.on_signal)
    children = []
    code = 0
    try:
        code = run_until_stopped(embedded, children)
    except KeyboardInterrupt:
        say("stopping")
    finally:
        Stop.begun = True  # a plain assignment: no signal handler can run before it is done
        for signum in STOP_SIGNALS:
            # Ignored from now on, to the end of this process (Python puts back the default
            # handlers, which kill, after the atexit handlers) and by the pg_ctl and redis-cli
            # that stop the embedded servers at exit: Ctrl-C reaches them too, in our process group.
            signal.signal(signum, signal.SIG_IGN)
        stop_all(children)
    return code  # the embedded servers, if any, stop when this process exits (see embedded.py)


def run_until_stopped(embedded, children):
    """Start everything, appending each child to ``children`` as soon as it exists; return when the
    web server or too many restarted children have stopped."""
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    port = env.get("PORT", "8000")
    if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
        say(f"starting the embedded PostgreSQL and Redis (data in {embedded.VAR_DIR})")
    with held():
        embedded.configure(env)  # this process holds the embedded servers until it exits
    env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")

    say("migrating the database")
    manage("migrate", "--noinput", "-v", "0", env=env)
    say("loading questionnaires and demo data")
    banner = manage("seed_demo", env=env, capture=True)
    print(banner, flush=True)

    embedded.VAR_DIR.mkdir(parents=True, exist_ok=True)
    schedule = str(embedded.VAR_DIR / "celerybeat-schedule")
    celery = [sys.executable, "-m", "celery", "-A", "surveyapp"]
    commands = {
        "Celery worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"],
        "Celery beat": [*celery, "beat", "--loglevel", "INFO", "--schedule", schedule],
        "web server": [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"],
    }
    for name, args in commands.items():
        with held():
            children.append(start(name, args, env))
    # A Celery worker can die when its broker connection drops (see the README's Reliability
    # section): like a supervisor would, start the worker or beat again, at most RESTARTS a minute.
    restarts = []
    time.sleep(2)
    print(banner, flush=True)
    say(f"the site is up: http://127.0.0.1:{port}/   (Ctrl-C stops everything)")
    while True:
        time.sleep(0.5)
        dead = [(i, name, proc.returncode) for i, (name, proc) in enumerate(children) if proc.poll() is not None]
        if not dead:
            continue
        restarts = [when for when in restarts if time.monotonic() - when < 60]
        if any(name == "web server" for _, name, _ in dead) or len(restarts) + len(dead) > RESTARTS:
            break
        for i, name, returncode in dead:
            say(f"{name} stopped (exit code {returncode}); starting it again")
            signal_group(children[i][1], signal.SIGKILL)  # whatever it left behind
            with held():
                children[i] = start(name, commands[name], env)
            restarts.append(time.monotonic())
    say(f"{', '.join(name for _, name, _ in dead)} stopped; stopping the rest")
    return 1


def ensure_chromium(env):
    """The browser tests drive Debian's chromium; install it where we may, else say so loudly."""
    import shutil

    path = env.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path and os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing Debian's chromium for the browser tests")
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        path = shutil.which("chromium")
    if path:
        env["CHROMIUM"] = path
    else:
        print("\n" + "!" * 78 + "\n!! chromium is not installed and could not be installed:\n"
              "!! the browser tests will be SKIPPED. Install Debian's chromium to run them.\n" + "!" * 78 + "\n",
              flush=True)


def test(args):
    env = dict(os.environ)
    ensure_chromium(env)
    sys.path.insert(0, str(ROOT))
    from surveyapp import embedded

    if not env.get("DATABASE_URL"):
        url = embedded.machine_database_url()
        if url:
            env["DATABASE_URL"] = url
    if not env.get("REDIS_URL"):
        url = embedded.machine_redis_url(db=15)  # a database of its own, away from other users
        if url:
            env["REDIS_URL"] = url
    where = {
        "PostgreSQL": env.get("DATABASE_URL") or "embedded",
        "Redis": env.get("REDIS_URL") or "embedded",
    }
    # This process holds the embedded servers (if any) while pytest runs; tests use Redis
    # database 15 so that clearing the cache never touches the run command's queues.
    embedded.configure(env, redis_db=15)
    # Names of this run's own: two test runs on one machine must not share a test database,
    # cache keys or a Celery queue.
    env.setdefault("SURVEYAPP_TEST_DB", f"test_surveyapp_{os.getpid()}")
    env.setdefault("CACHE_KEY_PREFIX", f"test{os.getpid()}")
    env.setdefault("CELERY_QUEUE", f"test{os.getpid()}")
    say("tests on " + ", ".join(f"{name} {value}" for name, value in where.items()))
    os.chdir(ROOT)
    return subprocess.run([sys.executable, "-m", "pytest", *args], env=env).returncode


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "test"):
        sys.exit(__doc__)
    ensure_virtualenv()
    command, rest = sys.argv[1], sys.argv[2:]
    sys.exit(run() if command == "run" else test(rest))


if __name__ == "__main__":
    main()
