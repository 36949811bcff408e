"""A per-device rate limit in Redis, in fixed one-minute windows, leased to each process in parts.

Redis counts what it has granted in the device's window and never grants more than the limit in
all. A process asks for up to ``lease`` requests at a time and spends them from its memory, so a
busy kiosk costs one Redis call every ``lease`` requests instead of one a request (0.09 ms of the
web process's CPU each, 5 % of a submission). The price: requests another process holds but does
not spend are counted, so a device spread over P processes may be refused after ``limit - (P - 1) *
(lease - 1)`` requests of a minute; a kiosk sends a few. While one thread of a process asks Redis
for a device, the others ask for one request each, so a burst takes one lease, not one a request.

It fails open: when Redis is unreachable kiosks keep submitting, because losing responses is worse
than a moment without a limit.

Redis sees a keyed digest of what a caller limits by (``redis_key``), never the value itself: callers
limit by secrets (the at-home link's token) and by people's addresses, and key names are listed by
anyone who can run ``SCAN`` on the server.
"""

import logging
import threading
import time

from django.conf import settings
from django.utils.crypto import salted_hmac

from surveyapp.internals import cache_eval

log = logging.getLogger(__name__)


# KEYS[1]: the window's count of grants; ARGV: its time to live, the lease wanted, the limit.
# Returns how many requests it grants (0: the limit is reached).
_GRANT = """
local granted = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = math.min(tonumber(ARGV[2]), tonumber(ARGV[3]) - granted)
if grant <= 0 then return 0 end
if redis.call('INCRBY', KEYS[1], grant) == grant then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return grant
"""

_lock = threading.Lock()
_held = {}  # (kind, key, window) -> requests granted to this process and not spent yet
_asking = {}  # (kind, key, window) -> this process's calls to Redis under way for it
_held_window = None


def allow(kind: str, key, limit: int | None = None, lease: int | None = None) -> tuple[bool, int]:
    """(allowed, seconds until the window ends)."""
    limit = limit or settings.KIOSK_RATE_LIMIT_PER_MINUTE
    lease = max(1, min(lease or settings.KIOSK_RATE_LIMIT_LEASE, limit))
    now = int(time.time())
    window, left = now // 60, 60 - now % 60
    held_key = (kind, key, window)
    wanted = _spend_held_or_ask(held_key, window, lease)
    if wanted == 0:
        return True, left
    try:
        # One round trip, on the server of Django's cache (a plain integer, as the cache stores them).
        grant = cache_eval(_GRANT, redis_key(kind, key, window), 61, wanted, limit)
    except Exception:  # noqa: BLE001 - any Redis failure: let the request through
        log.warning("rate limit skipped: Redis unavailable", exc_info=True)
        grant = None
    with _lock:
        asking = _asking.get(held_key, 0) - 1
        if asking > 0:
            _asking[held_key] = asking
        else:
            _asking.pop(held_key, None)
        if grant and grant > 1:
            _held[held_key] = _held.get(held_key, 0) + grant - 1
    if grant is None:
        return True, 0
    return grant > 0, left


def redis_key(kind: str, key, window: int) -> str:
    """The cache key of the count of ``key``'s requests in ``window``: ``key`` as an HMAC of the site's
    secret key, so neither a token nor an address given as ``key`` can be read from Redis (nor an
    address found by hashing every IPv4 address, as a plain hash would let anyone)."""
    digest = salted_hmac("fieldwork.ratelimit", f"{kind}:{key}", algorithm="sha256").hexdigest()[:32]
    return f"rate:{kind}:{digest}:{window}"


def _spend_held_or_ask(held_key, window, lease) -> int:
    """0 when a held request was spent; else how many to ask Redis for: the lease, or 1 while
    another thread of this process is asking for this device already (a burst of one device's
    requests would otherwise take a lease each)."""
    global _held_window
    with _lock:
        if window != _held_window:  # a new minute: what was held for the last one is void
            _held.clear()
            _held_window = window
        if _held.get(held_key, 0) > 0:
            _held[held_key] -= 1
            return 0
        wanted = 1 if _asking.get(held_key) else lease
        _asking[held_key] = _asking.get(held_key, 0) + 1
        return wanted


def forget() -> None:
    """Drop this process's held requests (tests: each starts with its own Redis counts empty)."""
    with _lock:
        _held.clear()
