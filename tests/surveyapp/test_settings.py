"""Production settings are safe by default: each case runs Django in a fresh process."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, **env):
    # A production process: none of the test run's own switches (the browser tests set the last one).
    dropped = ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    environment.update(DATABASE_URL=os.environ["DATABASE_URL"], REDIS_URL=os.environ["REDIS_URL"], **env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=60)


def test_with_debug_off_the_development_secret_key_is_refused():
    done = manage("check", DEBUG="0", ALLOWED_HOSTS="sipas.example.gov.vn")

    assert done.returncode != 0
    assert "set SECRET_KEY" in done.stderr


def test_with_debug_off_and_real_settings_the_deployment_check_is_clean():
    done = manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="0",
                  SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="sipas.example.gov.vn")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_the_local_defaults_speak_vietnamese_in_vietnam():
    assert settings.LANGUAGE_CODE == "vi"
    assert settings.TIME_ZONE == "Asia/Ho_Chi_Minh"
    assert [code for code, _ in settings.LANGUAGES] == ["vi", "en"]


def test_database_connections_are_kept_and_checked_unless_the_environment_says_otherwise():
    show = "from django.conf import settings as s; d = s.DATABASES['default']; " \
           "print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"

    default = manage("shell", "-c", show).stdout.split()[-2:]
    tuned = manage("shell", "-c", show, DB_CONN_MAX_AGE="5", DB_CONN_HEALTH_CHECKS="0").stdout.split()[-2:]

    assert (default, tuned) == (["60", "True"], ["5", "False"])


def test_a_full_score_recompute_splits_its_count_as_declared_unless_the_environment_says_otherwise():
    show = "from django.conf import settings as s; print(s.SCORING_COUNT_CONNECTIONS, s.SCORING_SPLIT_MIN_BLOCKS)"

    default = manage("shell", "-c", show).stdout.split()[-2:]
    tuned = manage("shell", "-c", show, SCORING_COUNT_CONNECTIONS="1", SCORING_SPLIT_MIN_BLOCKS="0").stdout.split()[-2:]

    assert (default, tuned) == (["2", "4000"], ["1", "0"])
