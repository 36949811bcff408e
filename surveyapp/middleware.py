"""Security headers Django's SecurityMiddleware does not send.

A Content Security Policy limited to what cannot break a page: no framing by other sites (the
same as ``X-Frame-Options: DENY``, for browsers that read only CSP), no ``<base>`` pointing
elsewhere, forms posting only to this site, no plugins. Scripts and styles are not restricted
yet: the kiosk's pairing page still has an inline script.
"""

from django.conf import settings
from django.http import HttpResponseBadRequest
from django.utils.translation import gettext as _


def security_headers(get_response):
    policy = settings.CONTENT_SECURITY_POLICY

    def middleware(request):
        response = get_response(request)
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response

    return middleware


def content_length(get_response):
    """The length of every complete answer, as CommonMiddleware sets it on the site's pages: for the
    kiosk API, whose chain leaves CommonMiddleware out (its slash and host redirects cost 45 µs a
    request and no API URL needs them). Without it, servers send the answer chunked."""

    def middleware(request):
        response = get_response(request)
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response

    return middleware


def refuse_nul(get_response):
    """A 400 for a NUL character anywhere in the address (path or query): PostgreSQL takes no NUL in
    text, so a unit code, a round's query parameter or any later lookup carrying one would fail in
    the database with a server error. Forms refuse NUL in posted fields themselves (Django's
    ProhibitNullCharactersValidator on every CharField)."""

    def middleware(request):
        if "\x00" in request.path or any("\x00" in text for key, values in request.GET.lists()
                                         for text in (key, *values)):
            return HttpResponseBadRequest(_("The address contains a NUL character (0x00), which no page takes."),
                                          content_type="text/plain; charset=utf-8")
        return get_response(request)

    return middleware
