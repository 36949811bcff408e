import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static" / "kiosk"


def test_the_service_worker_cache_and_the_app_carry_the_same_version():
    # Tablets keep the cached app until the service worker's cache version changes: both are
    # bumped together whenever kiosk.js, kiosk.css or app.html change.
    app = re.search(r'const VERSION = "([^"]+)"', (STATIC / "kiosk.js").read_text()).group(1)
    cache = re.search(r'const CACHE_VERSION = "([^"]+)"', (STATIC / "sw.js").read_text()).group(1)

    assert app == cache

