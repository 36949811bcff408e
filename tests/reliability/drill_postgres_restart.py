"""Drill: PostgreSQL crashes and restarts while kiosks submit.

A private PostgreSQL cluster (never the machine's), the app under granian (or gunicorn) on it, and
kiosks whose outboxes send responses over HTTP and resend each one (same id) until it is acknowledged. Midway
the server is stopped at once (``pg_ctl -m immediate``: no checkpoint, as a crash or a power cut)
and started again. Afterwards every response is in the database exactly once, and every one that
was acknowledged is there.

Run it alone: ``.venv/bin/python -m tests.reliability.drill_postgres_restart`` (the test suite runs
it too: tests/reliability/test_postgres_restart.py).
"""

import datetime
import os
import subprocess
import sys
import threading
import time
import uuid

import psycopg2

from tests.reliability.processes import ROOT, Outbox, PrivatePostgres, django_env, web_server

QUESTIONNAIRE = "sipas-2017"


def manage(env, *args):
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def answers():
    from tests.fieldwork.base import full_answers

    return full_answers(QUESTIONNAIRE)


def body(round_id):
    now = datetime.datetime.now(datetime.UTC)
    return {"id": str(uuid.uuid4()), "round": round_id, "questionnaire": QUESTIONNAIRE,
            "started_at": (now - datetime.timedelta(minutes=3)).isoformat(), "submitted_at": now.isoformat(),
            "language": "vi", "answers": answers()}


def prepare(env):
    """Schema, questionnaires, two communes of a province, an open round and two kiosks."""
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "load_questionnaires")
    units = ROOT / "var" / f"drill-units-{os.getpid()}.csv"
    units.parent.mkdir(exist_ok=True)
    units.write_text("code,name,parent_code,level,valid_from,valid_to\n08,Tỉnh Tuyên Quang,,province,,\n"
                     "02212,Xã Sơn Dương,08,commune,,\n02230,Phường Minh Xuân,08,commune,,\n", encoding="utf-8")
    try:
        manage(env, "import_units", str(units))
    finally:
        units.unlink(missing_ok=True)
    round_id = int(manage(env, "round_create", "--name", "Drill", "--questionnaire", QUESTIONNAIRE, "--unit", "08",
                          "--open").split()[-1])
    tokens = [manage(env, "kiosk_create", "--unit", code, "--name", f"Drill {code}").split()[-1]
              for code in ("02212", "02230")]
    return round_id, tokens


def run(responses_per_kiosk=300, crash_after=0.25, down_for=2.0, log=print, server="granian"):
    pg = PrivatePostgres()
    started = time.monotonic()
    try:
        pg.init()
        redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:1/0"  # (a Redis that is down is fine too)
        drill = uuid.uuid4().hex[:8]
        env = django_env(DATABASE_URL=pg.url, REDIS_URL=redis_url, CELERY_QUEUE=f"drill{drill}",
                         CACHE_KEY_PREFIX=f"drill{drill}", KIOSK_RATE_LIMIT_PER_MINUTE="100000")
        round_id, tokens = prepare(env)
        log(f"private PostgreSQL on port {pg.port} ready in {time.monotonic() - started:.1f} s")
        with web_server(env, workers=2, server=server) as site:
            outboxes = [Outbox(site, token, pause=0.25, deadline=120) for token in tokens]
            bodies = [[body(round_id) for _ in range(responses_per_kiosk)] for _ in tokens]
            senders = [threading.Thread(target=o.send_all, args=(b, 2)) for o, b in zip(outboxes, bodies, strict=True)]
            began = time.monotonic()
            for s in senders:
                s.start()
            # Crash once a quarter of the responses are in: the rest meet the crash or come after it.
            wait = time.monotonic() + 30
            while (count_rows(pg) or 0) < crash_after * len(tokens) * responses_per_kiosk and time.monotonic() < wait:
                time.sleep(0.01)
            stored_before = count_rows(pg)
            pg.crash()
            crashed = time.monotonic()
            log(f"crashed PostgreSQL after {crashed - began:.1f} s, with {stored_before} responses stored")
            time.sleep(down_for)
            pg.start()
            log(f"PostgreSQL back after {time.monotonic() - crashed:.1f} s")
            for s in senders:
                s.join()
            took = time.monotonic() - began
        sent = [b["id"] for bs in bodies for b in bs]
        acknowledged = {i for o in outboxes for i in o.acknowledged}
        rows = stored_ids(pg)
        failures = [f for o in outboxes for f in o.failures]
        result = {
            "sent": len(sent), "acknowledged": len(acknowledged), "rows": len(rows), "distinct": len(set(rows)),
            "missing": sorted(set(sent) - set(rows)), "extra": sorted(set(rows) - set(sent)),
            "conflicts": [c for o in outboxes for c in o.conflicts.items()],
            "attempts": sum(o.attempts for o in outboxes), "failed_attempts": len(failures),
            "failure_kinds": sorted({str(status) for status, _ in failures}), "seconds": round(took, 1),
        }
        log(f"{result['sent']} responses sent by {len(tokens)} kiosks in {took:.1f} s, {result['attempts']} "
            f"attempts of which {result['failed_attempts']} failed ({', '.join(result['failure_kinds']) or '-'}); "
            f"{result['rows']} rows, {result['distinct']} distinct, missing {len(result['missing'])}, "
            f"extra {len(result['extra'])}")
        return result
    finally:
        pg.destroy()


def _connect(pg):
    return psycopg2.connect(host="127.0.0.1", port=pg.port, user="postgres", dbname="drill")


def count_rows(pg):
    try:
        with _connect(pg) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM fieldwork_response")
            return cursor.fetchone()[0]
    except psycopg2.Error:
        return None


def stored_ids(pg):
    with _connect(pg) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id::text FROM fieldwork_response")
        return [row[0] for row in cursor.fetchall()]


if __name__ == "__main__":
    # (Django is set up only to read the questionnaire's answers; the drill's processes have their own.)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "surveyapp.settings")
    os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/unused")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")
    import django

    django.setup()
    outcome = run()
    ok = (outcome["rows"] == outcome["distinct"] == outcome["sent"] == outcome["acknowledged"]
          and not outcome["conflicts"])
    print("OK: every response stored exactly once" if ok else f"FAILED: {outcome}")
    sys.exit(0 if ok else 1)
