"""The figures on both databases: local days, DST days, empty days, reasons, gates, sites, the roll-up."""

import itertools
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic import command

from maskwatch.contracts import Decision, Reason, Timings, Verdict
from maskwatch.database import figures
from maskwatch.database.engine import alembic_config, create_engine
from maskwatch.database.schema import check_daily, check_hourly, gates, sites
from maskwatch.queue import open_queue
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
    StatsWriter(engine, open_queue("memory://")).write(list(verdicts), [])


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
        # A range starting off the hour reads that first second from the raw rows; nothing happened in it.
        raw = figures.summary(c, base - timedelta(seconds=1), end)
    assert rolled == raw
    assert rolled.visitors == 200
    with engine.begin() as c:
        c.execute(sa.delete(check_hourly))
        c.execute(sa.delete(check_daily))
        assert figures.summary(c, base, end).visitors == 0
        figures.rebuild_hourly(c, base, end)
    with engine.connect() as c:
        assert figures.summary(c, base, end) == rolled


def test_hourly_ranges_are_bounded():
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="at most"):
        figures.hour_starts(start, start + timedelta(days=500), BERLIN)


# --- The daily roll-up ---

UTC_ZONE = ZoneInfo("UTC")
EMPTY_DAYS = {3, 4, 5, 17}  # UTC days after 14 October 2026 with no checks: 17-19 and 31 October


def _month_of_checks():
    """About 40 days around the Berlin DST change (25 October 2026): three sites, a stray gate, reasons,
    flags, checks on the hour and just before and after UTC midnight, and a few empty days."""
    base = datetime(2026, 10, 14, tzinfo=UTC)
    gate_ids = ["a-1", "a-2", "k-1", "u-1", "stray"]
    made = []
    for i in range(900):
        at = base + timedelta(minutes=61 * i + (i % 7) * 3, seconds=i % 11)
        if (at - base).days in EMPTY_DAYS:
            continue
        decision = Decision.DENY if i % 4 == 0 else Decision.OPEN
        reasons = [Reason.NO_MASK, Reason.FEVER][: 1 + i % 2] if decision == Decision.DENY else []
        flags = [Reason.INCORRECT_MASK] if i % 5 == 0 and decision == Decision.OPEN else []
        made.append(verdict(gate_ids[i % len(gate_ids)], at, decision, reasons, flags))
    for day in (1, 9, 30):  # the edges of a UTC day
        midnight = base + timedelta(days=day)
        made.append(verdict("a-1", midnight - timedelta(microseconds=1), Decision.DENY, [Reason.NO_FACE]))
        made.append(verdict("k-1", midnight))
    return made


@pytest.fixture
def month(engine):
    now = datetime.now(UTC)
    with engine.begin() as c:
        c.execute(
            sa.insert(sites),
            [
                {"site_id": "k", "name": "K", "time_zone": "Asia/Kolkata", "created_at": now},
                {"site_id": "u", "name": "U", "time_zone": "UTC", "created_at": now},
            ],
        )
        c.execute(
            sa.insert(gates),
            [
                {"gate_id": "a-2", "site_id": "a", "name": "A 2", "created_at": now},
                {"gate_id": "k-1", "site_id": "k", "name": "K 1", "created_at": now},
                {"gate_id": "u-1", "site_id": "u", "name": "U 1", "created_at": now},
            ],
        )
    made = _month_of_checks()
    write(engine, *made)
    return made


def _all_figures(c, start, end):
    return {
        "summary": figures.summary(c, start, end),
        "site a": figures.summary(c, start, end, site="a"),
        "site k": figures.summary(c, start, end, site="k"),
        "default": figures.summary(c, start, end, site="default"),
        "gate": figures.summary(c, start, end, gate="a-1"),
        "some sites": figures.summary(c, start, end, site_ids=["k", "u"]),
        "per gate": figures.per_gate(c, start, end),
        "per gate, site a": figures.per_gate(c, start, end, site="a"),
        "per site": figures.per_site(c, start, end),
        "per site, some": figures.per_site(c, start, end, site_ids=["a", "default"]),
    }


def _raw_only(monkeypatch):
    monkeypatch.setattr(figures, "_segments", lambda start, end: [("raw", start, end)])


