"""How fast is scoring as the responses grow?

    .venv/bin/python bench/scoring.py [--sizes 100000,1000000] [--keep]
    .venv/bin/python bench/scoring.py --sizes 100000,1000000,5000000      # takes minutes

Builds a scratch database (--database, default `sipas_bench`) the way bench/quota_progress.py does (DATABASE_URL, else
the machine's PostgreSQL on 127.0.0.1:5432, else the embedded one): 34 provinces, each with
--communes communes and their service centres (default 51: 3,503 units in all, the 3,500 of the
targets; 98 gives the national tree of 6,699) with a kiosk at each commune and centre, one open
sipas-2017 round, and synthetic kiosk responses as a kiosk sends them (its id in the row, the
seconds taken, a time-ordered UUID v7 made at Submit) with valid answer arrays, spread unevenly
(unit picked by the square of a uniform number: a few units busy, most quiet), about 2 % over
quota and 0.2 % excluded. Responses are added in INSERTs
of --chunk rows up to each size (ascending), then VACUUM ANALYZE, and for each size it prints:

* the time to generate;
* table + index bytes per stored response, the main heap alone (target: at most 250) and each
  index of ``fieldwork_response``;
* a plain PostgreSQL reference: SELECT unit_id, count(*) … WHERE round_id = X GROUP BY unit_id
  (answered from the (round, unit) index), and the same reading every answer array from the heap;
* the backend CPU seconds of the count on one connection (when PostgreSQL runs on this machine):
  unlike the wall times, the machine's other work does not change it; and the same for the
  breakdown count (``Counters(breakdowns=True)``: one grouping set a breakdown, one pass);
* ``compute_round`` alone, split into the engine's count (timed around
  ``scoring.counting.count_responses``, all the connections it splits the count over), writing the
  stored counts, other queries and the rest (Python);
* the full recompute through ``score_run_execute`` (a queued ScoreRun with reason "command"
  executed: every response counted, UnitCounts and UnitScore rows rewritten), and the
  process's peak RSS (ru_maxrss; target: 10 s at 5M, under 1 GB);
* a refresh after 100 new responses (each leaving its pending change, as a submission does) by
  the incremental path: a run with reason "responses" (target: 250 ms whatever the total);
* the breakdown count that follows the runs (``scoring.breakdowns.count_now``: every cell counted,
  rolled up, stored, and the decisions of what may be shown cached), end to end, and the peak RSS
  after it;
* the score API for one unit (test Client, superuser session; median of --requests; target
  under 100 ms), and the same with ``?by=field`` (a breakdown's figures made on read), with the
  first such read after the count apart.

A table with one row per size closes the run. The scratch database is dropped unless --keep.
"""

import argparse
import os
import resource
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file is bench/scoring.py: keep bench/ off the path so that `scoring` is the Django app.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from bench.quota_progress import admin_sql, configure, uuid7_sql  # noqa: E402

DATABASE = "sipas_bench"
# Response n is made at BASE_MS + 10 n: ids in the order they are stored, 100 a second, as kiosks
# make them (at Submit, fieldwork/ids.py).
BASE_MS = 1_790_000_000_000
TARGETS = {"bytes": 250, "recompute_5m": 10.0, "rss_mib": 1024, "refresh": 0.250, "api": 0.100}


