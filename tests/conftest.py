import pytest
from django.conf import settings


def pytest_configure(config):
    # The test tweaks of settings: a fast password hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english():
    """Code called directly by tests speaks English (pages: see tests.base.EnglishClient)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with none of this run's cache keys (other runs may share the Redis database)."""
    from surveyapp.internals import cache_client

    client = cache_client()
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    from fieldwork import ratelimit

    ratelimit.forget()  # what this process holds of the rate limit's counts, in the keys just deleted
    from fieldwork import responses, services

    # Rows another test remembered were rolled back with it: an id may come back as another row.
    services.kiosk_memory.clear()
    responses.round_memory.clear()
    responses.levels_memory.clear()
    yield