@pytest.mark.parametrize("tz", [UTC_ZONE, BERLIN, KOLKATA], ids=str)
@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(2026, 10, 14), date(2026, 11, 22)),  # everything, across the DST change
        (date(2026, 10, 20), date(2026, 10, 30)),  # across the DST change and the empty 31 October
        (date(2026, 10, 17), date(2026, 10, 22)),  # empty days at the start
        (date(2026, 10, 25), date(2026, 10, 31)),  # the 25-hour day, and an empty day at the end
        (date(2026, 10, 18), date(2026, 10, 19)),  # only empty days, in every zone
    ],
)
def test_the_daily_roll_up_agrees_with_the_raw_rows(engine, month, monkeypatch, tz, first, last):
    start, end = figures.day_range(first, tz)[0], figures.day_range(last, tz)[1]
    assert "daily" in [kind for kind, _, _ in figures._segments(start, end)]
    with engine.connect() as c:
        combined = _all_figures(c, start, end)
        _raw_only(monkeypatch)
        raw = _all_figures(c, start, end)
    assert combined == raw
    expected = sum(1 for v in month if start <= v.decided_at < end)
    assert combined["summary"].visitors == expected
    if first == date(2026, 10, 18):
        assert expected == 0
        assert combined["per gate"] == []
    else:
        assert expected > 0
        assert {f.key for f in combined["per site"]} == {"a", "k", "u", "default"}


def test_ranges_off_the_hour_and_off_the_day_agree_with_the_raw_rows(engine, month, monkeypatch):
    base = datetime(2026, 10, 14, tzinfo=UTC)
    ranges = [
        (base + timedelta(hours=5, minutes=30), base + timedelta(days=20, hours=3, minutes=45)),
        (base + timedelta(days=1, seconds=-1), base + timedelta(days=30, microseconds=1)),
        (base + timedelta(days=1), base + timedelta(days=30)),  # whole UTC days only
        (base + timedelta(hours=23), base + timedelta(days=1, hours=1)),  # no whole day inside
        (base + timedelta(minutes=10), base + timedelta(minutes=50)),  # inside one hour
    ]
    with engine.connect() as c:
        combined = [_all_figures(c, start, end) for start, end in ranges]
        _raw_only(monkeypatch)
        raw = [_all_figures(c, start, end) for start, end in ranges]
    assert combined == raw
    for (start, end), got in zip(ranges, combined, strict=True):
        assert got["summary"].visitors == sum(1 for v in month if start <= v.decided_at < end)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC)),
        (datetime(2025, 12, 31, 18, 30, tzinfo=UTC), datetime(2026, 12, 31, 18, 30, tzinfo=UTC)),
        (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC)),
        (datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC)),
        (datetime(2026, 1, 1, 5, 15, tzinfo=UTC), datetime(2026, 1, 2, 0, 15, tzinfo=UTC)),
    ],
)
def test_segments_cover_the_range_exactly_once(start, end):
    pieces = figures._segments(start, end)
    assert pieces[0][1] == start
    assert pieces[-1][2] == end
    for (_, _, a_end), (_, b_start, _) in itertools.pairwise(pieces):
        assert a_end == b_start
    for kind, a, b in pieces:
        assert a < b
        if kind == "daily":
            assert (a.hour, a.minute, b.hour, b.minute) == (0, 0, 0, 0)
        elif kind == "hourly":
            assert b - a < timedelta(days=2)
            assert (a.minute, a.second, b.minute, b.second) == (0, 0, 0, 0)
        else:
            assert b - a < timedelta(hours=1)


def test_the_daily_roll_up_is_read_and_can_be_rebuilt(engine, month):
    start = figures.day_range(date(2026, 10, 14), BERLIN)[0]
    end = figures.day_range(date(2026, 11, 22), BERLIN)[1]
    with engine.connect() as c:
        before = _all_figures(c, start, end)
    with engine.begin() as c:
        c.execute(sa.delete(check_daily))
        assert figures.summary(c, start, end).visitors < before["summary"].visitors
        figures.rebuild_hourly(c, datetime(2026, 10, 14, 12, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
    with engine.connect() as c:
        assert _all_figures(c, start, end) == before


def test_migration_0003_upgrades_a_0002_database(database_url, monkeypatch):
    config = alembic_config(database_url)
    command.downgrade(config, "0002")
    engine = create_engine(database_url)
    try:
        with engine.connect() as c:
            assert not sa.inspect(c).has_table("check_daily")
        made = _month_of_checks()
        write(engine, *made[:500])  # written by a 0002 system: only the hourly roll-up is kept
        command.upgrade(config, "head")
        write(engine, *made[500:])  # written after the upgrade: the new triggers keep the daily roll-up
        start, end = datetime(2026, 10, 14, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)
        assert "daily" in [kind for kind, _, _ in figures._segments(start, end)]
        with engine.connect() as c:
            daily_checks = c.execute(
                sa.select(sa.func.sum(check_daily.c.checks)).where(check_daily.c.reason == "")
            ).scalar()
            combined = _all_figures(c, start, end)
            _raw_only(monkeypatch)
            raw = _all_figures(c, start, end)
        assert daily_checks == len(made)
        assert combined == raw
        assert combined["summary"].visitors == len(made)
    finally:
        engine.dispose()