def build_tree(communes):
    """The country, 34 provinces, ``communes`` communes per province each with its centre."""
    from django.db import connection

    from fieldwork.models import Kiosk
    from units.models import Unit

    units = [Unit(code="VN", name="Việt Nam", level="province", path="/VN/", depth=0)]
    for p in range(34):
        code = f"P{p:02d}"
        units.append(Unit(code=code, name=f"Tỉnh {p}", level="province", path=f"/VN/{code}/", depth=1))
        for c in range(communes):
            commune = f"{code}C{c:03d}"
            units.append(Unit(code=commune, name=f"Xã {p}-{c}", level="commune", path=f"/VN/{code}/{commune}/",
                              depth=2))
            units.append(Unit(code=f"{commune}T", name=f"TTPV {p}-{c}", level="centre",
                              path=f"/VN/{code}/{commune}/{commune}T/", depth=3))
    Unit.objects.bulk_create(units, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("""
            UPDATE units_unit c SET parent_id = p.id FROM units_unit p
            WHERE c.depth > 0 AND p.path = regexp_replace(c.path, '[^/]+/$', '')""")
    # A kiosk at every commune and centre: the responses are a kiosk's, with its id in the row.
    Kiosk.objects.bulk_create([Kiosk(unit=unit, name="Quầy 1") for unit in Unit.objects.filter(
        level__in=["commune", "centre"])], batch_size=2000)
    return len(units)


def add_responses(survey_round, count, start, chunk, excluded_by, *, excluded=0.002, pending=False):
    """``count`` synthetic responses numbered from ``start``, ``chunk`` per INSERT (as in
    bench/quota_progress.py: valid answers, skewed units); about 2 % over quota, a share
    ``excluded`` excluded. With ``pending``, each also leaves the +1 pending change a submission
    leaves (fieldwork.models.ResponseChange), for the incremental refresh to take in."""
    from django.db import connection, transaction

    definition = survey_round.questionnaire.parsed
    widest = {"satisfaction": 5, "yesno": 2, "number": 1, "text": 0, "multiple": 1}
    maxima = [len(i["options"]) if i["kind"] == "single" else widest[i["kind"]] for i in definition.items]
    pending_sql = (", pending AS (INSERT INTO scoring_scorepending (round_id, response_id, sign) "
                   "SELECT %(round)s, id, 1 FROM ins)") if pending else ""
    done = 0
    while done < count:
        first, last = start + done + 1, start + min(count, done + chunk)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"""
                WITH u AS (SELECT array_agg(k.unit_id ORDER BY k.unit_id) AS ids,
                                  array_agg(k.id ORDER BY k.unit_id) AS kiosks
                           FROM fieldwork_kiosk k),
                ins AS (
                  INSERT INTO fieldwork_response (id, round_id, unit_id, kiosk_id, channel, language,
                      seconds_taken, submitted_at, received_at, answers, over_quota)
                  SELECT {uuid7_sql("%(base_ms)s + g * 10")}, %(round)s, u.ids[pick.i], u.kiosks[pick.i],
                         1, 'vi', 180, now() - interval '1 day' * mod(g, 10), now() - interval '1 day' * mod(g, 10),
                         -- "WHERE g > 0" ties the subquery to the row: each response its own answers
                         ARRAY(SELECT CASE WHEN m > 0 THEN (1 + floor(random() * m))::smallint END
                               FROM unnest(ARRAY{maxima}) WITH ORDINALITY AS slot(m, i) WHERE g > 0 ORDER BY i),
                         random() < 0.02
                  FROM generate_series(%(first)s, %(last)s) g, u,
                       LATERAL (SELECT 1 + floor(power(random(), 2) * array_length(u.ids, 1))::int AS i
                                WHERE g > 0) pick
                  RETURNING id),
                excluded AS (
                  INSERT INTO fieldwork_exclusion (response_id, round_id, reason, note, excluded_by_id, excluded_at)
                  SELECT id, %(round)s, 'test', 'bench', %(user)s, now() FROM ins WHERE random() < %(excluded)s)
                {pending_sql}
                SELECT count(*) FROM ins""",
                           {"round": survey_round.pk, "base_ms": BASE_MS,
                            "first": first, "last": last, "user": excluded_by.pk, "excluded": excluded})
        done = last - start


@contextmanager
def query_timer():
    """Times every query run through Django's connection: yields a list of (seconds, sql)."""
    from django.db import connection

    timings = []

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            # execute_values passes the statement as bytes
            timings.append((time.perf_counter() - started, sql.decode() if isinstance(sql, bytes) else sql))

    with connection.execute_wrapper(wrapper):
        yield timings


COUNTING = []  # seconds of each scoring.counting.count_responses call (the full count, all its connections)


def counting_module():
    """Where the count lives (``Counters``, ``count_responses``): scoring.counting, or scoring.engine
    in the code before scoring was split by job, so that this bench times both alike."""
    try:
        from scoring import counting
    except ImportError:
        from scoring import engine as counting
    return counting


def time_the_count():
    """Wrap the engine's full count so that its wall time is known, however many connections it uses."""
    module = counting_module()
    counting = module.count_responses

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return counting(*args, **kwargs)
        finally:
            COUNTING.append(time.perf_counter() - started)

    module.count_responses = timed


def count_parts():
    from django.conf import settings

    return (f"split over up to {settings.SCORING_COUNT_CONNECTIONS} connections from "
            f"{settings.SCORING_SPLIT_MIN_BLOCKS} table blocks")


