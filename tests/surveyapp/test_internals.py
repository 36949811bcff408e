"""surveyapp.internals against the installed Django, redis-py and psycopg2: what each helper leans on
still works as the hot paths that call it expect, so an upgrade that changes it fails here first."""

import time

import pytest
from django.core.cache import cache
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from fieldwork.models import Response
from surveyapp.internals import (
    cache_client,
    cache_eval,
    execute_prepared,
    mark_loaded,
    skip_connection_health_check,
)
from tests.fieldwork.base import KioskTestCase


class CacheHelperTests(TestCase):
    def stored(self, key):
        """The bytes the cache's server holds for a cache key, and their time to live."""
        full_key = cache.make_and_validate_key(key)
        return cache_client().get(full_key), cache_client().ttl(full_key)

    def test_the_cache_client_is_one_client_of_the_server_django_writes_to(self):
        cache.set("internals:written", 5, 60)

        self.assertIs(cache_client(), cache_client())  # surveyapp.cache: one redis.Redis per pool
        self.assertEqual(self.stored("internals:written")[0], b"5")

    def test_a_script_gets_the_full_key_django_uses_and_its_arguments_in_order(self):
        echo = "return {KEYS[1], ARGV[1], ARGV[2]}"

        answer = cache_eval(echo, "internals:script", 61, "x")

        self.assertEqual(answer, [cache.make_and_validate_key("internals:script").encode(), b"61", b"x"])

    def test_an_integer_a_script_stores_reads_back_through_cache_get_as_an_integer(self):
        add = "return redis.call('INCRBY', KEYS[1], ARGV[1])"

        self.assertEqual([cache_eval(add, "internals:count", 3), cache_eval(add, "internals:count", 4)], [3, 7])
        self.assertEqual(cache.get("internals:count"), 7)
        cache.incr("internals:count")  # and the cache's own counting goes on from it
        self.assertEqual(cache_eval("return redis.call('GET', KEYS[1])", "internals:count"), b"8")


class ConnectionHelperTests(TestCase):
    def second_connection(self, **settings):
        """A connection of its own (out of the test's transaction), which the test may break."""
        other = connection.copy()
        other.settings_dict.update(settings)
        self.addCleanup(other.close)
        return other

    def backend_pid(self, other):
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    def break_server_side(self, other):
        """Ends the connection's server process, as a restart of PostgreSQL or a network cut would."""
        pid = self.backend_pid(other)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # else a transaction sees one snapshot of it
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
                if cursor.fetchone()[0] == 0:
                    return pid
                time.sleep(0.05)
        self.fail(f"server process {pid} did not end")

    def test_with_the_health_check_a_broken_connection_is_replaced_before_the_first_query(self):
        other = self.second_connection(CONN_HEALTH_CHECKS=True)
        broken = self.break_server_side(other)
        other.health_check_done = False  # as Django does at the start of each request

        self.assertNotEqual(self.backend_pid(other), broken)

    def test_skipping_the_health_check_makes_the_first_query_meet_the_broken_connection(self):
        other = self.second_connection(CONN_HEALTH_CHECKS=True)
        self.break_server_side(other)
        other.health_check_done = False  # as Django does at the start of each request

        skip_connection_health_check(other)

        with pytest.raises((OperationalError, InterfaceError)):
            self.backend_pid(other)  # no SELECT 1 went first to find it broken and reconnect

    def test_skipping_the_health_check_of_the_default_connection_marks_it_done_for_this_request(self):
        connection.health_check_done = False

        skip_connection_health_check()

        self.assertTrue(connection.health_check_done)

    def run_prepared(self, other, **params):
        sql = "SELECT %(a)s::int * %(a)s::int + %(b)s::int, current_setting('plan_cache_mode')"
        with CaptureQueriesContext(other) as queries, other.cursor() as cursor:
            execute_prepared(cursor, "internals_test_square", sql, params)
            answer = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = 'internals_test_square'")
            statements = cursor.fetchone()[0]
        prepares = sum(query["sql"].startswith("PREPARE") for query in queries.captured_queries)
        return answer, prepares, statements

    def test_a_statement_is_prepared_once_per_connection_and_again_after_a_reconnect(self):
        other = self.second_connection()

        first = self.run_prepared(other, a=3, b=1)
        second = self.run_prepared(other, a=2, b=5)
        other.close()
        reconnected = self.run_prepared(other, a=4, b=0)

        self.assertEqual(first, ((10, "force_generic_plan"), 1, 1))
        self.assertEqual(second, ((9, "force_generic_plan"), 0, 1))
        self.assertEqual(reconnected, ((16, "force_generic_plan"), 1, 1))

    def test_a_prepared_statement_survives_a_connection_broken_and_replaced_by_the_health_check(self):
        other = self.second_connection(CONN_HEALTH_CHECKS=True)
        self.run_prepared(other, a=1, b=1)
        self.break_server_side(other)
        other.health_check_done = False

        self.assertEqual(self.run_prepared(other, a=5, b=5), ((30, "force_generic_plan"), 1, 1))


class MarkLoadedTests(KioskTestCase):
    def stored_response_built_in_memory(self):
        """A new instance of a response the database holds, as the storing statement's caller builds one."""
        self.assertEqual(self.post(self.payload()).status_code, 201)
        loaded = Response.objects.get()
        return loaded, Response(**{f.attname: getattr(loaded, f.attname) for f in Response._meta.concrete_fields})

    def saved_statement(self, instance):
        """What ``save()`` sends for the instance (responses are append-only: either is refused)."""
        with CaptureQueriesContext(connection) as queries, pytest.raises(IntegrityError), transaction.atomic():
            instance.save()
        return [q["sql"].split()[0] for q in queries.captured_queries if "fieldwork_response" in q["sql"]]

    def test_an_instance_built_in_memory_is_inserted_again_by_save_unless_marked_loaded(self):
        _, built = self.stored_response_built_in_memory()

        self.assertEqual(self.saved_statement(built), ["INSERT"])  # a primary key with a default: inserted outright

    def test_an_instance_marked_loaded_has_the_state_of_one_django_loaded_and_save_updates_its_row(self):
        loaded, built = self.stored_response_built_in_memory()

        self.assertIs(mark_loaded(built, connection.alias), built)

        self.assertEqual((built._state.adding, built._state.db), (loaded._state.adding, loaded._state.db))
        self.assertEqual(self.saved_statement(built), ["UPDATE"])
