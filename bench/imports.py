"""What does an import cost the process that runs it, for files far larger than real ones?

    .venv/bin/python bench/imports.py [--dossiers 1000000] [--paper 1000] [--units 20000] [--keep]

Builds a scratch database `sipas_bench_imports` on the configured PostgreSQL (DATABASE_URL, else the
machine's on 127.0.0.1:5432), with a province of 100 communes, an open round and an officer, and
writes its files under var/bench-imports/:

* a dossier list of --dossiers broken rows (an unknown unit and an impossible date on every row:
  about 30 MB for a million) and one of as many good rows;
* paper forms: --paper good rows (the upload page's limit), and 100 × --paper broken ones;
* units: --units good rows, and 1,000,000 broken ones.

Then it posts the upload-page files to a real web process (gunicorn, one sync worker, DEBUG off,
as deployed) and runs the commands as processes of their own, and prints for each: the time, the
peak resident memory of the process that did the import (the worker's VmHWM, reset before each
upload; a command's ru_maxrss), the worker's memory before, and the size of the answer page or of
the command's output. The scratch database is dropped at the end unless --keep.
"""

import argparse
import http.client
import os
import resource
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from quota_progress import admin_sql, configure  # noqa: E402  (the scratch database, as the other benches)

DATABASE = "sipas_bench_imports"
FILES = ROOT / "var" / "bench-imports"
PYTHON = sys.executable


# ---------------------------------------------------------------------------------------------
# Data and files


def build():
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from fieldwork.services import round_create
    from units.models import Role, Unit

    call_command("migrate", verbosity=0)
    call_command("load_questionnaires", verbosity=0)
    province = Unit.objects.create(code="08", name="Tỉnh Tuyên Quang", level="province", path="/08/", depth=0)
    Unit.objects.bulk_create(Unit(code=f"08C{c:03d}", name=f"Xã {c}", level="commune", parent=province,
                                  path=f"/08/08C{c:03d}/", depth=1) for c in range(100))
    officer = get_user_model().objects.create_user("officer", password=secrets.token_hex(8))
    Role.objects.create(user=officer, unit=province, kind=Role.Kind.ADMIN)
    return round_create(name="Bench", questionnaire_code="sipas-2017", unit_code="08", open_now=True)


def write(path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(header + "\r\n")
        for row in rows:
            out.write(row + "\r\n")
    return path


def make_files(survey_round, args):
    import random

    from fieldwork.paper import paper_template_csv
    from questionnaires.samples import sample_answers

    FILES.mkdir(parents=True, exist_ok=True)
    files = {}
    n = args.dossiers
    files["dossiers-broken"] = write(FILES / "dossiers-broken.csv", "dossier_code,unit_code,service_field,completed_on",
                                     (f"HS-{i:07d},99999,land,2026-13-01" for i in range(n)))
    files["dossiers-good"] = write(FILES / "dossiers-good.csv", "dossier_code,unit_code,service_field,completed_on",
                                   (f"HS-{i:07d},08C{i % 100:03d},land,2026-10-01" for i in range(n)))
    header = paper_template_csv(survey_round=survey_round).strip()
    columns = [c.strip('"') for c in header.split(",")]
    rng, definition = random.Random(1), survey_round.questionnaire.parsed
    today = time.strftime("%Y-%m-%d")

    def paper_line(i, broken):
        answers = sample_answers(definition, rng)
        cells = {"unit_code": "99999" if broken else f"08C{i % 100:03d}", "form_date": today, "form_id": ""}
        for code, value in answers.items():
            cells[code] = ";".join(value) if isinstance(value, list) else str(value)
        return ",".join('"' + cells.get(c, "").replace('"', '""') + '"' for c in columns)

    files["paper-good"] = write(FILES / "paper-good.csv", ",".join(columns),
                                (paper_line(i, False) for i in range(args.paper)))
    files["paper-broken"] = write(FILES / "paper-broken.csv", ",".join(columns),
                                  (paper_line(i, True) for i in range(100 * args.paper)))
    units_header = "code,name,parent_code,level,valid_from,valid_to"
    files["units-good"] = write(FILES / "units-good.csv", units_header,
                                (f"U{i:06d},Xã {i},08,commune,2025-07-01," for i in range(args.units)))
    files["units-broken"] = write(FILES / "units-broken.csv", units_header,
                                  (f"U{i:06d},Xã {i},08,ward,2025-13-01," for i in range(1_000_000)))
    return files


# ---------------------------------------------------------------------------------------------
# A real web process


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kib(status, field):
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith(field + ":"))


