"""How long a delivery waits before its next try: the schedule, capped at its last interval, and longer
when the receiver asked for longer (Retry-After), never shorter than the schedule."""

from __future__ import annotations

import pytest

from services.notifier.settings import NotifierSettings, RetryPolicy

POLICY = RetryPolicy(intervals_s=[10, 30, 60])


def test_the_waits_follow_the_schedule_and_stay_at_its_last_interval():
    assert [POLICY.delay(attempts) for attempts in range(1, 8)] == [10, 30, 60, 60, 60, 60, 60]
    assert POLICY.max_attempts == 4  # a first try, then one per interval


@pytest.mark.parametrize(
    ("attempts", "retry_after_s", "wait_s"),
    [
        (1, 120.0, 120.0),  # the receiver asked for longer than the schedule: it gets it
        (3, 3600.0, 3600.0),  # even past the schedule's cap: the cap is on our own backoff
        (2, 5.0, 30.0),  # asked for less: the schedule still holds
        (2, 30.0, 30.0),
        (1, 0.0, 10.0),  # "Retry-After: 0" or an HTTP date already past
        (1, None, 10.0),  # no Retry-After at all
    ],
)
def test_a_receivers_retry_after_only_ever_lengthens_the_wait(attempts, retry_after_s, wait_s):
    assert POLICY.delay(attempts, retry_after_s) == wait_s


def test_the_default_settings_back_off_to_ten_minutes():
    policy = RetryPolicy(intervals_s=NotifierSettings().retry_intervals_s)
    assert [policy.delay(n) for n in range(1, 9)] == [10, 30, 60, 120, 300, 600, 600, 600]
    assert policy.max_attempts == 7
