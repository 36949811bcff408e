"""The production setup a load run goes against: granian, a Celery worker and beat, PostgreSQL, Redis.

    .venv/bin/python bench/serve.py [--database sipas_load] [--port 8100] [--workers 3] [--threads 2]
    .venv/bin/python bench/serve.py --server gunicorn     # the alternative: gthread, 3 processes of 4 threads

Serves the scratch database made by bench/synthetic.py (DATABASE_URL's server, else the machine's
PostgreSQL on 127.0.0.1:5432) with Redis from REDIS_URL, else the machine's on 127.0.0.1:6379
database 13, with its own cache prefix and Celery queue. Settings as in production: DEBUG off, a
random SECRET_KEY, persistent database connections with health checks (CONN_MAX_AGE from
surveyapp/settings.py), HTTPS assumed terminated by a proxy that sets X-Forwarded-Proto (which
bench/load.py sends). It waits for /healthz, prints "ready" and runs until Ctrl-C or SIGTERM, then
stops everything it started.

Why 3 processes of 2 threads on 2 cores: a request is Python work (one core per process under the
GIL) with short waits on PostgreSQL and Redis in between. Three processes keep both cores busy
while one waits and leave PostgreSQL its share; a second thread covers the waits within a process.
granian (HTTP in Rust) took 0.90 ms of the web processes' CPU a submission at 800/s where gunicorn's
gthread workers took 1.12 ms. With gunicorn, sync workers serve one request at a time and close
every connection: in alternating runs at 250 requests/s they fell behind (p50 0.85-1.6 s) where
gthread kept up (p50 3.6-127 ms, the spread being the other work on the shared machine), for about
the same CPU per request. Figures: the README, Benchmarks, Load.
"""

import argparse
import os
import secrets
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from dev import start, stop_all  # noqa: E402  (make run's own process handling)


