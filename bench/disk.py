"""How long does this machine's disk take to make a write durable?

    .venv/bin/python bench/disk.py [--dir DIR] [--seconds 60]

Every response is committed before its 201, and PostgreSQL's commit waits for the WAL to reach the
disk (fdatasync). When the disk stalls, every commit in flight waits for it: a stall of 200 ms holds
up every kiosk for 200 ms, whatever the server's speed. This probe writes 8 KiB and calls fdatasync
every 20 ms in DIR (default: the directory above PostgreSQL's data directory when the server runs on
this machine, else var/), and prints the latency percentiles and every stall over 20 ms.

bench/load.py runs the same probe beside its load (``--disk-probe``) and prints, for each 5 s
window, the slowest fdatasync next to the window's p99: a stall shows as both at once.

Seen on this project's machine (a virtual disk): fdatasync takes 0.1-0.2 ms, but in episodes of a
few seconds it takes 20-234 ms; one minute held 1.6 s of such stalls.
"""

import argparse
import os
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

STALL_MS = 20.0


class DiskProbe:
    """A thread timing an 8 KiB write + fdatasync every ``interval`` seconds in ``directory``."""

    def __init__(self, directory, interval=0.02):
        self.path = Path(directory) / f".sipas-disk-probe-{os.getpid()}"
        self.interval = interval
        self.samples = []  # (time.time(), milliseconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()

    def _run(self):
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        block = os.urandom(8192)
        try:
            n = 0
            while not self._stop.wait(self.interval):
                os.pwrite(fd, block, (n % 128) * 8192)
                started = time.perf_counter()
                os.fdatasync(fd)
                self.samples.append((time.time(), (time.perf_counter() - started) * 1000))
                n += 1
        finally:
            os.close(fd)
            self.path.unlink(missing_ok=True)

    def slowest_between(self, since, until):
        """The slowest fdatasync (ms) that ended between two time.time() values, or None."""
        window = [ms for at, ms in self.samples if since <= at < until]
        return max(window) if window else None

    def summary(self):
        latencies = sorted(ms for _, ms in self.samples)
        if not latencies:
            return "disk probe: no samples"
        stalls = [(at, ms) for at, ms in self.samples if ms > STALL_MS]
        span = self.samples[-1][0] - self.samples[0][0] or 1.0
        stalled = sum(ms for _, ms in stalls) / 1000

        def pct(p):
            return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))]
        return (f"disk fdatasync ({len(latencies):,} in {self.path.parent}): p50 {pct(50):.2f} ms, "
                f"p99 {pct(99):.2f} ms, max {latencies[-1]:.0f} ms; {len(stalls)} over {STALL_MS:.0f} ms, "
                f"{stalled:.2f} s in all ({100 * stalled / span:.1f} % of the time)")

    def stalls(self):
        return [(time.strftime("%H:%M:%S", time.gmtime(at)), round(ms)) for at, ms in self.samples if ms > STALL_MS]


def default_directory(database_url=None):
    """The directory above PostgreSQL's data directory when the server is on this machine and we can
    write there (the WAL's disk), else var/."""
    try:
        import psycopg2

        if database_url is None:
            from surveyapp import embedded

            database_url = os.environ.get("DATABASE_URL") or embedded.machine_database_url()
        base, _, query = database_url.partition("?")  # any database of the server will do
        server = base.rsplit("/", 1)[0] + "/postgres" + (f"?{query}" if query else "")
        with psycopg2.connect(server, connect_timeout=3) as conn, conn.cursor() as cursor:
            cursor.execute("SHOW data_directory")
            parent = Path(cursor.fetchone()[0]).parent
        if parent.is_dir() and os.access(parent, os.W_OK):
            return parent
    except Exception:  # not a superuser, another machine, no server: the project's own disk
        pass
    (ROOT / "var").mkdir(exist_ok=True)
    return ROOT / "var"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", help="where to write (default: beside PostgreSQL's data directory, else var/)")
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    probe = DiskProbe(args.dir or default_directory()).start()
    end = time.time() + args.seconds
    while time.time() < end:
        time.sleep(min(5, max(0, end - time.time())))
        recent = probe.slowest_between(time.time() - 5, time.time() + 1)
        print(f"  {time.strftime('%H:%M:%S', time.gmtime())}  slowest fdatasync of the last 5 s: "
              f"{recent if recent is None else round(recent, 1)} ms", flush=True)
    probe.stop()
    print(probe.summary())
    print("stalls (UTC, ms):", probe.stalls())


if __name__ == "__main__":
    main()
