import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "surveyapp.settings")
application = get_wsgi_application()


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
