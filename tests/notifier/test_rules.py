"""Recipient rules as values: quiet hours across midnight and daylight saving, rates, severities."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from maskwatch.notification_rules import QuietHours, RateLimit, Severity, severity_of

NIGHT = QuietHours(start="22:00", end="07:00")


@pytest.mark.parametrize(
    ("utc", "zone", "ends"),
    [
        # 23:30 in Seoul (UTC+9) is quiet until 07:00 the next morning, 22:00 UTC.
        ("2026-12-02T14:30:00", "Asia/Seoul", "2026-12-02T22:00:00"),
        # 03:00 in Seoul: the span that began yesterday still runs.
        ("2026-12-02T18:00:00", "Asia/Seoul", "2026-12-02T22:00:00"),
        # 07:00 sharp is no longer quiet, 21:59 not yet.
        ("2026-12-02T22:00:00", "Asia/Seoul", None),
        ("2026-12-02T12:59:00", "Asia/Seoul", None),
        ("2026-12-02T13:00:00", "Asia/Seoul", "2026-12-02T22:00:00"),
        # Spring forward in Berlin (2026-03-29 02:00 → 03:00): 07:00 CEST is 05:00 UTC.
        ("2026-03-29T01:30:00", "Europe/Berlin", "2026-03-29T05:00:00"),
        # An unknown zone is read as UTC rather than holding nothing.
        ("2026-12-02T23:00:00", "Mars/Olympus", "2026-12-03T07:00:00"),
    ],
)
def test_quiet_hours_end_in_the_recipients_own_zone(utc, zone, ends):
    now = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    expected = datetime.fromisoformat(ends).replace(tzinfo=UTC) if ends else None
    assert NIGHT.ends_at(now, zone) == expected


def test_quiet_hours_within_one_day():
    lunch = QuietHours(start="12:00", end="13:30")
    assert lunch.ends_at(datetime(2026, 12, 2, 12, 45, tzinfo=UTC), "UTC") == datetime(
        2026, 12, 2, 13, 30, tzinfo=UTC
    )
    assert lunch.ends_at(datetime(2026, 12, 2, 23, 0, tzinfo=UTC), "UTC") is None


@pytest.mark.parametrize(
    "bad",
    [
        {"start": "24:00", "end": "07:00"},
        {"start": "7:00", "end": "08:00"},
        {"start": "06:00", "end": "06:00"},
    ],
)
def test_quiet_hours_refuse_what_is_not_a_time_or_never_ends(bad):
    with pytest.raises(ValidationError):
        QuietHours.model_validate(bad)


@pytest.mark.parametrize(
    ("text", "count", "per_s", "written"),
    [
        ("5/10min", 5, 600, "5/10min"),
        ("1/h", 1, 3600, "1/h"),
        ("20/s", 20, 1, "20/s"),
        (" 3 / 90 s ", 3, 90, "3/90s"),
        ("2/2d", 2, 172800, "2/2d"),
        ("6/120min", 6, 7200, "6/2h"),
    ],
)
def test_rates_read_and_write_one_way(text, count, per_s, written):
    rate = RateLimit.parse(text)
    assert (rate.count, rate.per_s) == (count, per_s)
    assert str(rate) == written
    assert RateLimit.parse(str(rate)) == rate


@pytest.mark.parametrize("bad", ["", "5", "five/min", "5/10 fortnights", "0/min", "5/-1min", "5/9d"])
def test_a_rate_that_is_not_one_is_refused(bad):
    with pytest.raises(ValueError, match=r"not a rate|than"):
        RateLimit.parse(bad)


def test_a_gate_offline_outranks_one_unmasked_person():
    assert severity_of("device_offline") is Severity.CRITICAL
    assert severity_of("unmasked") is Severity.WARNING
    assert severity_of("something_newer") is Severity.WARNING  # heard by default
    assert Severity.parse("critical") > Severity.parse("warning") > Severity.parse("INFO")
    with pytest.raises(ValueError, match="a severity is one of"):
        Severity.parse("urgent")