class Worker:
    """gunicorn with one sync worker, as deployed but for the worker count."""

    def __init__(self, env):
        self.port = free_port()
        self.process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "surveyapp.wsgi", "--workers", "1", "--timeout", "1200",
             "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"], cwd=ROOT, env=env)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        self.pid = int(children[0])

    def status(self):
        return Path(f"/proc/{self.pid}/status").read_text()

    def post_file(self, path, fields, url, cookies):
        """Multipart POST streamed from the file; returns (status, answer bytes, seconds, KiB before, peak KiB)."""
        boundary = secrets.token_hex(16)
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                 for k, v in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
                     "Content-Type: text/csv\r\n\r\n")
        head = "".join(parts).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def body():
            yield head
            with path.open("rb") as source:
                while chunk := source.read(1 << 20):
                    yield chunk
            yield tail

        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current size
        before = kib(self.status(), "VmRSS")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1200)
        started = time.perf_counter()
        connection.request("POST", url, body=body(), headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "X-CSRFToken": cookies["csrftoken"],
            "Accept-Language": "vi"})
        response = connection.getresponse()
        answer = response.read()
        seconds = time.perf_counter() - started
        return response.status, answer, seconds, before, kib(self.status(), "VmHWM")

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


def login_cookies():
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(username="officer")
    session = SessionStore()
    session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
                    HASH_SESSION_KEY: user.get_session_auth_hash()})
    session.create()
    return {settings.SESSION_COOKIE_NAME: session.session_key, settings.CSRF_COOKIE_NAME: secrets.token_hex(16)}


def run_command(env, *arguments):
    """(seconds, peak KiB, output bytes, exit code) of a manage.py command in a process of its own."""
    started = time.perf_counter()
    process = subprocess.Popen([PYTHON, "manage.py", *arguments], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss, output, os.waitstatus_to_exitcode(status)


# ---------------------------------------------------------------------------------------------


def mb(kib_value):
    return f"{kib_value / 1024:,.0f} MB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--paper", type=int, default=1000)
    parser.add_argument("--units", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    os.environ.update(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(48), ALLOWED_HOSTS="127.0.0.1",
                      SECURE_SSL_REDIRECT="0", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    admin_url = configure(DATABASE)
    admin_sql(admin_url, f"DROP DATABASE IF EXISTS {DATABASE}")
    admin_sql(admin_url, f"CREATE DATABASE {DATABASE}")
    import django

    django.setup()
    try:
        survey_round = build()
        files = make_files(survey_round, args)
        env = dict(os.environ)  # the web process and the commands: the same settings and database
        print(f"{'import':<44} {'file':>9} {'time':>8} {'peak memory':>12} {'before':>8} {'answer':>10}  outcome")
        report_uploads(env, survey_round, files)
        report_commands(env, survey_round, files)
        print(f"(this bench process: {mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)} peak)")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_sql(admin_url, f"DROP DATABASE IF EXISTS {DATABASE}")


def report_uploads(env, survey_round, files):
    worker = Worker(env)
    try:
        cookies = login_cookies()
        warm = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=60)  # load Django before measuring
        warm.request("GET", f"/rounds/{survey_round.pk}/dossiers/", headers={
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
        warm.getresponse().read()
        uploads = [
            ("upload page: dossier list, broken rows", "dossiers-broken", f"/rounds/{survey_round.pk}/dossiers/",
             {"name": "Bench"}),
            ("upload page: dossier list, good rows", "dossiers-good", f"/rounds/{survey_round.pk}/dossiers/",
             {"name": "Bench"}),
            ("upload page: paper forms, good rows", "paper-good", f"/rounds/{survey_round.pk}/paper/import", {}),
            ("upload page: paper forms, broken rows", "paper-broken", f"/rounds/{survey_round.pk}/paper/import", {}),
        ]
        for name, key, url, fields in uploads:
            status, answer, seconds, before, peak = worker.post_file(files[key], fields, url, cookies)
            outcome = {302: "stored (redirect)", 200: "refused (page with the problems)"}.get(status, f"HTTP {status}")
            if status == 200 and b"data-testid=\"import-errors\"" not in answer:
                outcome = "refused by the form (size)"
            size = files[key].stat().st_size
            print(f"{name:<44} {size / 1e6:>7.1f}MB {seconds:>7.1f}s {mb(peak):>12} {mb(before):>8} "
                  f"{len(answer) / 1e3:>8.1f}kB  {outcome}")
    finally:
        worker.stop()


def report_commands(env, survey_round, files):
    commands = [
        ("import_dossiers, broken rows", "dossiers-broken", ["import_dossiers", "--round", str(survey_round.pk),
                                                             "--name", "cmd", "--user", "officer"]),
        ("import_paper, broken rows", "paper-broken", ["import_paper", "--round", str(survey_round.pk)]),
        ("import_units, 1,000,000 broken rows", "units-broken", ["import_units"]),
        ("import_units, good rows", "units-good", ["import_units"]),
    ]
    for name, key, arguments in commands:
        seconds, peak, output, code = run_command(env, *arguments, str(files[key]))
        size = files[key].stat().st_size
        print(f"{name:<44} {size / 1e6:>7.1f}MB {seconds:>7.1f}s {mb(peak):>12} {'':>8} "
              f"{len(output) / 1e3:>8.1f}kB  {'stored' if code == 0 else 'refused'}")


if __name__ == "__main__":
    main()
