"""Login throttling: a few failed attempts per username and per client address, then a pause.

Counters live in the Redis cache, so they hold across web processes and expire on their own.
With Redis unreachable the throttle steps aside (logged as an error) rather than turn every login
into a server error: passwords are still checked, only the counting pauses.
"""

import logging

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)


def _keys(username, address):
    return [f"login-failures:user:{(username or '').strip().lower()}", f"login-failures:addr:{address or '-'}"]


def login_is_locked(username, address) -> bool:
    limit = settings.LOGIN_FAILURE_LIMIT
    try:
        return any((cache.get(key) or 0) >= limit for key in _keys(username, address))
    except Exception:  # noqa: BLE001 - any Redis failure
        log.error("login throttling skipped: Redis unavailable", exc_info=True)
        return False


def login_failed(username, address) -> None:
    try:
        for key in _keys(username, address):
            # add() starts the window; incr() counts within it and keeps its expiry.
            cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)
    except Exception:  # noqa: BLE001
        log.error("a failed login was not counted: Redis unavailable", exc_info=True)


def login_succeeded(username) -> None:
    try:
        cache.delete(_keys(username, None)[0])
    except Exception:  # noqa: BLE001
        log.error("a login's failure count was not cleared: Redis unavailable", exc_info=True)
