"""What the apps need from the private parts of Django, redis-py and psycopg2, in one place.

App code calls only these small functions; tests/surveyapp/test_internals.py pins each against the
installed versions, so an upgrade that changes what they lean on fails there first. Each exists for
speed on a hot path (a kiosk submission): keep them as cheap as the
code they replaced.
"""

import functools
import re
import weakref

from django.core.cache import cache
from django.db import connection as default_connection

# --------------------------------------------------------------------------------------------
# Django's Redis cache (django.core.cache.backends.redis, with surveyapp.cache's client)


def cache_client():
    """The ``redis.Redis`` of the server Django's cache writes its keys to (one per connection pool:
    surveyapp.cache), for what the cache has no method for. Keys on it are the cache's full keys
    (``cache.make_and_validate_key``)."""
    return cache._cache.get_client(write=True)


def cache_eval(script, key, *args):
    """Run a Lua ``script`` on the cache's server in one round trip, with the cache key ``key`` (as
    given to ``cache.get``: the key prefix and version are added here) as KEYS[1] and ``args`` as
    ARGV. What it stores is read back by ``cache.get`` when it is what Django stores: integers as
    they are, anything else pickled."""
    full_key = cache.make_and_validate_key(key)
    return cache._cache.get_client(full_key, write=True).eval(script, 1, full_key, *args)


# --------------------------------------------------------------------------------------------
# Django's database connections (psycopg2)


def skip_connection_health_check(connection=None):
    """Skip Django's health check of the connection (CONN_HEALTH_CHECKS: a ``SELECT 1`` before the
    first query of each request) for the rest of this request. A broken connection then fails the
    request's first query instead of being replaced; Django closes it when the request ends."""
    (default_connection if connection is None else connection).health_check_done = True


def mark_loaded(instance, using):
    """Make a model instance built in memory for a row the caller has just stored by hand (raw SQL)
    behave as one Django loaded from database ``using``: ``save()`` updates that row instead of
    inserting it again (a primary key with a default makes Django insert a new instance outright),
    and related objects are read from that database. ``Model.from_db`` would need every field in
    the model's order."""
    instance._state.adding, instance._state.db = False, using
    return instance


_prepared = weakref.WeakKeyDictionary()  # psycopg2 connection -> names of the statements prepared on it


def execute_prepared(cursor, name, sql, params):
    """Run ``sql`` (named %(x)s::type parameters, ``params`` a dict) as the prepared statement
    ``name`` of the cursor's connection: planning the statement costs more than running it, so it
    is planned once per connection, not per call. A new connection (after a reconnect) prepares it
    again: the statements prepared are remembered per psycopg2 connection, which a reconnect replaces.

    PostgreSQL would still plan each execution anew for its parameters (it judges that cheap); the
    session's plan_cache_mode makes it keep one generic plan instead (1.6 → 0.9 ms for the kiosk's
    STORE_SQL). Django itself prepares nothing, so the setting touches only statements prepared here."""
    raw = cursor.db.connection
    names = _parameter_names(sql)
    if name not in _prepared.setdefault(raw, set()):
        positional = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", sql)
        cursor.execute(f"PREPARE {name} AS {positional}")
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        _prepared[raw].add(name)
    cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(names))})", [params[n] for n in names])


@functools.cache
def _parameter_names(sql):
    return list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
