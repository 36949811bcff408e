"""How long do 100,000 invitations take to create and queue, and how fast does one worker send them?

    .venv/bin/python bench/invitations.py [--invitations 100000] [--seconds 30] [--rate 0] [--no-send]
                                          [--database NAME] [--keep]

Builds a scratch database `sipas_bench_invitations` on the configured PostgreSQL (DATABASE_URL, else
the machine's on 127.0.0.1:5432) with a province of 100 communes, an open round, a dossier list of
--invitations dossiers and a sample of all of them. Then it times, in this process:

* ``invitations_create`` (one invitation per sampled dossier, bulk SQL);
* ``contacts_import`` of a CSV with a phone number for every dossier;
* ``invitations_queue`` for SMS: the claim (one UPDATE) and one task a message sent to Redis;
* the round's progress, answering at home (``invitation_progress`` and the page's merge with the
  quotas: one grouped query), with the invitations' states set in SQL to a plausible mix (90 %
  sent, 5 % failed, 70 % delivered, 30 % opened, 20 % completed, four service fields), best of 5;
  then counting the failed ones "resend failed" would take, and taking them.

Then it starts a local HTTP server speaking the SMS gateway's shape (fieldwork/senders.py) and one
Celery worker (``--pool solo``, as tests/workers.py) and counts the messages sent for --seconds:
the send rate one worker sustains (--no-send skips it). --rate sets the token bucket's rate (0: no limit worth the name,
so the figure is the worker's own). Prints the figures with the date. The queue (a name of its own)
is emptied and the scratch database dropped at the end unless --keep.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from quota_progress import admin_sql, configure  # noqa: E402  (the scratch database, as the other benches)

DATABASE = "sipas_bench_invitations"
QUEUE = f"bench-invitations-{os.getpid()}"


def build(count):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from fieldwork.sampling import dossier_list_import, sample_draw
    from fieldwork.services import round_create
    from units.models import Role, Unit

    call_command("migrate", verbosity=0)
    call_command("load_questionnaires", verbosity=0)
    province = Unit.objects.create(code="08", name="Tỉnh Tuyên Quang", level="province", path="/08/", depth=0)
    Unit.objects.bulk_create(Unit(code=f"08C{c:03d}", name=f"Xã {c}", level="commune", parent=province,
                                  path=f"/08/08C{c:03d}/", depth=1) for c in range(100))
    officer = get_user_model().objects.create_user("officer", password="x")
    Role.objects.create(user=officer, unit=province, kind=Role.Kind.ADMIN)
    survey_round = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017-r2026", unit_code="08",
                                open_now=True)
    text = "dossier_code,unit_code,service_field,completed_on\n" + "".join(
        f"HS-{i:07d},08C{i % 100:03d},land,2026-11-01\n" for i in range(count))
    dossiers = dossier_list_import(survey_round=survey_round, name="Hồ sơ", text=text, user=officer)
    sample = sample_draw(dossier_list=dossiers, size=count, seed=1, strata=(), user=officer)
    return survey_round, sample


def timed(label, function, **kwargs):
    started = time.perf_counter()
    result = function(**kwargs)
    seconds = time.perf_counter() - started
    print(f"  {label:<44} {seconds:7.2f} s   ({result:,})", flush=True)
    return result, seconds


class Gateway(BaseHTTPRequestHandler):
    count = 0
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        with Gateway.lock:
            Gateway.count += 1
            number = Gateway.count
        raw = json.dumps({"id": f"sms-{number}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def send_rate(seconds, rate):
    """Messages a second one solo worker sends to the local gateway, over ``seconds`` after its first."""
    from fieldwork.models import Invitation

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**os.environ, "CELERY_QUEUE": QUEUE, "SMS_GATEWAY_URL": f"http://127.0.0.1:{server.server_address[1]}/sms",
           "INVITATION_SMS_RATE": str(rate or 1_000_000), "INVITATION_SEND_BURST": "10", "LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "surveyapp", "worker", "--pool", "solo",
                               "-n", f"{QUEUE}@localhost", "--loglevel", "WARNING", "--without-mingle",
                               "--without-gossip"], env=env, cwd=ROOT, start_new_session=True,
                              stdout=subprocess.DEVNULL)
    try:
        while not Invitation.objects.filter(sent_at__isnull=False).exists():
            time.sleep(0.1)
        start_count, started = Invitation.objects.filter(sent_at__isnull=False).count(), time.perf_counter()
        time.sleep(seconds)
        sent = Invitation.objects.filter(sent_at__isnull=False).count() - start_count
        elapsed = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        server.shutdown()
    return sent, elapsed


def states(survey_round):
    """A plausible mix of states over the round's invitations, in a few statements."""
    from django.db import connection

    from fieldwork.models import Dossier, Invitation

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Dossier._meta.db_table} SET service_field = "
                       "(ARRAY['land','transport','justice','construction'])[1 + id % 4]")
        cursor.execute(
            f"UPDATE {Invitation._meta.db_table} SET "
            "sent_at = CASE WHEN id %% 20 < 18 THEN now() END, "
            "failed_at = CASE WHEN id %% 20 = 18 THEN now() END, "
            "failure_temporary = (id %% 40 = 18), "
            "delivered_at = CASE WHEN id %% 10 < 7 THEN now() END, "
            "opened_at = CASE WHEN id %% 10 < 3 THEN now() END, "
            "completed_at = CASE WHEN id %% 10 < 2 THEN now() END WHERE round_id = %s", [survey_round.pk])
        cursor.execute("ANALYZE")


