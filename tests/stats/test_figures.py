"""The figures on both databases: local days, DST days, empty days, reasons, gates, sites, the roll-up."""

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from maskwatch.contracts import Decision, Reason, Timings, Verdict
from maskwatch.queue import open_queue
from maskwatch.settings import Settings
from services.stats import figures
from services.stats.database import create_engine
from services.stats.schema import check_hourly, gates, sites
from services.stats.writer import StatsWriter
from tests.api.databases import database_url, new_postgres, postgres_template

__all__ = ["database_url", "new_postgres", "postgres_template"]

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")


def verdict(gate, at, decision=Decision.OPEN, reasons=(), flags=()):
    return Verdict(
        gate_id=gate,
        check_id=uuid4(),
        captured_at=at,
        decided_at=at,
        decision=decision,
        reasons=list(reasons),
        flags=list(flags),
        message="ok" if decision == Decision.OPEN else "Please wear a mask",
        temperature_c=36.6,
        timings=Timings(queue_ms=1, decode_ms=1, detect_ms=1, classify_ms=1, total_ms=5),
    )


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    with engine.begin() as c:
        c.execute(
            sa.insert(sites), [{"site_id": "a", "name": "A", "time_zone": "Europe/Berlin", "created_at": now}]
        )
        c.execute(sa.insert(gates), [{"gate_id": "a-1", "site_id": "a", "name": "A 1", "created_at": now}])
    yield engine
    engine.dispose()


def write(engine, *verdicts):
    StatsWriter(engine, open_queue("memory://"), Settings()).write(list(verdicts), [])


def local(y, m, d, h, minute=0, tz=BERLIN, fold=0):
    return datetime(y, m, d, h, minute, tzinfo=tz, fold=fold).astimezone(UTC)


def test_a_local_day_counts_checks_by_decision_and_reason(engine):
    write(
        engine,
        verdict("a-1", local(2026, 6, 1, 23, 59) - timedelta(days=1)),  # the day before, local time
        verdict("a-1", local(2026, 6, 1, 0, 1)),  # 22:01 UTC the day before, but 1 June in Berlin
        verdict("a-1", local(2026, 6, 1, 9), Decision.DENY, [Reason.NO_MASK]),
        verdict("a-1", local(2026, 6, 1, 9, 30), Decision.DENY, [Reason.FEVER, Reason.NO_MASK]),
        verdict("a-1", local(2026, 6, 1, 12), flags=[Reason.INCORRECT_MASK]),
        verdict("a-1", local(2026, 6, 2, 0, 0)),  # the next day
    )
    start, end = figures.day_range(date(2026, 6, 1), BERLIN)
    with engine.connect() as c:
        s = figures.summary(c, start, end, site="a")
        assert (s.visitors, s.passed, s.denied) == (4, 2, 2)
        assert s.denied_by_reason == {"no_mask": 2, "fever": 1}
        assert s.flagged_by_reason == {"incorrect_mask": 1}
        hours = figures.per_hour(c, start, end, BERLIN, site="a")
    assert len(hours) == 24
    assert [h.start.hour for h in hours] == list(range(24))
    assert hours[0].summary.visitors == 1
    assert hours[9].summary.visitors == 2
    assert hours[9].summary.denied_by_reason == {"no_mask": 2, "fever": 1}
    assert sum(h.summary.visitors for h in hours) == 4


def test_an_empty_day_is_zeros_with_every_hour_present(engine):
    start, end = figures.day_range(date(2026, 1, 5), BERLIN)
    with engine.connect() as c:
        s = figures.summary(c, start, end, site="a")
        hours = figures.per_hour(c, start, end, BERLIN, site="a")
        assert figures.per_gate(c, start, end, site="a") == []
    assert (s.visitors, s.passed, s.denied, s.denied_by_reason) == (0, 0, 0, {})
    assert len(hours) == 24
    assert all(h.summary.visitors == 0 for h in hours)


