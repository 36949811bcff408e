"""Signed tokens for links (an invitation's personal link, a unit's desk-poster link): the payload's
bytes and a MAC of them, keyed with the secret key and a salt per kind (``salted_hmac``, truncated to
96 bits so that a link stays short enough for an SMS), both base64url without padding. A token made
under a key in ``SECRET_KEY_FALLBACKS`` is still read, so printed links outlive a key rotation.

- ``token_sign(data, salt) -> str``; ``token_read(token, salt, size) -> bytes | None``: the payload of
  ``size`` bytes when the token is well formed and its MAC right, else None (never an exception).
"""

import base64
import hmac
import re

from django.conf import settings
from django.utils.crypto import salted_hmac

MAC_BYTES = 12
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64_length(size: int) -> int:
    return (4 * size + 2) // 3


def _mac(data: bytes, salt: str, secret=None) -> bytes:
    return salted_hmac(salt, data.hex(), secret=secret, algorithm="sha256").digest()[:MAC_BYTES]


def token_sign(data: bytes, salt: str) -> str:
    return _b64(data) + _b64(_mac(data, salt))


def token_read(token, salt: str, size: int) -> bytes | None:
    head = _b64_length(size)
    if not isinstance(token, str) or len(token) != head + _b64_length(MAC_BYTES) or not _ALPHABET.fullmatch(token):
        return None
    try:
        data = base64.urlsafe_b64decode(token[:head] + "=" * (-head % 4))
        mac = base64.urlsafe_b64decode(token[head:] + "=" * (-len(token[head:]) % 4))
    except ValueError:
        return None
    if len(data) != size:
        return None
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        if hmac.compare_digest(mac, _mac(data, salt, secret)):
            return data
    return None
