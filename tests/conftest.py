import pytest
from django.conf import settings


def pytest_configure(config):
    # The one test tweak of settings: a fast password hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty Redis cache (the tests have a Redis database of their own)."""
    from django.core.cache import cache

    cache.clear()
    yield
