"""How long do the printed slips of 10,000 invitations take, and how large are they?

    .venv/bin/python bench/slips.py [--invitations 10000] [--keep]

Builds a scratch database `sipas_bench_slips` on the configured PostgreSQL (DATABASE_URL, else the
machine's on 127.0.0.1:5432) with a province of 100 communes, an open round, a dossier list and a
sample of --invitations dossiers and their invitations (as bench/invitations.py). Then it times
``fieldwork.slips.slips_pdf`` for every part (INVITATION_SLIPS_PER_FILE slips a file) and the
posters of the 101 units, and prints the seconds, the bytes and the process's peak memory, with the
date. The scratch database is dropped at the end unless --keep.
"""

import argparse
import datetime
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from invitations import build  # noqa: E402  (the same round, units and sample)
from quota_progress import admin_sql, configure  # noqa: E402

DATABASE = "sipas_bench_slips"


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    admin_url = configure(DATABASE)
    admin_sql(admin_url, f"DROP DATABASE IF EXISTS {DATABASE}")
    admin_sql(admin_url, f"CREATE DATABASE {DATABASE}")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections
    from django.utils import translation

    from fieldwork import slips, unitlinks
    from fieldwork.invitations import invitations_create

    try:
        survey_round, sample = build(args.invitations)[:2]
        invitations_create(sample=sample)
        translation.activate("vi")
        size = settings.INVITATION_SLIPS_PER_FILE
        parts = -(-args.invitations // size)
        total_s = total_bytes = 0
        for part in range(1, parts + 1):
            started = time.perf_counter()
            data, pages = slips.slips_pdf(survey_round=survey_round, part=part)
            seconds = time.perf_counter() - started
            total_s, total_bytes = total_s + seconds, total_bytes + len(data)
            print(f"part {part}: {pages} slips in {seconds:.1f} s, {len(data) / 1e6:.1f} MB, peak {peak_mib()} MiB")
        started = time.perf_counter()
        units = list(unitlinks.poster_units(survey_round))
        posters, count = slips.posters_pdf(survey_round=survey_round, units=units)
        poster_s = time.perf_counter() - started
        print(f"{datetime.date.today()}: {args.invitations} slips in {parts} parts of {size}: {total_s:.1f} s, "
              f"{total_bytes / 1e6:.1f} MB ({total_bytes / args.invitations / 1000:.1f} kB a slip); "
              f"{count} posters in {poster_s:.1f} s, {len(posters) / 1e6:.1f} MB; peak memory {peak_mib()} MiB")
    finally:
        connections.close_all()
        if not args.keep:
            admin_sql(admin_url, f"DROP DATABASE IF EXISTS {DATABASE}")


if __name__ == "__main__":
    main()