def environment(database, redis_url=None):
    """The environment of every process of the setup."""
    from surveyapp import embedded

    url = os.environ.get("DATABASE_URL") or embedded.machine_database_url()
    if not url:
        sys.exit("no PostgreSQL: set DATABASE_URL (the load runs against a real server)")
    base, _, query = url.partition("?")
    env = dict(os.environ)
    env.update(
        DATABASE_URL=base.rsplit("/", 1)[0] + f"/{database}" + (f"?{query}" if query else ""),
        REDIS_URL=redis_url or os.environ.get("REDIS_URL") or embedded.machine_redis_url(13) or "",
        DEBUG="0",
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_PROXY_SSL_HEADER_ENABLED="1",
        CACHE_KEY_PREFIX=f"load-{database}",
        CELERY_QUEUE=f"load-{database}",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if not env["REDIS_URL"]:
        sys.exit("no Redis: set REDIS_URL")
    return env


# Tables every submission writes: with autovacuum off, their dead rows pile up (400,000 in the
# pending-change table after three minutes at 800/s) and the latency climbs run after run.
HOT_TABLES = ["scoring_scorepending", "fieldwork_quota", "fieldwork_quotaday", "fieldwork_kioskday",
              "scoring_unitcounts", "scoring_unitscore"]


def keep_vacuumed(env, every, stop):
    """Stand in for autovacuum where the server runs without it (as this project's CI machine does):
    VACUUM the hot tables every ``every`` seconds until ``stop`` is set. A no-op when autovacuum is on."""
    import psycopg2

    conn = psycopg2.connect(env["DATABASE_URL"])
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        if cursor.fetchone()[0] == "on":
            conn.close()
            return
        print(f"==> this PostgreSQL runs with autovacuum off: vacuuming {', '.join(HOT_TABLES)} every {every} s "
              "instead, as autovacuum would", flush=True)
        while not stop.wait(every):
            cursor.execute(f"VACUUM {', '.join(HOT_TABLES)}")
    conn.close()


def forget_queued(env):
    """Drop this setup's Redis keys and queue from an earlier run: bench/synthetic.py makes the database
    anew, and a debounce key of a round of the old one would hold back score runs of the new one."""
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    keys = list(client.scan_iter(match=f"{env['CACHE_KEY_PREFIX']}:*")) + [env["CELERY_QUEUE"].encode()]
    if keys:
        client.delete(*keys)
    client.close()


def wait_healthy(port, children, timeout=60, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for _, proc in children):
            return False
        try:
            request = urllib.request.Request(f"http://{host}:{port}/healthz",
                                             headers={"X-Forwarded-Proto": "https"})
            with urllib.request.urlopen(request, timeout=2) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="sipas_load", help="database made by bench/synthetic.py")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--server", default="granian", choices=["granian", "gunicorn"],
                        help="the WSGI server (default %(default)s, as deployed; gunicorn: the alternative)")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--workers", type=int, default=3, help="web server processes (default %(default)s)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads a process (granian's blocking threads, default 2; gunicorn's gthread, default 4)")
    parser.add_argument("--celery-concurrency", type=int, default=1)
    parser.add_argument("--celery-nice", type=int, default=10,
                        help="the Celery worker's and beat's niceness: score refreshes are background work and "
                             "give way to the kiosks' requests, as production runs them (default %(default)s)")
    parser.add_argument("--no-beat", action="store_true", help="without Celery beat (it queues the 5-minute "
                                                                  "score catch-up, as in production)")
    parser.add_argument("--vacuum-every", type=int, default=30,
                        help="seconds between VACUUMs of the hot tables when the server's autovacuum is off "
                             "(0: never; default %(default)s)")
    args = parser.parse_args()
    if args.threads is None:
        args.threads = 2 if args.server == "granian" else 4

    env = environment(args.database)
    forget_queued(env)
    stop_vacuum = threading.Event()
    if args.vacuum_every:
        threading.Thread(target=keep_vacuumed, args=(env, args.vacuum_every, stop_vacuum), daemon=True).start()
    python = sys.executable
    if args.server == "granian":
        web = ["granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(args.port),
               "--workers", str(args.workers), "--blocking-threads", str(args.threads), "--backlog", "2048",
               "surveyapp.wsgi:application"]
    else:
        web = ["gunicorn", "surveyapp.wsgi", "--bind", f"127.0.0.1:{args.port}",
               "--worker-class", args.worker_class, "--workers", str(args.workers),
               # gunicorn turns sync workers with threads into gthread ones: threads only there
               *(["--threads", str(args.threads)] if args.worker_class == "gthread" else []),
               "--keep-alive", "75", "--backlog", "2048", "--graceful-timeout", "10"]
    celery = ["nice", "-n", str(args.celery_nice), python, "-m", "celery", "-A", "surveyapp"]
    children = [
        start(args.server, [python, "-m", *web], env),
        start("Celery worker", [*celery, "worker", "--loglevel", "WARNING",
                                "--concurrency", str(args.celery_concurrency)], env),
    ]
    if not args.no_beat:
        children.append(start("Celery beat", [*celery, "beat", "--loglevel", "WARNING",
                                              "--schedule", str(ROOT / "var" / "load-celerybeat")], env))

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    code = 1
    try:
        if not wait_healthy(args.port, children):
            print("==> the setup did not become healthy", flush=True)
            return 1
        print(f"==> ready: http://127.0.0.1:{args.port}/ on database {args.database} (Ctrl-C stops)", flush=True)
        while all(proc.poll() is None for _, proc in children):
            time.sleep(0.5)
        dead = [name for name, proc in children if proc.poll() is not None]
        print(f"==> {', '.join(dead)} stopped; stopping the rest", flush=True)
    except KeyboardInterrupt:
        code = 0
    finally:
        stop_vacuum.set()
        stop_all(children)
    return code


if __name__ == "__main__":
    sys.exit(main())
