"""The load generator: many simulated kiosks submitting responses over real HTTP.

    .venv/bin/python bench/load.py [--url http://127.0.0.1:8100] [--duration 60] [--rate 0] [--connections 48]
    .venv/bin/python bench/load.py --url http://10.200.1.2:8100 --url http://10.200.2.2:8100   # two web hosts

Reads the plan made by bench/synthetic.py (the kiosks' device tokens, their rounds and units'
weights, a pool of valid answer sets) and sends ``POST /api/kiosk/v1/responses`` as the kiosks do:
each request from one kiosk with its own token, a new response id, answers drawn from the pool, over
keep-alive HTTP/1.1 connections (one asyncio process with raw sockets, so the generator stays cheap
on the cores it shares with the server). Kiosks are picked by their unit's weight (a few busy desks,
most quiet), each at most --kiosk-max per second (under the per-device limit of the API). With
--url given more than once, the connections are shared out over the base URLs in turn (as a load
balancer would), and the accepted count of each is printed.

--rate 0 sends as fast as the server answers (closed loop over --connections); --rate N schedules N
requests a second and measures each latency from its scheduled time, so a server falling behind
shows in the figures (no coordinated omission). The first --warmup seconds are not counted.

It prints accepted/s every 5 s (with the window's p99, slowest answer, slowest fdatasync of the
disk probe, see bench/disk.py, and how late the generator's own event loop woke), then accepted/s
over the run, latency p50/p95/p99/max, the generator's own delays, the count of each status and
error, and the check against the database: every acknowledged (201) id is stored exactly once, and
no stored row of the run lacks an acknowledgement (or it is named: a request whose answer was lost
after the commit, which the kiosk's retry would turn into a 200).
"""

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from fieldwork.ids import uuid7  # noqa: E402  (no Django: a plain module)

LAG_EVERY = 0.005  # seconds between the event loop's lag probes

VIETNAM = timezone(timedelta(hours=7))


async def read_body(reader, head):
    """Read the body after an HTTP/1.1 head (lower-cased): by its Content-Length, or chunked."""
    at = head.find(b"content-length:")
    if at >= 0:
        await reader.readexactly(int(head[at + 15: head.find(b"\r\n", at)]))
    elif b"transfer-encoding: chunked" in head:
        while size := int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")  # the end of the last (empty) chunk: no trailers are sent


class Kiosks:
    """Picks the next kiosk by weight, skipping those that sent less than 1/kiosk_max s ago."""

    def __init__(self, kiosks, kiosk_max, rng):
        self.kiosks = kiosks
        self.gap = 1.0 / kiosk_max
        self.rng = rng
        self.next_free = [0.0] * len(kiosks)
        self.cumulative = []
        total = 0.0
        for kiosk in kiosks:
            total += kiosk["weight"]
            self.cumulative.append(total)
        self.draws = []

    def pick(self, now):
        for _ in range(50):
            if not self.draws:
                self.draws = self.rng.choices(range(len(self.kiosks)), cum_weights=self.cumulative, k=10000)
            i = self.draws.pop()
            if self.next_free[i] <= now:
                self.next_free[i] = now + self.gap
                return self.kiosks[i]
        return None  # the busy ones are all resting: the caller waits a moment


def targets(urls, connections):
    """The (host, port) each of ``connections`` connections goes to: the base URLs in turn."""
    if not urls:
        raise ValueError("no base URL")
    addresses = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"not an http:// base URL: {url!r}")
        addresses.append((parts.hostname, parts.port or 80))
    return [addresses[i % len(addresses)] for i in range(connections)]