def test_daylight_saving_days_have_23_and_25_hours(engine):
    # 25 October 2026: 02:00-03:00 happens twice in Berlin.
    first = local(2026, 10, 25, 2, 30, fold=0)
    second = local(2026, 10, 25, 2, 30, fold=1)
    assert second - first == timedelta(hours=1)
    write(engine, verdict("a-1", first), verdict("a-1", second), verdict("a-1", second))
    with engine.connect() as c:
        spring = figures.per_hour(c, *figures.day_range(date(2026, 3, 29), BERLIN), BERLIN, site="a")
        autumn = figures.per_hour(c, *figures.day_range(date(2026, 10, 25), BERLIN), BERLIN, site="a")
    assert len(spring) == 23
    assert 2 not in [h.start.hour for h in spring]
    assert len(autumn) == 25
    twos = [h for h in autumn if h.start.hour == 2]
    assert [h.summary.visitors for h in twos] == [1, 2]
    assert twos[0].start.utcoffset() != twos[1].start.utcoffset()


def test_half_hour_zones_count_from_the_raw_rows(engine):
    day = date(2026, 6, 1)
    write(
        engine,
        verdict("a-1", local(2026, 6, 1, 0, 10, tz=KOLKATA)),  # 18:40 UTC on 31 May
        verdict("a-1", local(2026, 5, 31, 23, 50, tz=KOLKATA)),  # the day before in Kolkata
        verdict("a-1", local(2026, 6, 1, 10, 45, tz=KOLKATA), Decision.DENY, [Reason.NO_FACE]),
    )
    start, end = figures.day_range(day, KOLKATA)
    assert start.minute == 30
    with engine.connect() as c:
        s = figures.summary(c, start, end)
        hours = figures.per_hour(c, start, end, KOLKATA)
    assert (s.visitors, s.passed, s.denied, s.denied_by_reason) == (2, 1, 1, {"no_face": 1})
    assert len(hours) == 24
    assert hours[0].summary.visitors == 1
    assert hours[10].summary.denied_by_reason == {"no_face": 1}


def test_per_gate_and_per_site_put_unregistered_gates_in_the_default_site(engine):
    at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    write(
        engine,
        verdict("a-1", at),
        verdict("a-1", at, Decision.DENY, [Reason.NO_MASK]),
        verdict("stray", at),
    )
    start, end = at - timedelta(hours=1), at + timedelta(hours=1)
    with engine.connect() as c:
        by_gate = {f.key: f.summary.visitors for f in figures.per_gate(c, start, end)}
        by_site = {f.key: (f.summary.passed, f.summary.denied) for f in figures.per_site(c, start, end)}
        only_a = figures.per_site(c, start, end, site_ids=["a"])
        default = figures.summary(c, start, end, site="default")
    assert by_gate == {"a-1": 2, "stray": 1}
    assert by_site == {"a": (1, 1), "default": (1, 0)}
    assert [f.key for f in only_a] == ["a"]
    assert default.visitors == 1


def test_the_roll_up_agrees_with_the_raw_rows_and_can_be_rebuilt(engine):
    base = datetime(2026, 3, 1, tzinfo=UTC)
    write(
        engine,
        *[
            verdict(
                "a-1" if i % 3 else "b-9",
                base + timedelta(minutes=37 * i),
                Decision.DENY if i % 4 == 0 else Decision.OPEN,
                [Reason.NO_MASK] if i % 4 == 0 else [],
                [Reason.FEVER] if i % 5 == 0 and i % 4 else [],
            )
            for i in range(200)
        ],
    )
    end = base + timedelta(days=6)
    with engine.connect() as c:
        rolled = figures.summary(c, base, end)
        # A range starting off the hour is answered from the raw rows; nothing happened in that second.
        raw = figures.summary(c, base - timedelta(seconds=1), end)
    assert rolled == raw
    assert rolled.visitors == 200
    with engine.begin() as c:
        c.execute(sa.delete(check_hourly))
        assert figures.summary(c, base, end).visitors == 0
        figures.rebuild_hourly(c, base, end)
    with engine.connect() as c:
        assert figures.summary(c, base, end) == rolled


def test_hourly_ranges_are_bounded():
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="at most"):
        figures.hour_starts(start, start + timedelta(days=500), BERLIN)
