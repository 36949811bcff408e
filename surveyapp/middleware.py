"""Security headers Django's SecurityMiddleware does not send.

A Content Security Policy: no framing by other sites (the same as ``X-Frame-Options: DENY``, for
browsers that read only CSP), no ``<base>`` pointing elsewhere, forms posting only to this site, no
plugins, and scripts only from the site's own files. Styles are not restricted: some templates size
their progress bars with a style attribute. ``Cache-Control: no-store`` on what staff see, and the
login throttle's device cookie. A 400 for a NUL in the address, which PostgreSQL cannot take.
"""

from django.conf import settings
from django.http import HttpResponseBadRequest
from django.utils.translation import gettext as _

from surveyapp import throttle

# Pages and answers that carry scores, whoever asks (a token holder of the API has no session).
NO_STORE_PREFIXES = ("/scores/", "/api/v1/scores/")


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


def no_store_for_staff(get_response):
    """Nothing a logged-in member of staff sees, and no score page or API answer, is kept by the
    browser's cache or a proxy (a shared office computer's next user could read it back). A view
    that sets its own Cache-Control keeps it."""

    def middleware(request):
        response = get_response(request)
        if not response.has_header("Cache-Control") and (
                request.path.startswith(NO_STORE_PREFIXES) or _logged_in(request)):
            response["Cache-Control"] = "no-store, private"
        return response

    return middleware


def _logged_in(request):
    # Without a session cookie nobody is logged in; not touching the session then keeps anonymous
    # pages (the kiosk's) free of "Vary: Cookie".
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated)


def login_device_cookie(get_response):
    """Sends the device cookie a successful login earned (surveyapp/throttle.py says why)."""

    def middleware(request):
        response = get_response(request)
        throttle.set_device_cookie(request, response)
        return response

    return middleware
