"""Login throttling: a few failed attempts per username and per client address, then a pause.

Counters live in the Redis cache, so they hold across web processes and expire on their own.
"""

from django.conf import settings
from django.core.cache import cache


def _keys(username, address):
    return [f"login-failures:user:{(username or '').strip().lower()}", f"login-failures:addr:{address or '-'}"]


def login_is_locked(username, address) -> bool:
    limit = settings.LOGIN_FAILURE_LIMIT
    return any((cache.get(key) or 0) >= limit for key in _keys(username, address))


def login_failed(username, address) -> None:
    for key in _keys(username, address):
        # add() starts the window; incr() counts within it and keeps its expiry.
        cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)


def login_succeeded(username) -> None:
    cache.delete(_keys(username, None)[0])