class Run:
    def __init__(self, args, plan):
        self.args = args
        self.plan = plan
        self.targets = targets(args.url, args.connections)
        self.ports = sorted({port for _, port in self.targets})
        rng = random.Random(args.seed)
        kiosks = plan["kiosks"][: args.kiosks] if args.kiosks else plan["kiosks"]
        self.kiosks = Kiosks(kiosks, args.kiosk_max, rng)
        self.answers = [json.dumps(a, ensure_ascii=False, separators=(",", ":")) for a in plan["answers"]]
        self.rng = rng
        self.statuses = Counter()  # counted requests only
        self.latencies = []
        self.acked = []  # ids answered 201 (whole run, warm-up too)
        self.acked_by_target = Counter()  # "host:port" -> 201 answers (whole run)
        self.unanswered = []  # ids sent whose answer never came (connection lost, timeout)
        self.sent = 0
        self.counting_from = self.stop_at = 0.0
        self.slot = 0
        self._clock = (0, "")
        self.watch = None  # called every 5 s (to follow the server's processes)
        self.disk = None  # a bench.disk.DiskProbe running beside the load, if any
        self.last_done = 0.0
        self.lags = []  # how late the event loop woke for a timer, every LAG_EVERY seconds (see lag_probe)
        self._lag_mark = 0

    def stamp(self):
        second = int(time.time())
        if self._clock[0] != second:
            self._clock = (second, datetime.fromtimestamp(second, VIETNAM).isoformat())
        return self._clock[1]

    def request(self, kiosk, response_id, host, port):
        submitted = self.stamp()
        started = (datetime.fromisoformat(submitted) - timedelta(seconds=180)).isoformat()
        body = (f'{{"id":"{response_id}","round":{kiosk["round"]},"questionnaire":"{self.plan["questionnaire"]}",'
                f'"started_at":"{started}","submitted_at":"{submitted}","language":"vi",'
                f'"answers":{self.answers[self.rng.randrange(len(self.answers))]}}}').encode()
        head = (f"POST /api/kiosk/v1/responses HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: Kiosk {kiosk['token']}\r\nContent-Type: application/json\r\n"
                f"X-Forwarded-Proto: https\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        return head + body

    async def next_turn(self):
        """When to send the next request (None when the run is over) and the time latency counts from."""
        if self.args.rate:
            due = self.started + self.slot / self.args.rate
            self.slot += 1
            if due >= self.stop_at:
                return None
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            return due
        now = time.perf_counter()
        return None if now >= self.stop_at else now

    async def connection(self, host, port):
        reader = writer = None
        while True:
            due = await self.next_turn()
            if due is None:
                break
            kiosk = self.kiosks.pick(time.monotonic())
            while kiosk is None:
                await asyncio.sleep(0.01)
                kiosk = self.kiosks.pick(time.monotonic())
            response_id = str(uuid7())  # as a kiosk makes it, at Submit
            counted = due >= self.counting_from
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(self.request(kiosk, response_id, host, port))
                self.sent += 1
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.args.timeout)
                status = int(head[9:12])
                lower = head.lower()
                await asyncio.wait_for(read_body(reader, lower), self.args.timeout)
                if b"connection: close" in lower:
                    writer.close()
                    reader = writer = None
            except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
                self.unanswered.append(response_id)
                if counted:
                    self.statuses[type(error).__name__] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.05)
                continue
            if status == 201:
                self.acked.append(response_id)
                self.acked_by_target[f"{host}:{port}"] += 1
            if counted:
                self.statuses[status] += 1
                self.last_done = time.perf_counter()
                self.latencies.append(self.last_done - due)
        if writer is not None:
            writer.close()

    async def lag_probe(self):
        """The generator's own delay: how late its event loop wakes for a timer. Every latency it
        measures includes such a delay, which is the generator waiting for a core (it shares the
        machine with the server), not the server answering late."""
        while True:
            before = time.perf_counter()
            await asyncio.sleep(LAG_EVERY)
            late = time.perf_counter() - before - LAG_EVERY
            if before >= self.counting_from:
                self.lags.append(late)

    async def progress(self):
        """Every 5 s: the accepted rate, and the p99 and the slowest answer of the window, so that a
        stall shows when it happened (beside the disk probe's slowest fdatasync)."""
        self._window = (time.perf_counter(), 0, 0)
        while True:
            await asyncio.sleep(5)
            if self.watch:
                self.watch()
            self.print_window()

    def print_window(self):
        last_time, last_count, last_answer = self._window
        now, count = time.perf_counter(), len(self.acked)
        window = sorted(self.latencies[last_answer:])
        slowest = (f"p99 {percentile(window, 99) * 1000:6.1f} ms  max {window[-1] * 1000:6.1f} ms  "
                   if window else "")
        if self.disk is not None:
            disk = self.disk.slowest_between(time.time() - (now - last_time), time.time())
            slowest += f"disk {disk:6.1f} ms  " if disk is not None else ""
        lags, self._lag_mark = self.lags[self._lag_mark:], len(self.lags)
        slowest += f"loop late {max(lags) * 1000:5.1f} ms  " if lags else ""
        print(f"  {now - self.started:5.0f} s  {datetime.now(UTC):%H:%M:%S}  "
              f"{(count - last_count) / max(now - last_time, 1e-9):7.0f} accepted/s  {slowest}({count:,} so far)",
              flush=True)
        self._window = (now, count, last_answer + len(window))

    async def run(self):
        self.started = time.perf_counter()
        self.counting_from = self.started + self.args.warmup
        self.stop_at = self.counting_from + self.args.duration
        self.wall_start = datetime.now(UTC)
        tasks = [asyncio.create_task(self.connection(host, port)) for host, port in self.targets]
        watchers = [asyncio.create_task(self.progress()), asyncio.create_task(self.lag_probe())]
        await asyncio.gather(*tasks)
        for watcher in watchers:
            watcher.cancel()
        self.print_window()  # the last window: the end of the run and its stragglers
        self.wall_end = datetime.now(UTC)


