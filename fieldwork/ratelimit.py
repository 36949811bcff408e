"""A per-device rate limit in Redis, in fixed one-minute windows.

It fails open: when Redis is unreachable kiosks keep submitting, because losing responses is worse
than a moment without a limit.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)


_COUNT = "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"


def allow(kind: str, key, limit: int | None = None) -> tuple[bool, int]:
    """(allowed, seconds until the window ends)."""
    limit = limit or settings.KIOSK_RATE_LIMIT_PER_MINUTE
    now = int(time.time())
    window, left = now // 60, 60 - now % 60
    cache_key = cache.make_and_validate_key(f"rate:{kind}:{key}:{window}")
    try:
        # One round trip (Django's add + incr take three; a redis-py pipeline costs more CPU than
        # they do): the count is a plain integer, as the cache stores integers.
        count = cache._cache.get_client(cache_key, write=True).eval(_COUNT, 1, cache_key, 61)
    except Exception:  # noqa: BLE001 - any Redis failure: let the request through
        log.warning("rate limit skipped: Redis unavailable", exc_info=True)
        return True, 0
    return count <= limit, left
