"""Security headers Django's SecurityMiddleware does not send.

A Content Security Policy limited to what cannot break a page: no framing by other sites (the
same as ``X-Frame-Options: DENY``, for browsers that read only CSP), no ``<base>`` pointing
elsewhere, forms posting only to this site, no plugins. Scripts and styles are not restricted
yet: the kiosk's pairing page still has an inline script.
"""

from django.conf import settings


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
