"""Synthetic data for the load and scale benches, in a scratch database of its own.

    .venv/bin/python bench/synthetic.py [--database sipas_load] [--responses 1000000] [--plan var/load/plan.json]

Drops and creates the database (DATABASE_URL's server, else the machine's PostgreSQL on
127.0.0.1:5432, else the embedded one; never the dev database), migrates it and loads the
questionnaires, then builds:

* a national tree: 34 provinces, each with its public administration service centre, --departments
  provincial departments (sở) and --communes communes and wards (defaults: 3 and 97, so 3,468 units);
* an open sipas-2017 round per province;
* kiosks with device tokens (one per commune and department, three at each provincial centre);
* quotas: every commune, department and centre a unit quota, every province a quota per service
  field (E.FIELD) that flags when full; a few units are left with little room, so a load run also
  meets full quotas;
* optionally --responses responses, spread like real ones: each unit has a lognormal weight (a few
  busy desks, most quiet), received on working days of the last 30 days in office hours, with
  answers drawn from a pool of realistic, valid answer sets (mostly satisfied, some "not
  applicable", optional items often skipped, conditions respected). They are written with COPY,
  with the counters that submission keeps (quota fill and days, kiosk days) brought in line.

The plan file (git-ignored var/) holds what bench/load.py needs: the tokens, rounds, unit weights
and a pool of answer sets. Library use: ``answer_sets``, ``build_tree``, ``unit_weights``,
``copy_responses`` work on an already configured Django.
"""

import argparse
import io
import json
import os
import random
import secrets
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

DATABASE = "sipas_load"
DEPARTMENT_NAMES = ["Sở Tư pháp", "Sở Xây dựng", "Sở Nông nghiệp và Môi trường", "Sở Tài chính", "Sở Y tế",
                    "Sở Công Thương", "Sở Giáo dục và Đào tạo", "Sở Nội vụ"]

# ---------------------------------------------------------------------------------------------
# Answers

def answer_sets(definition, count, seed=1):
    """``count`` answer sets (API form), each checked by the same code the API uses, with their
    packed forms: [(answers, PackedAnswers)]."""
    from questionnaires.answers import pack_answers
    from questionnaires.samples import sample_answers

    rng = random.Random(seed)
    return [(answers, pack_answers(definition, answers))
            for answers in (sample_answers(definition, rng) for _ in range(count))]


# ---------------------------------------------------------------------------------------------
# Tree, weights, kiosks


