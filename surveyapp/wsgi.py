"""The WSGI application that servers load (gunicorn, granian; runserver too).

Two Django handlers behind one callable: requests under ``settings.KIOSK_API_PREFIX`` go through
``settings.KIOSK_API_MIDDLEWARE`` (the security headers only), every other request through
``settings.MIDDLEWARE``. The same URLconf and views serve both.
"""

import gc
import os

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "surveyapp.settings")
django.setup(set_prefix=False)


class KioskApiHandler(WSGIHandler):
    """A handler whose middleware chain is ``settings.KIOSK_API_MIDDLEWARE``.

    Django builds a handler's chain from ``settings.MIDDLEWARE`` once, when the handler is made:
    the setting is swapped for that moment only, in the single thread that loads the application."""

    def load_middleware(self, is_async=False):
        site_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.KIOSK_API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = site_middleware


site_handler = WSGIHandler()
kiosk_api_handler = KioskApiHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith(settings.KIOSK_API_PREFIX):
        return kiosk_api_handler(environ, start_response)
    return site_handler(environ, start_response)


def _freeze_what_lives_forever():
    """Leave the application's own objects out of the garbage collector's full collections.

    A full collection walks every tracked object while holding the GIL: with Django, the URL
    patterns, the models and the views loaded, that is about 90,000 objects and 50-130 ms on a
    slow day of a 2-core machine, during which no request of the process advances (bench/load.py
    saw those pauses as its p99). These objects live as long as the process, so they are loaded
    now (the URLconf imports every view) and moved to the permanent generation, which collections
    skip. What requests make is collected as before."""
    from django.urls import get_resolver

    _ = get_resolver().url_patterns
    gc.collect()
    gc.freeze()


_freeze_what_lives_forever()
