"""The per-device limit, leased to each process in parts (fieldwork/ratelimit.py), against real Redis."""

from unittest import mock

import pytest
from django.core.cache import cache

from fieldwork import ratelimit

MINUTE = 1_800_000_000  # a whole minute: the window is the same for 60 s from here


@pytest.fixture
def clock():
    with mock.patch("fieldwork.ratelimit.time.time", return_value=MINUTE + 5.0) as now:
        yield now


def granted_in_redis(key, at=MINUTE):
    return cache.get(ratelimit.redis_key("kiosk", key, at // 60))


def test_one_process_is_allowed_exactly_the_limit_asking_redis_once_a_lease(clock):
    answers = []
    for _ in range(26):
        answers.append(ratelimit.allow("kiosk", 7, limit=25, lease=10)[0])
        if len(answers) == 1:
            first_lease = granted_in_redis(7)

    assert answers == [True] * 25 + [False]
    assert (first_lease, granted_in_redis(7)) == (10, 25)  # leases of 10, 10 and the last 5


def test_what_another_process_holds_counts_against_the_device_and_never_more_than_the_limit(clock):
    assert ratelimit.allow("kiosk", 8, limit=25, lease=10) == (True, 55)  # holds 9 more
    ratelimit._held.clear()  # from here on, another process

    others = [ratelimit.allow("kiosk", 8, limit=25, lease=10)[0] for _ in range(20)]

    assert others == [True] * 15 + [False] * 5
    assert granted_in_redis(8) == 25


def test_a_new_minute_starts_afresh_and_voids_what_was_held(clock):
    ratelimit.allow("kiosk", 9, limit=3, lease=3)  # holds 2

    clock.return_value = MINUTE + 65.0
    answers = [ratelimit.allow("kiosk", 9, limit=3, lease=3)[0] for _ in range(4)]

    assert answers == [True, True, True, False]
    assert granted_in_redis(9, at=MINUTE + 60) == 3


def test_a_lease_of_one_asks_redis_for_every_request(clock):
    ratelimit.allow("kiosk", 10, limit=5, lease=1)
    ratelimit.allow("kiosk", 10, limit=5, lease=1)

    assert granted_in_redis(10) == 2 and ratelimit._held == {}


def test_a_burst_of_one_device_in_one_process_takes_one_lease_not_one_each(clock):
    import threading

    barrier = threading.Barrier(20)
    answers = []

    def send():
        barrier.wait()
        answers.append(ratelimit.allow("kiosk", 11, limit=120, lease=10)[0])

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [True] * 20
    # one lease of 10 while the others ask for 1 each: at most 10 + 19, never 20 leases of 10
    assert granted_in_redis(11) <= 29 and ratelimit._asking == {}
