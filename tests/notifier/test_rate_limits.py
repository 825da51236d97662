"""The sliding windows, one suite on both backends: in memory and in the real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from maskwatch.notification_rules import RateLimit
from services.notifier.rate_limits import MemoryRateLimiter, RateLimiter, RedisRateLimiter, Window


@pytest.fixture(params=["memory", "redis"])
def limiter(request, redis_url, unique_id) -> Iterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter()
        return
    redis_limiter = RedisRateLimiter(redis_url, f"test-{unique_id}")
    yield redis_limiter
    redis_limiter.close()


T0 = 1_800_000_000.0


def test_a_window_lets_its_count_through_then_says_when_a_slot_frees(limiter):
    two_a_minute = [Window("recipient:1", RateLimit(count=2, per_s=60))]
    assert limiter.acquire(two_a_minute, T0, "a") == 0
    assert limiter.acquire(two_a_minute, T0 + 10, "b") == 0
    assert limiter.acquire(two_a_minute, T0 + 20, "c") == pytest.approx(40)  # when "a" leaves the window
    assert limiter.acquire(two_a_minute, T0 + 59, "c") == pytest.approx(1)
    assert limiter.acquire(two_a_minute, T0 + 60, "c") == 0
    assert limiter.acquire(two_a_minute, T0 + 65, "d") == pytest.approx(5)  # now "b" must leave


def test_a_message_takes_a_slot_in_every_window_or_in_none(limiter):
    channel = Window("channel:sns", RateLimit(count=3, per_s=60))
    first = Window("recipient:1", RateLimit(count=1, per_s=60))
    second = Window("recipient:2", RateLimit(count=5, per_s=60))
    assert limiter.acquire([channel, first], T0, "a") == 0
    assert limiter.acquire([channel, first], T0 + 1, "b") == pytest.approx(59)  # refused by the recipient…
    assert limiter.acquire([channel, second], T0 + 2, "c") == 0  # …so the channel still has two slots
    assert limiter.acquire([channel, second], T0 + 3, "d") == 0
    assert limiter.acquire([channel, second], T0 + 4, "e") == pytest.approx(56)  # the channel is full


def test_windows_are_separate_per_key_and_nothing_to_limit_is_no_limit(limiter):
    one = RateLimit(count=1, per_s=3600)
    assert limiter.acquire([Window("recipient:1", one)], T0, "a") == 0
    assert limiter.acquire([Window("recipient:2", one)], T0, "b") == 0
    assert limiter.acquire([], T0, "c") == 0
    assert limiter.acquire([Window("recipient:1", one)], T0 + 1, "d") > 0


def test_redis_windows_are_shared_by_every_worker(redis_url, unique_id):
    one = [Window("recipient:7", RateLimit(count=1, per_s=60))]
    first, second = (RedisRateLimiter(redis_url, f"test-{unique_id}") for _ in range(2))
    try:
        assert first.acquire(one, T0, "a") == 0
        assert second.acquire(one, T0 + 1, "b") == pytest.approx(59)
    finally:
        first.close()
        second.close()
