"""Login throttling: a few failed attempts, then a pause, without letting an attacker lock staff out.

Called from one place, the authentication backend (surveyapp/auth.py), so every page that checks a
password through ``django.contrib.auth.authenticate`` — the staff login, the admin's login, any later
one — is counted and refused alike. The design is OWASP's "device cookie" lockout:

- A browser that logged in as a user gets a signed device cookie for that user. Its failures for
  that user count against that browser only (``LOGIN_FAILURE_LIMIT``), so strangers' failures never
  refuse a member of staff on the browser they use.
- Every other attempt is untrusted and counted three ways: per username and client address
  (``LOGIN_FAILURE_LIMIT``), per username from anywhere (``LOGIN_USERNAME_FAILURE_LIMIT``: a botnet
  cannot guess without end), and per address across usernames (``LOGIN_ADDRESS_FAILURE_LIMIT``:
  one password tried on every username). Reaching any of them refuses untrusted attempts only.

A username is counted in the normal form the login itself looks it up by (NFKC, then casefolded and
stripped), so it is locked in every spelling; cache keys and cookies hold a keyed hash of it, never
the name. Counters live in the Redis cache, so they hold across web processes and expire on their
own. With Redis unreachable the throttle steps aside (logged as an error) rather than turn every
login into a server error: passwords are still checked, only the counting pauses.
"""

import logging
import secrets
import time
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils.crypto import salted_hmac

from surveyapp.proxy import client_address

log = logging.getLogger(__name__)

DEVICE_COOKIE = "sipas_device"
_DEVICE_SALT = "surveyapp.throttle.device"
_DEVICE_COOKIE_USERS = 20  # usernames one browser vouches for: a shared office computer has several
_REFUSED = "_surveyapp_login_refused"  # request attributes, read through the functions below
_NEW_COOKIE = "_surveyapp_device_cookie"


def login_key(username) -> str:
    """The username as the login looks it up (Django's NFKC), casefolded and stripped: one key for
    every spelling of a name (fullwidth, mathematical letters, case, surrounding spaces)."""
    return unicodedata.normalize("NFKC", str(username or "")).casefold().strip()


def _user_tag(username) -> str:
    return salted_hmac("surveyapp.throttle.user", login_key(username)).hexdigest()[:24]


def _device_entries(request) -> dict:
    """This browser's device cookie: {"n": nonce, "u": {user tag: issued at (epoch seconds)}}."""
    raw = request.COOKIES.get(DEVICE_COOKIE) if request is not None else None
    if not raw:
        return {}
    try:
        value = signing.loads(raw, salt=_DEVICE_SALT)
    except signing.BadSignature:
        return {}
    if not isinstance(value, dict) or not isinstance(value.get("n"), str) or not isinstance(value.get("u"), dict):
        return {}
    return value


@dataclass(frozen=True)
class _Attempt:
    user: str  # keyed hash of the username's login key
    address: str
    device: str | None  # this browser's nonce, when its device cookie vouches for the username

    @classmethod
    def of(cls, request, username):
        user = _user_tag(username)
        cookie = _device_entries(request)
        issued = cookie.get("u", {}).get(user)
        fresh = isinstance(issued, int) and time.time() - issued < settings.LOGIN_DEVICE_COOKIE_DAYS * 86400
        address = client_address(request) if request is not None else ""
        return cls(user=user, address=address or "-", device=cookie["n"] if fresh else None)

    def counters(self) -> list[tuple[str, int]]:
        """(cache key, limit) of every count this attempt is held to."""
        if self.device:
            return [(f"login-failures:device:{self.device}:{self.user}", settings.LOGIN_FAILURE_LIMIT)]
        return [
            (f"login-failures:user-addr:{self.user}:{self.address}", settings.LOGIN_FAILURE_LIMIT),
            (f"login-failures:user:{self.user}", settings.LOGIN_USERNAME_FAILURE_LIMIT),
            (f"login-failures:addr:{self.address}", settings.LOGIN_ADDRESS_FAILURE_LIMIT),
        ]


def login_refused(request, username) -> bool:
    """True if this attempt must not even be checked; the request remembers it for the page's message."""
    attempt = _Attempt.of(request, username)
    try:
        counts = cache.get_many([key for key, _ in attempt.counters()])
    except Exception:  # noqa: BLE001 - any Redis failure
        log.error("login throttling skipped: Redis unavailable", exc_info=True)
        return False
    refused = any((counts.get(key) or 0) >= limit for key, limit in attempt.counters())
    if refused and request is not None:
        setattr(request, _REFUSED, True)
    return refused


def was_refused(request) -> bool:
    """True if a login on this request was refused by the throttle (the form then says so)."""
    return getattr(request, _REFUSED, False)


def login_failed(request, username) -> None:
    try:
        for key, _ in _Attempt.of(request, username).counters():
            # add() starts the window; incr() counts within it and keeps its expiry.
            cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)
    except Exception:  # noqa: BLE001
        log.error("a failed login was not counted: Redis unavailable", exc_info=True)


def login_succeeded(request, username) -> None:
    """Clears this client's count for the username and vouches for the browser from now on."""
    attempt = _Attempt.of(request, username)
    try:
        cache.delete(attempt.counters()[0][0])
    except Exception:  # noqa: BLE001
        log.error("a login's failure count was not cleared: Redis unavailable", exc_info=True)
    if request is not None:
        cookie = _device_entries(request)
        users = {tag: at for tag, at in cookie.get("u", {}).items() if tag != attempt.user}
        kept = dict(sorted(users.items(), key=lambda item: item[1])[-(_DEVICE_COOKIE_USERS - 1):])
        kept[attempt.user] = int(time.time())
        value = {"n": cookie.get("n") or secrets.token_urlsafe(12), "u": kept}
        setattr(request, _NEW_COOKIE, signing.dumps(value, salt=_DEVICE_SALT))


def set_device_cookie(request, response) -> None:
    """Sends the device cookie a login on this request earned (surveyapp.middleware calls it)."""
    value = getattr(request, _NEW_COOKIE, None)
    if value:
        response.set_cookie(DEVICE_COOKIE, value, max_age=settings.LOGIN_DEVICE_COOKIE_DAYS * 86400,
                            secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax")


def lockout_minutes() -> int:
    return max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
