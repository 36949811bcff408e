"""How fast is the comment page (What citizens wrote) on a large round?

    .venv/bin/python bench/comments.py [--responses 500000] [--share 0.2] [--keep]

Builds a scratch database (--database, default `sipas_bench_comments`) with bench/scoring.py's tree
(34 provinces of --communes communes and their centres) and round, adds --responses synthetic kiosk
responses, gives a share --share of them a Vietnamese comment (one in ten naming "Hà Nội"), hides
one comment in a thousand, VACUUM ANALYZE, and times the page (test Client, median of --requests)
for a province head (province P00) and the superuser (the whole country): the newest page, the
search "ha noi" (no accents), a search that matches nothing (every comment in the subtree read),
and the tenth page. The scratch database is dropped unless --keep.
"""

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from bench.quota_progress import admin_sql, configure  # noqa: E402
from bench.scoring import add_responses, build_tree  # noqa: E402

PHRASES = ["Cán bộ ở Hà Nội rất tận tình, hướng dẫn chu đáo", "Đường vào trụ sở khó tìm, cần thêm biển chỉ dẫn",
           "Phải đi lại nhiều lần, thủ tục còn rườm rà", "Cần thêm ghế ngồi chờ và nước uống",
           "Nhân viên quầy số 2 trả kết quả đúng hẹn", "Thái độ phục vụ tốt, không phải chờ lâu",
           "Nên có hướng dẫn nộp hồ sơ trực tuyến", "Phòng chờ nóng, cần điều hòa",
           "Cán bộ giải thích rõ ràng, dễ hiểu", "Thời gian xử lý hồ sơ đất đai còn chậm"]


def add_comments(survey_round, share):
    from django.db import connection

    with connection.cursor() as cursor:
        # Responses are append-only (a trigger refuses changes): the scratch database lifts it for this one
        # UPDATE, instead of writing a second INSERT beside bench/scoring.py's.
        cursor.execute("ALTER TABLE fieldwork_response DISABLE TRIGGER USER")
        cursor.execute("""
            UPDATE fieldwork_response SET texts = jsonb_build_object('C.COMMENT',
                (%(phrases)s::text[])[1 + mod(abs(hashtext(id::text)), 10)] || ' #' || left(id::text, 8))
            WHERE round_id = %(round)s AND random() < %(share)s""",
                       {"phrases": PHRASES, "round": survey_round.pk, "share": share})
        cursor.execute("ALTER TABLE fieldwork_response ENABLE TRIGGER USER")
        cursor.execute("""
            INSERT INTO fieldwork_commenthiding (response_id, round_id, reason, note, hidden_by_id, hidden_at)
            SELECT id, round_id, 'phone', '', (SELECT min(id) FROM auth_user), now() FROM fieldwork_response
            WHERE round_id = %(round)s AND texts IS NOT NULL AND random() < 0.001""", {"round": survey_round.pk})
        cursor.execute("SELECT count(*) FROM fieldwork_response WHERE round_id = %s AND texts IS NOT NULL",
                       [survey_round.pk])
        return cursor.fetchone()[0]


def timed(client, url, requests):
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    count = re.search(r'data-testid="comment-count"[^>]*>([^<]*?) comment', response.content.decode())
    return statistics.median(times), count.group(1).strip() if count else "?"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=500_000)
    parser.add_argument("--share", type=float, default=0.2, help="responses with a comment (default %(default)s)")
    parser.add_argument("--communes", type=int, default=51)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--database", default="sipas_bench_comments")
    args = parser.parse_args()

    admin_url = configure(args.database)
    admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{args.database}"')
    admin_sql(admin_url, f'CREATE DATABASE "{args.database}"')
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["*"]
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from fieldwork.services import round_create
    from units.models import Role, Unit

    try:
        call_command("migrate", verbosity=0)
        call_command("load_questionnaires", verbosity=0)
        build_tree(args.communes)
        survey_round = round_create(name="Bench", questionnaire_code="sipas-2017", unit_code="VN", open_now=True)
        admin = get_user_model().objects.create_superuser("bench", "bench@example.org", "bench")
        head = get_user_model().objects.create_user("head", password="bench")
        Role.objects.create(user=head, unit=Unit.objects.get(code="P00"), kind=Role.Kind.HEAD)
        started = time.perf_counter()
        add_responses(survey_round, args.responses, 0, 500_000, admin)
        comments = add_comments(survey_round, args.share)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(f"{args.responses:,} responses, {comments:,} with a comment, built in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        for user, code in ((head, "P00"), (admin, "VN")):
            client = Client(HTTP_ACCEPT_LANGUAGE="en")
            client.force_login(user)
            base = f"/scores/{survey_round.pk}/{code}/comments/"
            for name, query in (("newest", ""), ("search 'ha noi'", "?q=ha+noi"),
                                ("search, no match", "?q=khong+co+dau"), ("page 10", "?page=10")):
                median, count = timed(client, base + query, args.requests)
                print(f"  {user.username:5} {code:4} {name:18} {median * 1000:8.1f} ms  ({count} comments)",
                      flush=True)
    finally:
        connection.close()
        if not args.keep:
            admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{args.database}"')


if __name__ == "__main__":
    main()