def grouped(timings):
    """Seconds spent counting: the full count (timed around scoring.counting.count_responses, which
    may split it over several connections), plus the refresh's count of pending changes."""
    full = sum(COUNTING)
    COUNTING.clear()
    return full + sum(seconds for seconds, sql in timings if sql.lstrip().startswith("WITH consumed AS"))


def writing(timings, table):
    """Seconds spent writing rows of the table (deletes, inserts, updates)."""
    return sum(seconds for seconds, sql in timings if sql.lstrip().startswith(("INSERT", "DELETE", "UPDATE"))
               and table in sql)


def plan_nodes(sql, params):
    """The node types of the query's plan, outermost first (to tell a seq scan from an index-only one)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = plan[0]["Plan"] if isinstance(plan, list) else plan
    nodes, stack = [], [plan]
    while stack:
        node = stack.pop(0)
        workers = f" ({node['Workers Planned']} workers)" if node.get("Workers Planned") else ""
        nodes.append(node["Node Type"] + workers)
        stack.extend(node.get("Plans", []))
    return " > ".join(nodes)


def engine_plan(survey_round):
    """The plan of the engine's grouped query, when the engine exposes it (Counters.sql), under the
    settings the count runs with (COUNT_SETTINGS: its work_mem decides hashing or sorting)."""
    from django.db import connection, transaction

    try:
        module = counting_module()
        sql = module.Counters(survey_round.questionnaire.parsed).full_sql(by_field=False)
        with transaction.atomic():
            with connection.cursor() as cursor:
                for statement in getattr(module, "COUNT_SETTINGS", ()):
                    cursor.execute(statement)
            return plan_nodes(sql, [survey_round.pk, survey_round.score_over_quota])
    except Exception as error:  # the engine changed shape: the timing still stands
        return f"unknown ({error.__class__.__name__})"


def count_cpu(survey_round, breakdowns=False):
    """CPU seconds the PostgreSQL backend spends on the engine's full count on one connection
    (read from /proc: only when the server runs on this machine, else None): a run's (the main
    counts), or with ``breakdowns`` the breakdown count's (one grouping set a breakdown, one pass)."""
    from django.db import connection, transaction

    counting = counting_module()
    try:
        counters = counting.Counters(survey_round.questionnaire.parsed, breakdowns=breakdowns)
    except TypeError:  # an engine without breakdowns
        if not breakdowns:
            return None
        counters = counting.Counters(survey_round.questionnaire.parsed)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")
        if not stat.exists():
            return None

        def cpu():
            fields = stat.read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

        before = cpu()
        counting.count_responses(cursor, survey_round, counters, by_field=False, split=False)
        return cpu() - before


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def score_run(survey_round, reason):
    """A queued ScoreRun executed by score_run_execute, as the Celery task does. The reason decides
    the path: "command" counts every response again (scoring.services.FULL_REASONS), "responses"
    takes in the pending changes only. Returns (seconds, run, {part: seconds})."""
    from scoring.models import ScoreRun
    from scoring.services import score_run_execute

    run = ScoreRun.objects.create(round=survey_round, reason=reason, status=ScoreRun.Status.QUEUED)
    COUNTING.clear()
    with query_timer() as timings:
        started = time.perf_counter()
        run = score_run_execute(run_id=run.pk)
        seconds = time.perf_counter() - started
    if run.status != ScoreRun.Status.DONE:
        raise RuntimeError(f"score run {run.pk} ended {run.status}: {run.error}")
    parts = {"query": grouped(timings), "scores": writing(timings, "scoring_unitscore"),
             "counts": writing(timings, "scoring_unitcounts")}
    return seconds, run, parts


def timed_query(sql, params, repeat):
    """Seconds of each of ``repeat`` runs of a query, its rows fetched."""
    from django.db import connection

    seconds = []
    with connection.cursor() as cursor:
        for _ in range(repeat):
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            seconds.append(time.perf_counter() - started)
    return seconds