def progress_time(survey_round, repeats=5):
    """Best of ``repeats``: the at-home progress and its merge with the quotas, as the page does."""
    from fieldwork import selectors
    from fieldwork.views import _at_home

    best = None
    for _i in range(repeats):
        started = time.perf_counter()
        at_home = _at_home(survey_round, selectors.quota_progress(survey_round))
        seconds = time.perf_counter() - started
        best = seconds if best is None else min(best, seconds)
    print(f"  {'progress, at home (1 grouped query), best':<44} {best * 1000:7.1f} ms "
          f"({len(at_home['units'])} units, {len(at_home['strata'])} strata, "
          f"{at_home['total']['sent']:,} sent, {at_home['total']['completed']:,} completed)", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=0, help="the SMS token bucket's rate (0: unlimited)")
    parser.add_argument("--no-send", action="store_true", help="skip the worker's send rate")
    parser.add_argument("--database", default=DATABASE, help="the scratch database's name")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    os.environ["CELERY_QUEUE"] = QUEUE
    os.environ["INVITATION_SMS_SENDER"] = "fieldwork.senders.SmsGatewaySender"  # its gateway is set in send_rate
    database = args.database
    admin_url = configure(database)
    admin_sql(admin_url, f"DROP DATABASE IF EXISTS {database}")
    admin_sql(admin_url, f"CREATE DATABASE {database}")
    import django

    django.setup()
    from django.conf import settings

    from fieldwork.invitations import (
        contacts_import,
        invitations_create,
        invitations_queue,
        invitations_resend,
        invitations_resendable,
    )

    try:
        now = datetime.datetime.now(datetime.UTC)
        print(f"{now:%Y-%m-%d %H:%M} UTC: {args.invitations:,} invitations, {os.cpu_count()} cores")
        survey_round, sample = build(args.invitations)
        timed("create (invitations_create)", invitations_create, sample=sample)
        text = "dossier_code,phone\n" + "".join(f"HS-{i:07d},09{i:08d}\n" for i in range(args.invitations))
        timed("upload contacts (contacts_import)", contacts_import, survey_round=survey_round, text=text)
        timed("queue for SMS (invitations_queue)", invitations_queue, survey_round=survey_round, channel="sms")
        if not args.no_send:
            sent, elapsed = send_rate(args.seconds, args.rate)
            limit = f"bucket at {args.rate:g}/s" if args.rate else "no rate limit"
            print(f"  one solo worker, {limit}: {sent:,} sent in {elapsed:.1f} s = {sent / elapsed:,.0f} messages/s")
        states(survey_round)
        progress_time(survey_round)
        timed("failed ones to resend (invitations_resendable)", invitations_resendable, survey_round=survey_round)
        timed("resend failed (invitations_resend)", invitations_resend, survey_round=survey_round)
    finally:
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(QUEUE)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_sql(admin_url, f"DROP DATABASE IF EXISTS {database}")


if __name__ == "__main__":
    main()
