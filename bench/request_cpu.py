"""What one kiosk submission costs the web process, measured inside it (no HTTP server).

    .venv/bin/python bench/synthetic.py --responses 100000      # once: the scratch database and plan
    .venv/bin/python bench/request_cpu.py [--requests 4000] [--warmup 4000]

Loads the WSGI application as a server does (surveyapp/wsgi.py) against bench/synthetic.py's scratch
database, sends --warmup submissions (so that the kiosks are remembered, as in a running server),
then --requests more, and prints:

* the CPU seconds of the process per request (Django, the view, the database and Redis clients: not
  PostgreSQL's or Redis's own work) and the wall time per request;
* PostgreSQL's side, when the server runs on this machine: the CPU of the connection's backend
  process per request, and the WAL records, bytes and flushes per request (pg_stat_wal, the whole
  server: run it on a quiet machine);
* how long a full garbage collection takes now, with the application's startup objects frozen
  (surveyapp/wsgi.py moves them to the permanent generation), and how long it would take with
  them unfrozen: a full collection holds the GIL, so no request of the process advances meanwhile.

DATABASE_URL / REDIS_URL name the servers (default: the machine's, as bench/serve.py).
"""

import argparse
import gc
import io
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

VIETNAM = timezone(timedelta(hours=7))


def full_collection_ms():
    started = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - started) * 1000


class ServerSide:
    """PostgreSQL's work for the requests: its backend's CPU (from /proc, when it runs here) and the WAL."""

    WAL = "SELECT wal_records, wal_fpi, wal_bytes, wal_sync FROM pg_stat_wal"

    def __init__(self):
        from django.db import connection

        self.connection = connection
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")
        self.cpu, self.wal = self._cpu(), self._wal()

    def _cpu(self):
        try:
            fields = self.stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the server runs elsewhere
            return None
        return int(fields[11]) / os.sysconf("SC_CLK_TCK"), int(fields[12]) / os.sysconf("SC_CLK_TCK")

    def _wal(self):
        with self.connection.cursor() as cursor:
            cursor.execute(self.WAL)
            return cursor.fetchone()

    def report(self, requests):
        cpu, wal = self._cpu(), self._wal()
        records, fpi, size, syncs = (float(b - a) / requests for a, b in zip(self.wal, wal, strict=True))
        backend = "not measured (it runs elsewhere)" if cpu is None else (
            f"{1000 * (sum(cpu) - sum(self.cpu)) / requests:.2f} ms "
            f"({1000 * (cpu[1] - self.cpu[1]) / requests:.2f} of it in the kernel)")
        return (f"PostgreSQL a request: backend CPU {backend}; WAL {records:.1f} records ({fpi:.2f} full pages), "
                f"{size:,.0f} bytes, {syncs:.2f} flushes")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", default=str(ROOT / "var" / "load" / "plan.json"))
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--warmup", type=int, default=4000)
    args = parser.parse_args()
    plan = json.loads(Path(args.plan).read_text())

    from bench.serve import environment

    os.environ.update(environment(plan["database"]))
    from fieldwork.ids import uuid7
    from surveyapp.wsgi import application

    frozen = gc.get_freeze_count()
    rng = random.Random(5)
    statuses = {}

    def submit():
        kiosk = rng.choice(plan["kiosks"])
        now = datetime.now(VIETNAM)
        body = json.dumps({
            "id": str(uuid7()), "round": kiosk["round"], "questionnaire": plan["questionnaire"],
            "started_at": (now - timedelta(seconds=180)).isoformat(), "submitted_at": now.isoformat(),
            "language": "vi", "answers": rng.choice(plan["answers"]),
        }).encode()
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/api/kiosk/v1/responses", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8100", "HTTP_HOST": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http", "HTTP_X_FORWARDED_PROTO": "https", "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)), "HTTP_AUTHORIZATION": f"Kiosk {kiosk['token']}",
            "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
            "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        }

        def start_response(status, headers):
            statuses[status] = statuses.get(status, 0) + 1

        b"".join(application(environ, start_response))

    for _ in range(args.warmup):
        submit()
    server = ServerSide()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(args.requests):
        submit()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{args.requests:,} submissions after {args.warmup:,} to warm up: {1000 * cpu / args.requests:.2f} ms of "
          f"this process's CPU and {1000 * wall / args.requests:.2f} ms wall a request; answers {statuses}")
    print(server.report(args.requests))
    now = full_collection_ms()
    tracked = len(gc.get_objects())
    gc.unfreeze()
    unfrozen = full_collection_ms()
    print(f"full garbage collection: {now:.1f} ms over {tracked:,} objects with the {frozen:,} objects of the "
          f"application's start frozen (surveyapp/wsgi.py); {unfrozen:.1f} ms over {len(gc.get_objects()):,} "
          "objects without freezing them")


if __name__ == "__main__":
    main()
