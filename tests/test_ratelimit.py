"""The shared token bucket, in a real Redis."""

from __future__ import annotations

import pytest
import redis

from bridge import tasks
from bridge.config import RateLimit
from bridge.ratelimit import RateLimiter
from bridge.store import Store
from tests.support import free_port


@pytest.fixture
def limiter(redis_url):
    return RateLimiter(Store(redis.Redis.from_url(redis_url), 3600))


def test_a_burst_passes_then_slots_are_spaced_by_the_rate(limiter):
    limit = RateLimit(per_second=10, burst=3)
    waits = [limiter.reserve("chat", limit, max_wait=60) for _ in range(8)]
    assert waits[:3] == [0, 0, 0]
    # Each later send gets the next free slot, one interval (0.1 s) after the previous one.
    steps = [b - a for a, b in zip(waits[3:], waits[4:], strict=False)]
    assert all(step == pytest.approx(0.1, abs=0.02) for step in steps)
    assert waits[3] == pytest.approx(0.1, abs=0.02)


def test_a_wait_beyond_max_wait_reserves_nothing(limiter):
    limit = RateLimit(per_second=1, burst=1)
    assert limiter.reserve("chat", limit, max_wait=0.5) == 0
    first = limiter.reserve("chat", limit, max_wait=0.5)
    second = limiter.reserve("chat", limit, max_wait=0.5)
    assert first > 0.5 and second == pytest.approx(first, abs=0.05)


def test_targets_have_separate_buckets(limiter):
    limit = RateLimit(per_second=1, burst=1)
    assert limiter.reserve("chat", limit, max_wait=5) == 0
    assert limiter.reserve("inbox", limit, max_wait=5) == 0
    assert limiter.reserve("chat", limit, max_wait=5) > 0.5


def test_the_workers_steps_reserve_from_the_same_bucket_as_the_limiter(limiter):
    limit = RateLimit(per_second=10, burst=2)

    def by_steps() -> float:
        [wait] = limiter.store.steps().reserve("chat", limit, 60).run()
        return float(wait)

    waits = [by_steps(), limiter.reserve("chat", limit, 60), by_steps(), limiter.reserve("chat", limit, 60), by_steps()]
    assert waits[:2] == [0, 0]
    assert [b - a for a, b in zip(waits[2:], waits[3:], strict=False)] == [pytest.approx(0.1, abs=0.02)] * 2
    # Beyond max_wait the steps reserve nothing either.
    [refused] = limiter.store.steps().reserve("chat", limit, 0.01).run()
    assert float(refused) > 0.01 and limiter.reserve("chat", limit, 60) == pytest.approx(waits[-1] + 0.1, abs=0.03)


def test_a_redis_that_lost_its_scripts_gets_the_reservation_again(limiter):
    limit = RateLimit(per_second=1, burst=1)
    assert limiter.reserve("chat", limit, max_wait=5) == 0
    limiter.store.redis.script_flush()  # as a restart without persistence leaves it
    assert limiter.reserve("chat", limit, max_wait=5) > 0.5


def test_redis_away_raises_what_the_worker_retries():
    limiter = RateLimiter(Store(redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1), 3600))
    with pytest.raises(redis.ConnectionError):
        limiter.reserve("chat", RateLimit(per_second=1, burst=1), max_wait=5)
    assert issubclass(redis.ConnectionError, tasks.TRANSIENT)
