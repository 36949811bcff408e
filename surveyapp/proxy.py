"""The address of the client behind the site's own proxies: the one place that reads it.

Off by default (``TRUSTED_PROXY_HEADER`` empty): the address is the connection's, ``REMOTE_ADDR``,
and a client-sent ``X-Forwarded-For`` means nothing. Behind a TLS proxy, name the header it writes
(``X-Forwarded-For`` or ``X-Real-IP``) and how many proxies stand in front of the site
(``TRUSTED_PROXY_COUNT``). Each proxy appends the address it received the request from, so the
chain ``header entries + REMOTE_ADDR`` ends with the trusted proxies, and the client is the
right-most hop before them. Entries to its left were written by the client and are never used.
The site must then be reachable only through those proxies.
"""

import ipaddress

from django.conf import settings


def _address(text: str) -> str | None:
    """A normalised IP address, from ``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80`` or ``::1``; else None."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_address(request) -> str:
    """The client's IP address as the site's trusted proxies saw it ("" when there is none)."""
    remote = request.META.get("REMOTE_ADDR") or ""
    header = settings.TRUSTED_PROXY_HEADER
    if not header:
        return _address(remote) or remote
    chain = [part for part in request.headers.get(header, "").split(",") if part.strip()] + [remote]
    proxies = max(1, settings.TRUSTED_PROXY_COUNT)
    if len(chain) <= proxies:  # fewer hops than proxies: nothing in the header can be told from a forgery
        return _address(remote) or remote
    return _address(chain[-(proxies + 1)]) or _address(remote) or remote
