"""The load tools end to end, small: synthetic data in a scratch database, the production-like setup
(granian, Celery), a few seconds of kiosks over HTTP, and the check of every acknowledged id."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg2
import pytest

from surveyapp.settings import database_from_url

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin(sql, database="postgres"):
    db = database_from_url(os.environ["DATABASE_URL"])
    conn = psycopg2.connect(dbname=database, user=db["USER"], password=db["PASSWORD"], host=db["HOST"],
                            port=db["PORT"] or None)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall() if cursor.description else None
    conn.close()
    return rows


@pytest.fixture
def scratch(tmp_path):
    name = f"sipas_load_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield name, tmp_path / "plan.json"
    admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run(*args, timeout=120):
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_synthetic_data_serve_and_load_store_every_acknowledged_response_once(scratch):
    database, plan = scratch
    out = run("bench/synthetic.py", "--database", database, "--communes", "3", "--departments", "1",
              "--responses", "3000", "--plan", str(plan))
    assert "204 units, 34 open rounds" in out
    # The counters submission keeps agree with the responses written by COPY.
    (stored, kiosk_days, unit_quotas, field_quotas), = admin(
        """SELECT (SELECT count(*) FROM fieldwork_response), (SELECT sum(responses) FROM fieldwork_kioskday),
                  (SELECT sum(filled) FROM fieldwork_quota WHERE stratum_item = ''),
                  (SELECT sum(filled) FROM fieldwork_quota WHERE stratum_item = 'E.FIELD')""", database)
    assert (stored, kiosk_days, unit_quotas, field_quotas) == (3000, 3000, 3000, 3000)
    (wrong_kiosk_days, wrong_quotas), = admin(
        """SELECT (SELECT count(*) FROM (SELECT kiosk_id, (received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day,
                                            count(*) AS n FROM fieldwork_response GROUP BY 1, 2) r
                   FULL JOIN fieldwork_kioskday d USING (kiosk_id, day) WHERE r.n IS DISTINCT FROM d.responses),
                  (SELECT count(*) FROM fieldwork_quota q WHERE q.stratum_item = '' AND q.filled <> (
                       SELECT count(*) FROM fieldwork_response r WHERE r.unit_id = q.unit_id))""", database)
    assert (wrong_kiosk_days, wrong_quotas) == (0, 0)

    port = free_port()
    server = subprocess.Popen([sys.executable, "bench/serve.py", "--database", database, "--port", str(port),
                               "--workers", "1", "--threads", "2", "--no-beat"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        for line in server.stdout:
            if "ready:" in line or time.monotonic() > deadline:
                break
        assert server.poll() is None, "the setup stopped"
        out = run("bench/load.py", "--url", f"http://127.0.0.1:{port}", "--plan", str(plan), "--duration", "3",
                  "--warmup", "1", "--rate", "40", "--connections", "4")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    assert "accepted: 120 in " in out, out  # all 120 scheduled in the counted 3 s
    assert "errors: 0" in out and "0 missing, 0 stored twice" in out and ": OK" in out, out
    (new,), = admin("SELECT count(*) - 3000 FROM fieldwork_response", database)
    assert new == 160  # the warm-up second's 40 and the counted 120, each stored once
    assert "disk fdatasync (" in out, out  # the disk probe ran beside the load

    out = run("bench/request_cpu.py", "--plan", str(plan), "--requests", "20", "--warmup", "20")
    assert "answers {'201 Created': 40}" in out, out
    assert "full garbage collection:" in out and "objects of the application's start frozen" in out, out
    (new,), = admin("SELECT count(*) - 3000 FROM fieldwork_response", database)
    assert new == 200


@pytest.mark.parametrize("head, body", [
    (b"http/1.1 201 created\r\ncontent-length: 5\r\n\r\n", b"hello"),
    (b"http/1.1 201 created\r\ntransfer-encoding: chunked\r\n\r\n", b"3\r\nhel\r\n2;x=1\r\nlo\r\n0\r\n\r\n"),
])
def test_the_load_generator_reads_a_whole_answer_and_stops_where_the_next_one_begins(head, body):
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from bench.load import read_body

    async def read():
        reader = asyncio.StreamReader()
        reader.feed_data(body + b"HTTP/1.1 next")
        await read_body(reader, head)
        return await reader.read(13)

    # in a thread of its own: the browser tests' Playwright leaves an event loop running in this one
    with ThreadPoolExecutor(1) as thread:
        assert thread.submit(asyncio.run, read()).result() == b"HTTP/1.1 next"


def test_the_load_generator_shares_its_connections_out_over_the_base_urls_in_turn():
    from bench.load import targets

    assert targets(["http://10.200.1.2:8100", "http://10.200.2.2:8100"], 5) == [
        ("10.200.1.2", 8100), ("10.200.2.2", 8100), ("10.200.1.2", 8100), ("10.200.2.2", 8100), ("10.200.1.2", 8100)]
    assert targets(["http://127.0.0.1"], 2) == [("127.0.0.1", 80), ("127.0.0.1", 80)]
    for wrong in ([], ["https://127.0.0.1:8100"], ["127.0.0.1:8100"]):
        with pytest.raises(ValueError):
            targets(wrong, 1)


def test_the_multihost_bench_gives_each_host_its_own_subnet_and_points_it_at_the_root_side_address():
    from bench.multihost import host_plan, with_host

    assert host_plan(2) == [("sipas-mh1", "smh1r", "smh1n", "10.200.1.1", "10.200.1.2"),
                            ("sipas-mh2", "smh2r", "smh2n", "10.200.2.1", "10.200.2.2")]
    assert all(len(name) <= 15 for _, root, inside, _, _ in host_plan(9) for name in (root, inside))  # IFNAMSIZ
    assert (with_host("postgresql://postgres:secret@127.0.0.1:5432/sipas_multihost?sslmode=disable", "10.200.1.1")
            == "postgresql://postgres:secret@10.200.1.1:5432/sipas_multihost?sslmode=disable")
    assert with_host("redis://127.0.0.1:6379/13", "10.200.2.1") == "redis://10.200.2.1:6379/13"
    assert with_host("redis://localhost/0", "10.200.2.1") == "redis://10.200.2.1/0"
