"""More than one machine: two web hosts and two Celery workers against one PostgreSQL and one Redis.

    sudo .venv/bin/python bench/multihost.py [--rate 300] [--duration 30] [--responses 20000]

Needs root (network namespaces) and socat. On this one machine each "host" is a network namespace
(sipas-mh1, sipas-mh2) joined to the root namespace by a veth pair in a /24 of its own
(10.200.N.1 on the root side, 10.200.N.2 inside). PostgreSQL and Redis stay as they run here, on
127.0.0.1 only (their listen addresses are shared with everyone else's work on the machine, so they
are not changed): a socat relay in the root namespace, bound to each root-side veth address, forwards
10.200.N.1:5432 and :6379 to them, and the hosts are configured with those addresses, as a real host
would be with the database server's.

In each namespace: granian (as bench/serve.py runs it, bound to the namespace's address) and a
Celery worker on the shared queue; one Celery beat (in the first namespace: a deployment runs ONE).
The database is a scratch one made anew by bench/synthetic.py (--database, default sipas_multihost),
without scores: the first run of each round counts everything while the submissions land (it starts
at once), the next ones add the changes (MIN_INTERVAL later), so both kinds meet concurrent writes.
bench/load.py then runs in the root namespace with one --url per host (the connections shared out
in turn, as a load balancer would) and checks every acknowledged response stored exactly once.
After the load, this waits until every pending score change has been taken in by a refresh of the
workers (no pending change, no queued or running run) and compares each round's stored UnitScore
rows with a full recompute (scoring.engine.compute_round(full=True)) by
tests/scoring/test_incremental.py's own stored_scores and full_scores.

Whatever happens (failure, Ctrl-C, SIGTERM, SIGHUP) it stops every process it started and deletes
the namespaces and veths; leftovers of a killed earlier run are removed first. The scratch database
is left for inspection (bench/synthetic.py drops it the next time). Exit status 0 only when the load
had no error, the check passed and the scores agree.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from dev import start, stop_all  # noqa: E402  (make run's own process handling)

from bench.serve import environment, forget_queued, keep_vacuumed, wait_healthy  # noqa: E402

PREFIX = "sipas-mh"  # namespaces sipas-mh1, sipas-mh2; veths smh1r (root side) / smh1n (inside)
SUBNET = "10.200.{n}"  # 10.200.N.0/24 for host N: .1 the root side, .2 the host
PORT = 8100
SETTLE_TIMEOUT = 240  # seconds: a busy round's last run may wait MIN_INTERVAL + RUN_SPREAD (80 s)


def host_plan(count):
    """[(namespace, root-side veth, inside veth, root-side address, host address)] of ``count`` hosts."""
    return [(f"{PREFIX}{n}", f"smh{n}r", f"smh{n}n", SUBNET.format(n=n) + ".1", SUBNET.format(n=n) + ".2")
            for n in range(1, count + 1)]


def with_host(url, host):
    """``url`` with its host (not its user, password, port or path) replaced by ``host``."""
    parts = urlsplit(url)
    credentials, _, _ = parts.netloc.rpartition("@")
    netloc = (f"{credentials}@" if credentials else "") + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def network_down(hosts):
    """Delete the namespaces (their veth ends go with them, and so the pairs) and any root-side veth left."""
    existing = sh("ip", "netns", "list", check=False).stdout
    for namespace, root_veth, _, _, _ in hosts:
        if any(line.split()[0] == namespace for line in existing.splitlines() if line.strip()):
            sh("ip", "netns", "del", namespace, check=False)
        if sh("ip", "link", "show", root_veth, check=False).returncode == 0:
            sh("ip", "link", "del", root_veth, check=False)


def network_up(hosts):
    for namespace, root_veth, inside_veth, root_address, host_address in hosts:
        sh("ip", "netns", "add", namespace)
        sh("ip", "link", "add", root_veth, "type", "veth", "peer", "name", inside_veth, "netns", namespace)
        sh("ip", "addr", "add", f"{root_address}/24", "dev", root_veth)
        sh("ip", "link", "set", root_veth, "up")
        sh("ip", "-n", namespace, "addr", "add", f"{host_address}/24", "dev", inside_veth)
        sh("ip", "-n", namespace, "link", "set", inside_veth, "up")
        sh("ip", "-n", namespace, "link", "set", "lo", "up")
        print(f"==> host {namespace}: {host_address} (root side {root_address}, veth {root_veth}/{inside_veth})",
              flush=True)


def group_cpu(pgid):
    """CPU seconds (user and system) of the live processes of a process group: a child of ``start`` and what it
    started (granian's workers, Celery's pool process; ``ip netns exec`` execs its command, keeping the pid)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def django_setup(env):
    """Configure Django in this process on the scratch database (through 127.0.0.1, root namespace)."""
    for name in ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CACHE_KEY_PREFIX",
                 "CELERY_QUEUE", "LOG_LEVEL"):
        os.environ[name] = env[name]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "surveyapp.settings")
    import django

    django.setup()


