"""A per-device rate limit in Redis, in fixed one-minute windows.

It fails open: when Redis is unreachable kiosks keep submitting, because losing responses is worse
than a moment without a limit.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)


def allow(kind: str, key, limit: int | None = None) -> tuple[bool, int]:
    """(allowed, seconds until the window ends)."""
    limit = limit or settings.KIOSK_RATE_LIMIT_PER_MINUTE
    now = int(time.time())
    window, left = now // 60, 60 - now % 60
    cache_key = f"rate:{kind}:{key}:{window}"
    try:
        cache.add(cache_key, 0, timeout=61)
        count = cache.incr(cache_key)
    except Exception:  # noqa: BLE001 - any Redis failure: let the request through
        log.warning("rate limit skipped: Redis unavailable", exc_info=True)
        return True, 0
    return count <= limit, left
