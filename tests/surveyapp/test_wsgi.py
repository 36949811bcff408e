"""The WSGI application a server loads leaves its own long-lived objects out of garbage collection."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, sys
import surveyapp.wsgi
print(gc.get_freeze_count(), len(gc.get_objects()),
      "fieldwork.kiosk_api" in sys.modules, "scoring.views" in sys.modules)
"""


def test_loading_the_application_freezes_django_the_urls_and_every_view_before_the_first_request():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "surveyapp.settings"})
    assert done.returncode == 0, done.stderr
    frozen, tracked, kiosk_api_loaded, score_views_loaded = done.stdout.split()
    # Django with its apps, models and URL patterns makes about 90,000 objects: all frozen, so a full
    # collection during a request walks only what requests made since (bench/request_cpu.py times it).
    assert int(frozen) > 50_000
    assert int(tracked) < int(frozen) / 10
    assert (kiosk_api_loaded, score_views_loaded) == ("True", "True")