def _cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def server_processes(ports, database_url):
    """{name: [pids]} of this machine's server side: the web servers on the ports (gunicorn, or granian
    with its worker processes; in any network namespace), the Celery workers of the same database,
    and the PostgreSQL backends connected to it (to share the CPU out per response)."""
    groups = {"web": [], "celery": [], "postgres": []}
    parents = {}
    database = urlsplit(database_url).path.lstrip("/")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parents[int(entry)] = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            pass
        if any(("gunicorn" in cmdline and f":{port} " in f"{cmdline} ")
               or ("granian" in cmdline and f"--port {port} " in cmdline) for port in ports):
            groups["web"].append(int(entry))
        elif "celery" in cmdline and "worker" in cmdline and f"/{database}".encode() in environ:
            groups["celery"].append(int(entry))
        elif cmdline.startswith("postgres: ") and f" {database} " in cmdline:
            groups["postgres"].append(int(entry))
    masters = set(groups["web"])
    groups["web"] += [pid for pid, parent in parents.items() if parent in masters and pid not in masters]
    return groups


def cpu_by_group(groups):
    return {name: {pid: _cpu_seconds(pid) for pid in pids} for name, pids in groups.items()}


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))]


def check_database(database_url, run):
    """Every acknowledged id stored exactly once; the run's stored rows without an acknowledgement."""
    import io

    import psycopg2

    from surveyapp.settings import database_from_url

    db = database_from_url(database_url)
    conn = psycopg2.connect(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"],
                            port=db["PORT"] or None)
    with conn, conn.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE acked (id uuid PRIMARY KEY)")
        cursor.copy_expert("COPY acked FROM STDIN", io.StringIO("".join(f"{i}\n" for i in run.acked)))
        cursor.execute("SELECT count(*) FROM acked a JOIN fieldwork_response r ON r.id = a.id")
        found = cursor.fetchone()[0]
        # The primary key makes a second copy impossible; the query shows it rather than assume it.
        cursor.execute("SELECT count(*) FROM (SELECT r.id FROM fieldwork_response r JOIN acked a ON a.id = r.id "
                       "GROUP BY r.id HAVING count(*) > 1) d")
        doubled = cursor.fetchone()[0]
        cursor.execute("SELECT r.id::text FROM fieldwork_response r WHERE r.received_at >= %s "
                       "AND NOT EXISTS (SELECT 1 FROM acked a WHERE a.id = r.id)", [run.wall_start])
        extra = [row[0] for row in cursor.fetchall()]
    conn.close()
    lost_answers = set(run.unanswered)
    unexplained = [i for i in extra if i not in lost_answers]
    return {"acked": len(run.acked), "found": found, "missing": len(run.acked) - found, "doubled": doubled,
            "extra": len(extra), "extra_explained": len(extra) - len(unexplained), "unexplained": unexplained}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", action="append",
                        help="the server's base URL (default http://127.0.0.1:8100); given more than once, "
                             "the connections are shared out over them in turn")
    parser.add_argument("--plan", default=str(ROOT / "var" / "load" / "plan.json"))
    parser.add_argument("--duration", type=float, default=60, help="counted seconds (default %(default)s)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds first, not counted (default %(default)s)")
    parser.add_argument("--rate", type=float, default=0, help="requests per second; 0: as fast as possible")
    parser.add_argument("--connections", type=int, default=48, help="keep-alive connections (default %(default)s)")
    parser.add_argument("--kiosks", type=int, default=0, help="use only the first N kiosks of the plan")
    parser.add_argument("--kiosk-max", type=float, default=1.0, help="requests per second per kiosk at most")
    parser.add_argument("--timeout", type=float, default=10, help="seconds to wait for an answer")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--disk-probe", nargs="?", const="auto", default="auto", metavar="DIR",
                        help="time an fdatasync every 20 ms in DIR beside the load (default: beside PostgreSQL's "
                             "data directory, see bench/disk.py); 'off' for none")
    parser.add_argument("--database-url", help="where to check the ids (default: the plan's database on "
                                               "DATABASE_URL's server or 127.0.0.1:5432)")
    args = parser.parse_args()
    args.url = args.url or ["http://127.0.0.1:8100"]
    try:
        targets(args.url, 1)
    except ValueError as error:
        parser.error(str(error))
    plan = json.loads(Path(args.plan).read_text())

    url = args.database_url
    if not url:
        from surveyapp import embedded

        server = os.environ.get("DATABASE_URL") or embedded.machine_database_url()
        base, _, query = server.partition("?")
        url = base.rsplit("/", 1)[0] + f"/{plan['database']}" + (f"?{query}" if query else "")
    run = Run(args, plan)
    mode = f"{args.rate:.0f} requests/s scheduled" if args.rate else "as fast as possible"
    print(f"{len(run.kiosks.kiosks):,} kiosks, {args.connections} connections, {mode}, "
          f"{args.warmup:.0f} s warm-up + {args.duration:.0f} s against {', '.join(args.url)}", flush=True)
    cpu_before = os.times()
    server_before = cpu_by_group(server_processes(run.ports, url))
    # Database connections come and go (CONN_MAX_AGE): follow them every 5 s, keep the last CPU seen.
    server_after = {name: dict(pids) for name, pids in server_before.items()}

    def watch():
        for name, pids in cpu_by_group(server_processes(run.ports, url)).items():
            server_after[name].update(pids)

    run.watch = watch
    if args.disk_probe != "off":
        from bench.disk import DiskProbe, default_directory

        run.disk = DiskProbe(default_directory(url) if args.disk_probe == "auto" else args.disk_probe).start()
    try:  # libuv's event loop (requirements-dev.txt) costs the generator less of the cores it shares
        import uvloop
    except ImportError:
        asyncio.run(run.run())
    else:
        uvloop.run(run.run())
    if run.disk is not None:
        run.disk.stop()
    cpu = os.times()
    watch()
    cpu_used = (cpu.user - cpu_before.user) + (cpu.system - cpu_before.system)

    latencies = sorted(run.latencies)
    accepted = run.statuses.get(201, 0)
    errors = {k: v for k, v in run.statuses.items() if k != 201}
    # A server falling behind a fixed rate answers the last requests after the scheduled end.
    took = max(args.duration, run.last_done - run.counting_from)
    print(f"\naccepted: {accepted:,} in {took:.0f} s = {accepted / took:,.0f}/s "
          f"(sent {run.sent:,} in all, warm-up included)"
          + (f"; {args.rate:.0f}/s scheduled: the server fell behind" if args.rate and took > args.duration + 1
             else ""))
    print("latency ms: " + "  ".join(f"p{p} {percentile(latencies, p) * 1000:.1f}" for p in (50, 95, 99))
          + f"  max {latencies[-1] * 1000 if latencies else float('nan'):.1f}")
    print(f"statuses: {dict(sorted(run.statuses.items(), key=str))}; errors: {sum(errors.values())}")
    if len(args.url) > 1:
        print("accepted per host (whole run): " + ", ".join(
            f"{target} {run.acked_by_target[target]:,}" for target in sorted({f"{h}:{p}" for h, p in run.targets})))
    if run.disk is not None:
        # A commit waits for the WAL's fdatasync: a disk stall holds up every request in flight.
        print(run.disk.summary())
        worst = max((ms for _, ms in run.disk.samples), default=0.0)
        if worst > 50:
            print(f"note: the disk stalled for up to {worst:.0f} ms during the run, and every commit in flight "
                  "waited for it: no p99 under 50 ms can be expected from this run (bench/disk.py)")
    lags = sorted(run.lags)
    if lags:
        print(f"generator's own delay (its event loop woke late for a {LAG_EVERY * 1000:.0f} ms timer, counted part): "
              f"p50 {percentile(lags, 50) * 1000:.1f} ms, p99 {percentile(lags, 99) * 1000:.1f} ms, "
              f"max {lags[-1] * 1000:.1f} ms; the latencies above include such delays")
    print(f"generator CPU: {cpu_used:.1f} s ({100 * cpu_used / (args.duration + args.warmup):.0f} % of one core)")

    used = {name: sum(seconds - server_before[name].get(pid, 0.0) for pid, seconds in pids.items())
            for name, pids in server_after.items()}
    sent = max(run.sent, 1)
    print("server CPU per request (whole run): " + ", ".join(
        f"{name} {1000 * seconds / sent:.2f} ms" for name, seconds in used.items())
        + f"; in all {1000 * sum(used.values()) / sent:.2f} ms, so 2 cores could serve about "
        f"{2 * sent / max(sum(used.values()) + cpu_used, 1e-9):,.0f}/s with this generator beside them")
    result = check_database(url, run)
    ok = result["missing"] == 0 and result["doubled"] == 0 and not result["unexplained"]
    print(f"check: {result['acked']:,} acknowledged, {result['found']:,} of them stored, {result['missing']} missing, "
          f"{result['doubled']} stored twice; {result['extra']} stored rows of the run without a 201 "
          f"({result['extra_explained']} whose answer was lost after the commit"
          + (f", unexplained: {result['unexplained'][:5]}" if result["unexplained"] else "")
          + f"): {'OK' if ok else 'FAILED'}")
    return 0 if ok and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
