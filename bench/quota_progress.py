"""How fast is the quota progress page with a national tree of units?

    .venv/bin/python bench/quota_progress.py [--responses 200000] [--keep]

Builds a scratch database `sipas_bench` on the configured PostgreSQL (DATABASE_URL, else the
machine's on 127.0.0.1:5432, else the embedded one): 34 provinces with about 3,300 communes and
their centres, one open round with a quota on every commune plus service-field quotas on every
province, and N responses spread unevenly (a few busy units, most quiet). Then it times the
selector behind the progress page and prints the figures. The scratch database is dropped at the
end unless --keep.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def configure(database):
    from surveyapp import embedded

    url = os.environ.get("DATABASE_URL") or embedded.machine_database_url()
    if not url:
        os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
        embedded.configure()
        url = os.environ["DATABASE_URL"]
    base, _, query = url.partition("?")
    os.environ["DATABASE_URL"] = base.rsplit("/", 1)[0] + f"/{database}" + (f"?{query}" if query else "")
    os.environ.setdefault("REDIS_URL", embedded.machine_redis_url(15) or embedded.embedded_redis_url(15))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "surveyapp.settings")
    return base.rsplit("/", 1)[0] + "/postgres" + (f"?{query}" if query else "")


def admin_sql(admin_url, sql):
    import psycopg2

    from surveyapp.settings import database_from_url

    db = database_from_url(admin_url)
    conn = psycopg2.connect(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"],
                            port=db["PORT"] or None)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(sql)
    conn.close()


def uuid7_sql(milliseconds):
    """A SQL expression for a UUID v7 made at ``milliseconds`` (a SQL expression, Unix ms), as a
    kiosk makes them (fieldwork/ids.py): PostgreSQL 15 has no uuidv7()."""
    return (f"(lpad(to_hex(({milliseconds})::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 3)"
            " || substr('89ab', 1 + floor(random() * 4)::int, 1) || substr(md5(random()::text), 1, 15))::uuid")


def build(responses):
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import F, Value
    from django.db.models.functions import Concat

    from fieldwork.models import Quota
    from fieldwork.quotas import quota_recount
    from fieldwork.services import round_create
    from units.models import Unit

    call_command("migrate", verbosity=0)
    call_command("load_questionnaires", verbosity=0)
    units = []
    for p in range(34):
        code = f"P{p:02d}"
        units.append(Unit(code=code, name=f"Tỉnh {p}", level="province", path=f"/{code}/", depth=0))
        for c in range(98):
            commune = f"{code}C{c:03d}"
            units.append(Unit(code=commune, name=f"Xã {p}-{c}", level="commune", path=f"/{code}/{commune}/", depth=1))
            units.append(Unit(code=f"{commune}T", name=f"TTPV {p}-{c}", level="centre",
                              path=f"/{code}/{commune}/{commune}T/", depth=2))
    Unit.objects.bulk_create(units, batch_size=2000)
    # Parents by path (one statement).
    with connection.cursor() as cursor:
        cursor.execute("""
            UPDATE units_unit c SET parent_id = p.id FROM units_unit p
            WHERE c.depth > 0 AND p.path = regexp_replace(c.path, '[^/]+/$', '')""")
    root = Unit.objects.create(code="VN", name="Việt Nam", level="province", path="/VN/", depth=0)
    Unit.objects.filter(depth=0).exclude(pk=root.pk).update(parent=root)
    Unit.objects.exclude(pk=root.pk).update(path=Concat(Value("/VN"), "path"), depth=F("depth") + 1)
    survey_round = round_create(name="Bench", questionnaire_code="sipas-2017", unit_code="VN", open_now=True)
    quotas = [Quota(round=survey_round, unit=u, target=10_000) for u in Unit.objects.filter(level="commune")]
    fields = ["land", "justice", "business_registration", "labour_social"]
    for province in Unit.objects.filter(level="province").exclude(pk=root.pk):
        quotas += [Quota(round=survey_round, unit=province, target=100_000, stratum_item="E.FIELD", stratum_value=f)
                   for f in fields]
    Quota.objects.bulk_create(quotas, batch_size=2000)
    definition = survey_round.questionnaire.parsed
    # The largest stored value of each slot, so that the synthetic answers are valid ones.
    widest = {"satisfaction": 5, "yesno": 2, "number": 1, "text": 0, "multiple": 1}
    maxima = [len(i["options"]) if i["kind"] == "single" else widest[i["kind"]] for i in definition.items]
    with connection.cursor() as cursor:
        # Skewed: unit chosen by the square of a uniform number, so low ids are busy.
        cursor.execute(f"""
            WITH u AS (SELECT array_agg(id ORDER BY id) AS ids FROM units_unit WHERE level IN ('commune','centre'))
            INSERT INTO fieldwork_response (id, round_id, unit_id, channel, language,
                seconds_taken, submitted_at, received_at, answers, over_quota)
            SELECT {uuid7_sql("extract(epoch FROM now()) * 1000 + g")}, %s,
                   u.ids[1 + floor(power(random(), 2) * array_length(u.ids, 1))::int],
                   1, 'vi', 180, now() - interval '1 day' * mod(g, 10), now() - interval '1 day' * mod(g, 10),
                   -- "WHERE g > 0" ties the subquery to the row, so each response gets its own answers
                   ARRAY(SELECT CASE WHEN m > 0 THEN (1 + floor(random() * m))::smallint END
                         FROM unnest(ARRAY{maxima}) WITH ORDINALITY AS slot(m, i) WHERE g > 0 ORDER BY i),
                   false
            FROM generate_series(1, %s) g, u""", [survey_round.pk, responses])
        cursor.execute("ANALYZE")
    # The responses went in by SQL, not through claiming: build the counters the way a repair would.
    started = time.perf_counter()
    quota_recount(survey_round=survey_round)
    print(f"quota_recount (the full reference count) took {time.perf_counter() - started:.2f} s")
    return survey_round, len(quotas)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    admin_url = configure("sipas_bench")
    admin_sql(admin_url, "DROP DATABASE IF EXISTS sipas_bench")
    admin_sql(admin_url, "CREATE DATABASE sipas_bench")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fieldwork.selectors import quota_progress
    from units.models import Unit

    try:
        started = time.perf_counter()
        survey_round, n_quotas = build(args.responses)
        print(f"built {Unit.objects.count()} units, {n_quotas} quotas, {args.responses} responses "
              f"in {time.perf_counter() - started:.1f} s")
        timings = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                rows = quota_progress(survey_round)
            timings.append(time.perf_counter() - t0)
        timings.sort()
        print(f"quota progress selector: {len(rows)} quotas, {len(queries)} queries, "
              f"median {timings[len(timings) // 2] * 1000:.0f} ms, best {timings[0] * 1000:.0f} ms "
              f"over {args.repeat} runs")
        from django.core.paginator import Paginator
        from django.template.loader import render_to_string

        from fieldwork.views import QUOTAS_PER_PAGE, QuotaForm

        survey_round.scope_paths, survey_round.whole_scope = [survey_round.unit.path], True
        pages = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            page = Paginator(quota_progress(survey_round), QUOTAS_PER_PAGE).get_page(1)
            html = render_to_string("fieldwork/quota_progress.html", {
                "round": survey_round, "rows": page, "page": page, "form": QuotaForm(),
                "summary": {"quotas": page.paginator.count, "full": 0, "lagging": 0},
            })
            pages.append(time.perf_counter() - t0)
        pages.sort()
        print(f"quota progress page (selector + first page of {QUOTAS_PER_PAGE}, {len(html) // 1024} KiB): "
              f"median {pages[len(pages) // 2] * 1000:.0f} ms")
    finally:
        connection.close()
        if not args.keep:
            admin_sql(admin_url, "DROP DATABASE IF EXISTS sipas_bench")


if __name__ == "__main__":
    main()