def measure(survey_round, user, args, say):
    """The figures of one size (the responses are in place and vacuumed)."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from scoring.engine import compute_round

    row = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), pg_total_relation_size('fieldwork_response'), "
                       "pg_relation_size('fieldwork_response'), pg_indexes_size('fieldwork_response') "
                       "FROM fieldwork_response")
        stored, total_bytes, heap_bytes, index_bytes = cursor.fetchone()
        cursor.execute("SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
                       "WHERE indrelid = 'fieldwork_response'::regclass ORDER BY 2 DESC")
        indexes = cursor.fetchall()
    row.update(stored=stored, bytes=total_bytes / stored, heap_bytes=heap_bytes / stored,
               indexes={name: size / stored for name, size in indexes})
    say(f"  storage: {total_bytes / 2**20:.0f} MiB in all ({heap_bytes / 2**20:.0f} MiB heap, "
        f"{index_bytes / 2**20:.0f} MiB indexes): {row['bytes']:.0f} B per response, heap alone "
        f"{row['heap_bytes']:.0f} B (target <= {TARGETS['bytes']}); per index: "
        + ", ".join(f"{name} {size / 2**20:.1f} MiB = {size / stored:.1f} B" for name, size in indexes))

    scan_sql = "SELECT unit_id, count(*) FROM fieldwork_response WHERE round_id = %s GROUP BY unit_id"
    scans = timed_query(scan_sql, [survey_round.pk], args.repeat)
    row["scan"] = statistics.median(scans)
    say(f"  plain scan (count per unit): median {row['scan']:.2f} s, best {min(scans):.2f} s of {args.repeat}; "
        f"plan {plan_nodes(scan_sql, [survey_round.pk])}")
    # That one is answered from the (round, unit) index alone; this one has to read every answer array.
    heap_sql = ("SELECT unit_id, count(*), sum(cardinality(answers)) FROM fieldwork_response "
                "WHERE round_id = %s GROUP BY unit_id")
    heap_scans = timed_query(heap_sql, [survey_round.pk], args.repeat)
    row["heap_scan"] = statistics.median(heap_scans)
    say(f"  heap scan (count and sum(cardinality(answers)) per unit): median {row['heap_scan']:.2f} s; "
        f"plan {plan_nodes(heap_sql, [survey_round.pk])}")

    COUNTING.clear()
    with query_timer() as timings:
        started = time.perf_counter()
        result = compute_round(survey_round)
        row["compute"] = time.perf_counter() - started
    row["query"] = grouped(timings)
    counts = writing(timings, "scoring_unitcounts")
    # The count's statements on Django's connection ran inside the count's wall time: not "other".
    other = sum(seconds for seconds, sql in timings if "array_append(r.answers" not in sql
                and not sql.startswith(("SET LOCAL", "SELECT pg_export_snapshot"))) - counts
    row["python"] = row["compute"] - row["query"] - counts - other
    say(f"  compute_round (full): {row['compute']:.2f} s = count {row['query']:.2f} s ({count_parts()}) + writing "
        f"UnitCounts {counts:.2f} s + other queries {other:.2f} s "
        f"+ Python {row['python']:.2f} s ({len(result.units)} units, {result.responses_used} responses used)")
    say(f"  grouped query plan: {engine_plan(survey_round)}")
    row["count_cpu"] = count_cpu(survey_round)
    if row["count_cpu"] is not None:
        say(f"  the count on one connection: {row['count_cpu']:.2f} s of backend CPU "
            f"({row['count_cpu'] / max(1, result.responses_used) * 1e6:.2f} µs a response; the machine's "
            "other work does not change it, unlike the wall times here)")
    row["bd_cpu"] = count_cpu(survey_round, breakdowns=True)
    if row["bd_cpu"] is not None:
        say(f"  the breakdown count on one connection (every breakdown's grouping set in one pass; after the runs, "
            f"not in them): {row['bd_cpu']:.2f} s of backend CPU "
            f"({row['bd_cpu'] / max(1, result.responses_used) * 1e6:.2f} µs a response)")

    rss_before = current_rss_mib()
    row["full"], run, parts = score_run(survey_round, "command")
    try:
        from scoring.models import UnitCounts

        count_rows = f", {UnitCounts.objects.filter(round=survey_round).count()} UnitCounts rows"
    except ImportError:
        count_rows = ""
    row["rss"] = peak_rss_mib()
    say(f"  full recompute (score_run_execute): {row['full']:.2f} s (grouped query {parts['query']:.2f} s, "
        f"writing UnitCounts {parts['counts']:.2f} s, UnitScore {parts['scores']:.2f} s), "
        f"{run.units_total} units stored{count_rows}, {run.responses_used} responses used; "
        f"peak RSS {row['rss']:.0f} MiB "
        f"(RSS {rss_before:.0f} MiB before; target < {TARGETS['rss_mib']})")
    row["bd_count"] = row["bd_rss"] = None
    try:
        from scoring import breakdowns
    except ImportError:  # an engine without breakdowns
        breakdowns = None
    if breakdowns is not None:
        started = time.perf_counter()
        count = breakdowns.count_now(survey_round)
        row["bd_count"] = time.perf_counter() - started
        row["bd_rss"] = peak_rss_mib()
        cells = UnitCounts.objects.filter(round=survey_round).exclude(dimension="").count()
        say(f"  breakdown count (scoring.breakdowns.count_now, what a worker does after the runs): "
            f"{row['bd_count']:.2f} s, {cells} cells stored, {count.responses} responses, decisions cached; "
            f"peak RSS {row['bd_rss']:.0f} MiB; the next count waits {breakdowns.PAUSE_FACTOR}x its time "
            f"(at least {breakdowns.PAUSE_MIN} s)")

    t0 = time.perf_counter()
    add_responses(survey_round, 100, stored, args.chunk, user, excluded=0, pending=True)
    insert_100 = time.perf_counter() - t0
    row["refresh"], run, parts = score_run(survey_round, "responses")
    path = "full" if getattr(run, "full", True) else "incremental"
    say(f"  refresh after 100 new responses ({path} path, run reason 'responses'): {row['refresh'] * 1000:.0f} ms "
        f"(delta query {parts['query'] * 1000:.0f} ms, UnitCounts {parts['counts'] * 1000:.0f} ms, UnitScore "
        f"{parts['scores'] * 1000:.0f} ms), {run.units_total} units stored (target {TARGETS['refresh'] * 1000:.0f} "
        f"ms; inserting the 100 took {insert_100 * 1000:.0f} ms)")
    row["refresh_path"] = path

    host = next((h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")), "testserver")
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    url = f"/api/v1/scores/{survey_round.pk}/{args.unit}"
    answer = client.get(url)  # warm-up (session, URL resolver)
    if answer.status_code != 200:
        raise RuntimeError(f"GET {url}: {answer.status_code} {answer.content[:200]!r}")
    times = []
    for _ in range(args.requests):
        started = time.perf_counter()
        answer = client.get(url)
        times.append(time.perf_counter() - started)
    row["api"] = statistics.median(times)
    say(f"  score API {url}: median {row['api'] * 1000:.1f} ms, worst {max(times) * 1000:.1f} ms of "
        f"{args.requests} ({len(answer.content) / 1024:.1f} KiB, n={answer.json()['n']})")
    row["api_by"] = None
    started = time.perf_counter()
    answer = client.get(url + "?by=field")  # the first read after the count (it cached the decisions)
    first_by = time.perf_counter() - started
    if answer.status_code == 200 and "breakdown" in answer.json():
        times = []
        for _ in range(args.requests):
            started = time.perf_counter()
            answer = client.get(url + "?by=field")
            times.append(time.perf_counter() - started)
        row["api_by"] = statistics.median(times)
        say(f"  score API {url}?by=field (figures of {len(answer.json()['breakdown']['cells'])} cells made on read): "
            f"median {row['api_by'] * 1000:.1f} ms, worst {max(times) * 1000:.1f} ms "
            f"({len(answer.content) / 1024:.1f} KiB); "
            f"the first after the count: {first_by * 1000:.0f} ms")
    return row


def cpu_text(row, key="count_cpu"):
    return f"{row[key]:.2f}s" if row.get(key) is not None else "-"


def ms_text(row, key):
    return f"{row[key] * 1000:.1f} ms" if row.get(key) is not None else "-"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="responses, comma-separated (default %(default)s)")
    parser.add_argument("--communes", type=int, default=51, help="communes per province (default %(default)s)")
    parser.add_argument("--chunk", type=int, default=500_000, help="rows per INSERT (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the plain scan (default %(default)s)")
    parser.add_argument("--requests", type=int, default=20, help="score API requests (default %(default)s)")
    parser.add_argument("--unit", default="P00", help="unit code asked of the score API (default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--database", default=DATABASE, help="the scratch database's name (default %(default)s)")
    args = parser.parse_args()
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    if not sizes or sizes[0] <= 0:
        parser.error("--sizes: positive numbers of responses")

    def say(text):
        print(text, flush=True)

    admin_url = configure(args.database)
    admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{args.database}"')
    admin_sql(admin_url, f'CREATE DATABASE "{args.database}"')
    import django

    django.setup()
    from django.conf import settings

    # As a worker runs: with DEBUG on, Django keeps the text of the last 9,000 queries (the UnitScore
    # inserts are megabytes each), which would inflate the RSS and the time of storing.
    settings.DEBUG = False
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from fieldwork.services import round_create

    time_the_count()

    rows = []
    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        call_command("load_questionnaires", verbosity=0)
        n_units = build_tree(args.communes)
        survey_round = round_create(name="Bench", questionnaire_code="sipas-2017", unit_code="VN", open_now=True)
        user = get_user_model().objects.create_superuser("bench", "bench@example.org", "bench")
        with connection.cursor() as cursor:
            cursor.execute("SELECT version(), current_setting('shared_buffers'), "
                           "current_setting('max_parallel_workers_per_gather')")
            version, shared_buffers, workers = cursor.fetchone()
        say(f"{version.split(' on ')[0]}, shared_buffers {shared_buffers}, parallel workers per gather {workers}; "
            f"{os.cpu_count()} CPUs")
        say(f"schema, questionnaires and {n_units} units in {time.perf_counter() - started:.1f} s; "
            f"round {survey_round.pk} over VN ({len(survey_round.questionnaire.parsed.items)} answer slots)")
        have = 0
        for size in sizes:
            say(f"\n== {size:,} responses ==")
            started = time.perf_counter()
            add_responses(survey_round, size - have, have, args.chunk, user)
            generate = time.perf_counter() - started
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            vacuum = time.perf_counter() - started
            say(f"  generated {size - have:,} responses in {generate:.1f} s ({args.chunk:,} per INSERT), "
                f"VACUUM ANALYZE {vacuum:.1f} s")
            row = measure(survey_round, user, args, say)
            row.update(size=size, generate=generate)
            rows.append(row)
            have = row["stored"] + 100
    finally:
        connection.close()
        if not args.keep:
            admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{args.database}"')

    say(f"\n{'responses':>10} {'generate':>9} {'B/resp':>7} {'heap B':>7} {'scan':>7} {'heap scan':>9} "
        f"{'query':>7} {'cnt CPU':>7} {'python':>7} {'compute':>8} {'full':>7} {'peak RSS':>9} "
        f"{'+100 incr':>10} {'API':>8} {'bd CPU':>7} {'bd count':>9} {'bd RSS':>9} {'API ?by':>9}")
    for r in rows:
        bd_count = f"{r['bd_count']:.2f}s" if r.get("bd_count") is not None else "-"
        bd_rss = f"{r['bd_rss']:.0f} MiB" if r.get("bd_rss") is not None else "-"
        say(f"{r['size']:>10,} {r['generate']:>8.1f}s {r['bytes']:>7.0f} {r['heap_bytes']:>7.0f} "
            f"{r['scan']:>6.2f}s {r['heap_scan']:>8.2f}s {r['query']:>6.2f}s {cpu_text(r):>7} "
            f"{r['python']:>6.2f}s "
            f"{r['compute']:>7.2f}s {r['full']:>6.2f}s {r['rss']:>5.0f} MiB {r['refresh']:>9.3f}s "
            f"{r['api'] * 1000:>5.1f} ms {cpu_text(r, 'bd_cpu'):>7} {bd_count:>9} {bd_rss:>9} "
            f"{ms_text(r, 'api_by'):>9}")
    say(f"{'target':>10} {'':>9} {TARGETS['bytes']:>7} {'':>7} {'':>7} {'':>9} {'':>7} {'':>7} {'':>7} {'':>8} "
        f"{'10s @5M':>7} {'<1024 MiB':>9} {'0.25s':>10} {'<100 ms':>8} {'':>7} {'':>9} {'<1024 MiB':>9} "
        f"{'<100 ms':>9}")
    say("scan: SELECT unit_id, count(*) … GROUP BY unit_id (index only); heap scan: the same reading every answer "
        "array; query/python: compute_round's count (wall) and its Python part; cnt CPU: backend CPU of the "
        "count on one connection; full: score_run_execute end to end, full path; +100 incr: score_run_execute "
        "taking in 100 new responses (incremental path); API: median GET /api/v1/scores/<round>/<unit>; bd CPU: "
        "backend CPU of the breakdown count on one connection; bd count: scoring.breakdowns.count_now end to end "
        "(after the runs, never in one); bd RSS: peak RSS after it; API ?by: the API with ?by=field (a "
        "breakdown's figures made on read from its stored cells)")


if __name__ == "__main__":
    main()