def build_tree(*, communes=97, departments=3, root=None):
    """34 provinces, each with a centre (``P00.TTPV``), departments (``P00.S1``...) and communes
    (``P00C001``...); under a ``root`` unit code when given (a national round needs one)."""
    from django.db import connection

    from units.models import Unit

    units, top = [], "/"
    if root:
        units.append(Unit(code=root, name="Việt Nam", level="province", path=f"/{root}/", depth=0))
        top = f"/{root}/"
    base = 1 if root else 0
    for p in range(34):
        code = f"P{p:02d}"
        path = f"{top}{code}/"
        units.append(Unit(code=code, name=f"Tỉnh {p + 1}", level="province", path=path, depth=base))
        units.append(Unit(code=f"{code}.TTPV", name=f"Trung tâm Phục vụ hành chính công tỉnh {p + 1}",
                          level="centre", path=f"{path}{code}.TTPV/", depth=base + 1))
        for d in range(departments):
            units.append(Unit(code=f"{code}.S{d + 1}", name=DEPARTMENT_NAMES[d % len(DEPARTMENT_NAMES)],
                              level="department", path=f"{path}{code}.S{d + 1}/", depth=base + 1))
        for c in range(communes):
            units.append(Unit(code=f"{code}C{c + 1:03d}", name=f"{'Phường' if c % 4 == 0 else 'Xã'} {p + 1}-{c + 1}",
                              level="commune", path=f"{path}{code}C{c + 1:03d}/", depth=base + 1))
    Unit.objects.bulk_create(units, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("""
            UPDATE units_unit c SET parent_id = p.id FROM units_unit p
            WHERE c.depth > 0 AND p.path = regexp_replace(c.path, '[^/]+/$', '')""")
    return list(Unit.objects.order_by("path"))


def unit_weights(units, rng: random.Random, sigma=1.3):
    """A lognormal weight per unit that takes responses (not provinces): a few busy, most quiet.
    With sigma 1.3 the busiest 1 % of desks take about 12 % of the responses, the quietest half 12 %."""
    return {u.pk: rng.lognormvariate(0, sigma) * (3 if u.level == "centre" else 1)
            for u in units if u.level != "province"}


def create_kiosks(units, rounds_by_province):
    """Paired kiosks with device tokens (only their hashes stored): [(kiosk, token, round)]."""
    from django.utils import timezone

    from fieldwork.models import Kiosk, token_digest

    paired = timezone.now() - timezone.timedelta(days=30)  # before any response the generator makes
    made = []
    for unit in units:
        if unit.level == "province":
            continue
        round_ = rounds_by_province[unit.path.split("/")[-3]]
        for n in range(3 if unit.level == "centre" else 1):
            token = secrets.token_urlsafe(32)
            made.append((Kiosk(unit=unit, name=f"Quầy {n + 1}", token_hash=token_digest(token), paired_at=paired,
                               first_paired_at=paired), token, round_))
    Kiosk.objects.bulk_create([k for k, _, _ in made], batch_size=2000)
    return made


# ---------------------------------------------------------------------------------------------
# Responses


def _slots_literal(slots):
    return "{" + ",".join("NULL" if v is None else str(v) for v in slots) + "}"


def _copy_text(value):
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def copy_responses(kiosks, weights, pool, count, *, days=30, seed=2, chunk=200_000, say=print):
    """``count`` responses from the kiosks (each a (kiosk, round) pair), a kiosk picked by its unit's
    weight shared among the unit's kiosks, answers from ``pool`` ([(answers, packed)]), written with
    COPY in chunks. Received on working days of the last ``days`` days between 7:30 and 17:00.
    Returns how many went to each (kiosk, round id, local day, answer set), for ``write_counters``."""
    import datetime

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from fieldwork.ids import uuid7

    rng = random.Random(seed)
    per_unit = {}
    for kiosk, survey_round in kiosks:
        per_unit.setdefault(kiosk.unit_id, []).append((kiosk, survey_round))
    choices = [(k, r) for k, r in kiosks]
    kiosk_weights = [weights[k.unit_id] / len(per_unit[k.unit_id]) for k, _ in choices]
    today = timezone.localdate()
    workdays = [d for d in (today - datetime.timedelta(days=i) for i in range(1, days + 1)) if d.weekday() < 5]
    offset = timezone.localtime().strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    # Unix seconds at the local midnight starting each workday (the day's times are local).
    day_start = {d.isoformat(): int(datetime.datetime.fromisoformat(f"{d.isoformat()}T00:00:00{offset}").timestamp())
              for d in workdays}
    literals = [(_slots_literal(p.slots), _copy_text(json.dumps(p.texts, ensure_ascii=False)) if p.texts else "\\N")
                for _, p in pool]
    settings.DEBUG = False
    columns = ("id, round_id, unit_id, kiosk_id, channel, language, seconds_taken, submitted_at, received_at, "
               "answers, texts, over_quota")
    done, counts = 0, Counter()
    while done < count:
        n = min(chunk, count - done)
        picked = rng.choices(choices, weights=kiosk_weights, k=n)
        buffer = io.StringIO()
        write = buffer.write
        for kiosk, survey_round in picked:
            day = rng.choice(workdays).isoformat()
            second = rng.randrange(27000, 61200)  # 7:30 to 17:00
            duration = rng.randrange(90, 600)
            answer_set = rng.randrange(len(literals))
            slots, texts = literals[answer_set]
            counts[(kiosk, survey_round.pk, day, answer_set)] += 1
            # A kiosk's id: UUID v7 of the moment of Submit (fieldwork/ids.py).
            milliseconds = (day_start[day] + second) * 1000 + rng.randrange(1000)
            write(f"{uuid7(milliseconds, rng.getrandbits(80)).hex}\t{survey_round.pk}\t{kiosk.unit_id}\t"
                  f"{kiosk.pk}\t1\t{'en' if rng.random() < 0.03 else 'vi'}\t{duration}\t"
                  f"{day} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}{offset}\t"
                  f"{day} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}{offset}\t"
                  f"{slots}\t{texts}\tf\n")
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY fieldwork_response ({columns}) FROM STDIN", buffer)
        done += n
        say(f"  {done:,} responses")
    return counts


def write_counters(counts, pool, field_item="E.FIELD"):
    """Write the counters submission keeps, from what copy_responses wrote: kiosk days, quota days
    (in-quota responses per quota and day) and each quota's fill. Here a unit quota sits on the
    responding unit itself and the stratum quotas on the round's unit (the province)."""
    from django.db import connection

    from fieldwork.models import Quota

    unit_quota, field_quota = {}, {}
    for quota_id, round_id, unit_id, item, value in Quota.objects.values_list(
            "pk", "round_id", "unit_id", "stratum_item", "stratum_value"):
        if item:
            field_quota[(round_id, value)] = quota_id
        else:
            unit_quota[(round_id, unit_id)] = quota_id
    field_of = [answers.get(field_item) for answers, _ in pool]
    kiosk_days, quota_days = Counter(), Counter()
    for (kiosk, round_id, day, answer_set), n in counts.items():
        kiosk_days[(kiosk.pk, day)] += n
        quota_days[(unit_quota[(round_id, kiosk.unit_id)], day)] += n
        quota_days[(field_quota[(round_id, field_of[answer_set])], day)] += n
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM fieldwork_kioskday")
        cursor.execute("DELETE FROM fieldwork_quotaday")
        cursor.copy_expert("COPY fieldwork_kioskday (kiosk_id, day, responses) FROM STDIN",
                           io.StringIO("".join(f"{k}\t{d}\t{n}\n" for (k, d), n in kiosk_days.items())))
        cursor.copy_expert("COPY fieldwork_quotaday (quota_id, day, responses) FROM STDIN",
                           io.StringIO("".join(f"{q}\t{d}\t{n}\n" for (q, d), n in quota_days.items())))
        cursor.execute(
            """UPDATE fieldwork_quota q SET filled = s.n, target = greatest(q.target, s.n)
               FROM (SELECT quota_id, sum(responses) AS n FROM fieldwork_quotaday GROUP BY 1) s
               WHERE s.quota_id = q.id""")


def create_quotas(units, rounds_by_province, rng, field_codes):
    """A unit quota on every responding unit and a quota per service field on every province. Targets
    are raised past the stored responses by recount(); a few units get little room (set afterwards)."""
    from fieldwork.models import Quota

    quotas = []
    for unit in units:
        province = unit.path.split("/")[-3] if unit.level != "province" else unit.code
        survey_round = rounds_by_province[province]
        if unit.level == "province":
            quotas += [Quota(round=survey_round, unit=unit, stratum_item="E.FIELD", stratum_value=code,
                             target=20_000, policy="flag") for code in field_codes]
        else:
            quotas.append(Quota(round=survey_round, unit=unit, target=400))
    Quota.objects.bulk_create(quotas, batch_size=2000)
    return len(quotas)


def make_room(rng, tight=10):
    """Every unit quota gets room for a minute of load; ``tight`` of them only a few places (flagging)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE fieldwork_quota SET target = filled + 1000 WHERE stratum_item = ''")
        cursor.execute("UPDATE fieldwork_quota SET target = filled + 5, policy = 'flag' WHERE id IN "
                       "(SELECT id FROM fieldwork_quota WHERE stratum_item = '' ORDER BY id LIMIT %s)", [tight])
        cursor.execute("UPDATE fieldwork_quota SET target = filled + 100000 WHERE stratum_item <> ''")


def compute_scores(rounds):
    """A full score run of each round, as `manage.py recompute_scores` does."""
    from scoring.models import ScoreRun
    from scoring.services import score_run_execute

    for survey_round in rounds:
        run = ScoreRun.objects.create(round=survey_round, reason="command", status=ScoreRun.Status.QUEUED)
        run = score_run_execute(run_id=run.pk)
        if run.status != ScoreRun.Status.DONE:
            raise RuntimeError(f"score run of round {survey_round.pk}: {run.status} {run.error}")


# ---------------------------------------------------------------------------------------------
# The command


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=DATABASE, help="scratch database, dropped first (default %(default)s)")
    parser.add_argument("--responses", type=int, default=0, help="stored responses to add (default none)")
    parser.add_argument("--communes", type=int, default=97, help="communes per province (default %(default)s)")
    parser.add_argument("--departments", type=int, default=3, help="departments per province (default %(default)s)")
    parser.add_argument("--scores", action="store_true",
                        help="compute every round's scores after adding responses, so that score runs during a "
                             "load run are the incremental ones of a round in progress")
    parser.add_argument("--pool", type=int, default=2000, help="distinct answer sets (default %(default)s)")
    parser.add_argument("--plan", default=str(ROOT / "var" / "load" / "plan.json"), help="plan file for bench/load.py")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.database in ("surveyapp", "postgres") or not args.database.replace("_", "").isalnum():
        parser.error("--database: a scratch database name of its own")

    from bench.quota_progress import admin_sql, configure

    admin_url = configure(args.database)
    started = time.perf_counter()
    admin_sql(admin_url, f"DROP DATABASE IF EXISTS {args.database}")
    admin_sql(admin_url, f"CREATE DATABASE {args.database}")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from fieldwork.services import round_create

    settings.DEBUG = False
    rng = random.Random(args.seed)
    call_command("migrate", verbosity=0)
    call_command("load_questionnaires", verbosity=0)
    print(f"database {args.database}: schema and questionnaires in {time.perf_counter() - started:.1f} s", flush=True)

    t0 = time.perf_counter()
    units = build_tree(communes=args.communes, departments=args.departments)
    provinces = [u for u in units if u.level == "province"]
    rounds = {p.code: round_create(name=f"Quý IV/2026 {p.name}", questionnaire_code="sipas-2017", unit_code=p.code,
                                   open_now=True) for p in provinces}
    definition = next(iter(rounds.values())).questionnaire.parsed
    field_codes = [o["code"] for o in definition.by_code["E.FIELD"]["options"]]
    made = create_kiosks(units, rounds)
    n_quotas = create_quotas(units, rounds, rng, field_codes)
    weights = unit_weights(units, rng)
    print(f"{len(units):,} units, {len(rounds)} open rounds, {len(made):,} kiosks, {n_quotas:,} quotas "
          f"in {time.perf_counter() - t0:.1f} s", flush=True)

    t0 = time.perf_counter()
    pool = answer_sets(definition, args.pool, seed=args.seed)
    print(f"{len(pool):,} answer sets checked by pack_answers in {time.perf_counter() - t0:.1f} s", flush=True)
    if args.responses:
        t0 = time.perf_counter()
        counts = copy_responses([(k, r) for k, _, r in made], weights, pool, args.responses, seed=args.seed)
        copied = time.perf_counter() - t0
        t1 = time.perf_counter()
        write_counters(counts, pool)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"{args.responses:,} responses written in {copied:.1f} s ({args.responses / copied:,.0f}/s); "
              f"counters and ANALYZE {time.perf_counter() - t1:.1f} s", flush=True)
        if args.scores:
            t1 = time.perf_counter()
            compute_scores(rounds.values())
            print(f"scores of the {len(rounds)} rounds computed in {time.perf_counter() - t1:.1f} s", flush=True)
    make_room(rng)

    plan = {
        "database": args.database,
        "questionnaire": definition.doc["code"],
        "kiosks": [{"token": token, "round": r.pk, "unit": k.unit.code, "weight": weights[k.unit_id] / (
            3 if k.unit.level == "centre" else 1)} for k, token, r in made],
        "answers": [a for a, _ in pool],
    }
    Path(args.plan).parent.mkdir(parents=True, exist_ok=True)
    Path(args.plan).write_text(json.dumps(plan, ensure_ascii=False))
    os.chmod(args.plan, 0o600)  # device tokens
    connection.close()
    print(f"plan for bench/load.py: {args.plan} ({len(plan['kiosks']):,} kiosk tokens); "
          f"total {time.perf_counter() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main()