def wait_settled(timeout):
    """Wait until every pending score change is taken in and no run is queued or running; the seconds it took,
    or None at the timeout."""
    from django.db import connection

    from fieldwork.models import ResponseChange
    from scoring.models import ScoreRun

    began = time.monotonic()
    while time.monotonic() - began < timeout:
        pending = ResponseChange.objects.count()
        busy = ScoreRun.objects.filter(status__in=[ScoreRun.Status.QUEUED, ScoreRun.Status.RUNNING]).count()
        if not pending and not busy:
            return time.monotonic() - began
        print(f"  waiting for the score refreshes: {pending:,} pending changes, {busy} runs queued or running",
              flush=True)
        connection.close()
        time.sleep(5)
    return None


def compare_scores(since):
    """Each round's stored UnitScore rows against a full recompute (not stored), with the test suite's own
    ``stored_scores`` and ``full_scores`` (tests/scoring/test_incremental.py): the rounds compared, the rounds
    that differ, the unit rows compared, and the score runs since ``since`` by status and kind."""
    from collections import Counter

    from fieldwork.models import Round
    from scoring.models import ScoreRun
    from tests.scoring.test_incremental import full_scores, stored_scores

    rounds = differ = rows = 0
    for survey_round in Round.objects.select_related("questionnaire", "unit").order_by("pk"):
        stored, full = stored_scores(survey_round), full_scores(survey_round)
        rounds += 1
        rows += len(full)
        if stored != full:
            differ += 1
            print(f"  round {survey_round.pk}: the stored scores differ from a full recompute", flush=True)
    runs = Counter((status, "full" if full else "incremental") for status, full in
                   ScoreRun.objects.filter(created_at__gte=since).values_list("status", "full"))
    return rounds, differ, rows, runs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="sipas_multihost",
                        help="scratch database, made anew (default %(default)s)")
    parser.add_argument("--responses", type=int, default=20000,
                        help="responses stored before the run (default %(default)s)")
    parser.add_argument("--rate", type=float, default=300,
                        help="requests per second over both hosts (default %(default)s)")
    parser.add_argument("--duration", type=float, default=30, help="counted seconds (default %(default)s)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds first, not counted (default %(default)s)")
    parser.add_argument("--connections", type=int, default=24,
                        help="keep-alive connections in all (default %(default)s)")
    parser.add_argument("--hosts", type=int, default=2,
                        help="web hosts, each with a Celery worker (default %(default)s)")
    parser.add_argument("--web-workers", type=int, default=2, help="granian processes a host (default %(default)s)")
    parser.add_argument("--threads", type=int, default=2,
                        help="granian blocking threads a process (default %(default)s)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root: it makes network namespaces and veth pairs")
    if shutil.which("socat") is None:
        sys.exit("needs socat: the relays from the hosts' network to PostgreSQL and Redis on 127.0.0.1")
    if not 1 <= args.hosts <= 9:
        parser.error("--hosts: 1 to 9")
    hosts = host_plan(args.hosts)
    plan = ROOT / "var" / "multihost" / "plan.json"

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    # SIGINT too: a shell starts a background job with SIGINT ignored, and Python would keep it so.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)

    children, relays = [], []
    stop_vacuum = threading.Event()
    code = 1
    try:
        network_down(hosts)  # what a killed earlier run left
        started = time.monotonic()
        subprocess.run([sys.executable, str(HERE / "synthetic.py"), "--database", args.database, "--responses",
                        str(args.responses), "--plan", str(plan)], check=True, cwd=ROOT)
        print(f"==> scratch database {args.database} made in {time.monotonic() - started:.0f} s", flush=True)
        env = environment(args.database)
        env["ALLOWED_HOSTS"] = ",".join(address for *_, address in hosts)
        forget_queued(env)
        threading.Thread(target=keep_vacuumed, args=(env, 30, stop_vacuum), daemon=True).start()

        network_up(hosts)
        database, redis = urlsplit(env["DATABASE_URL"]), urlsplit(env["REDIS_URL"])
        for _, _, _, root_address, _ in hosts:
            for target in (database, redis):
                relays.append(start(f"relay {root_address}:{target.port} -> {target.hostname}:{target.port}", [
                    "socat", f"TCP-LISTEN:{target.port},bind={root_address},reuseaddr,fork,backlog=1024",
                    f"TCP:{target.hostname}:{target.port}"], env))
        python = sys.executable
        for n, (namespace, _, _, root_address, host_address) in enumerate(hosts, 1):
            host_env = dict(env, DATABASE_URL=with_host(env["DATABASE_URL"], root_address),
                            REDIS_URL=with_host(env["REDIS_URL"], root_address))
            inside = ["ip", "netns", "exec", namespace]
            children.append(start(f"granian on {namespace}", [
                *inside, python, "-m", "granian", "--interface", "wsgi", "--host", host_address, "--port", str(PORT),
                "--workers", str(args.web_workers), "--blocking-threads", str(args.threads), "--backlog", "2048",
                "surveyapp.wsgi:application"], host_env))
            celery = [*inside, "nice", "-n", "10", python, "-m", "celery", "-A", "surveyapp"]
            children.append(start(f"Celery worker on {namespace}", [
                *celery, "worker", "--loglevel", "WARNING", "--concurrency", "1", "--hostname", f"worker{n}@%h"],
                host_env))
            if n == 1:  # ONE beat for the whole deployment
                children.append(start(f"Celery beat on {namespace}", [
                    *celery, "beat", "--loglevel", "WARNING", "--schedule",
                    str(ROOT / "var" / "multihost" / "celerybeat")], host_env))
        for _, _, _, _, host_address in hosts:
            if not wait_healthy(PORT, children + relays, timeout=90, host=host_address):
                print(f"==> the host at {host_address} did not become healthy", flush=True)
                return 1
        print("==> ready: " + ", ".join(f"http://{address}:{PORT}/" for *_, address in hosts), flush=True)

        django_setup(env)
        from django.utils import timezone

        load_began = timezone.now()
        cpu_before = {name: group_cpu(proc.pid) for name, proc in children + relays}
        load = subprocess.run([
            python, str(HERE / "load.py"), *[arg for *_, address in hosts for arg in ("--url", f"http://{address}:{PORT}")],
            "--plan", str(plan), "--rate", str(args.rate), "--duration", str(args.duration),
            "--warmup", str(args.warmup), "--connections", str(args.connections),
            "--database-url", env["DATABASE_URL"]], cwd=ROOT)
        print(f"==> the load generator exited with {load.returncode}", flush=True)
        time.sleep(3)  # the beat polls the change log every SCORE_POLL_SECONDS and queues the last runs
        settled = wait_settled(SETTLE_TIMEOUT)
        if settled is None:
            print(f"==> the score refreshes did not settle within {SETTLE_TIMEOUT} s", flush=True)
            return 1
        print(f"==> every pending score change taken in, {settled:.0f} s after the load", flush=True)
        cpu = {name: group_cpu(proc.pid) - cpu_before[name] for name, proc in children + relays}
        print("CPU seconds from the load's start to the last refresh: " + ", ".join(
            [f"{name} {seconds:.1f}" for name, seconds in cpu.items() if not name.startswith("relay")]
            + [f"socat relays {sum(s for n, s in cpu.items() if n.startswith('relay')):.1f}"]), flush=True)
        rounds, differ, rows, runs = compare_scores(load_began)
        print("score runs since the load began: " + ", ".join(
            f"{count} {kind} {status}" for (status, kind), count in sorted(runs.items())), flush=True)
        print(f"scores: {rounds} rounds, {rows:,} unit rows compared with a full recompute: "
              f"{'all equal' if not differ else f'{differ} rounds differ'}", flush=True)
        failed = [name for name, proc in children + relays if proc.poll() is not None]
        if failed:
            print(f"==> stopped during the run: {', '.join(failed)}", flush=True)
        code = 0 if load.returncode == 0 and not differ and not failed else 1
        print(f"==> {'OK' if code == 0 else 'FAILED'}", flush=True)
    except KeyboardInterrupt:
        print("==> interrupted", flush=True)
        code = 130
    except subprocess.CalledProcessError as error:
        print(f"==> {error}", flush=True)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # nothing interrupts the clean-up
            signal.signal(signum, signal.SIG_IGN)
        stop_vacuum.set()
        stop_all(children)
        stop_all(relays, timeout=3)
        network_down(hosts)
        print("==> stopped everything; namespaces and veths deleted", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
