"""Figures count people: a denied person trying again at the same gate within the window is one visitor.

Written by the real stats writer to both databases and read back through the figures the API serves.
The checks carry their own decision times, so the clock is the test's: no sleeping, no wall clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from maskwatch.contracts import Decision, Reason, Timings, Verdict
from maskwatch.database.engine import create_engine, migrate
from maskwatch.database.figures import summary
from maskwatch.queue import open_queue
from services.stats.settings import StatsSettings
from services.stats.writer import StatsWriter

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/stats.db"
    return request.getfixturevalue("postgres_url")


def check(gate: str, after_s: float, decision: Decision) -> Verdict:
    at = T0 + timedelta(seconds=after_s)
    return Verdict(
        gate_id=gate,
        check_id=uuid4(),
        captured_at=at,
        decided_at=at,
        decision=decision,
        reasons=[Reason.NO_MASK] if decision is Decision.DENY else [],
        message="",
        timings=Timings(queue_ms=1, decode_ms=1, detect_ms=1, classify_ms=1, total_ms=4),
    )


DENY, OPEN = Decision.DENY, Decision.OPEN
DAY = [
    # One person: denied twice, then let in.
    check("lobby", 0, DENY),
    check("lobby", 10, DENY),
    check("lobby", 25, OPEN),
    # The next person, right behind: a pass ends a visit.
    check("lobby", 30, DENY),
    # Gives up; 40 s later someone else is denied.
    check("lobby", 70, DENY),
    # Another gate is another visitor, however close in time.
    check("garage", 71, DENY),
]


def figures_of(database_url: str, window_s: float | None) -> tuple[int, int, int, int, int, int]:
    migrate(database_url)
    engine = create_engine(database_url)
    settings = None if window_s is None else StatsSettings(retry_window_s=window_s)
    writer = StatsWriter(engine, open_queue("memory://"), settings=settings)
    writer.write(DAY[:3], [])  # the batches need not hold a whole visit
    writer.write(DAY[3:], [])
    writer.write(DAY[1:2], [])  # a redelivery changes nothing
    with engine.connect() as c:
        s = summary(c, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    engine.dispose()
    return s.visitors, s.passed, s.denied, s.attempts, s.attempts_denied, s.denied_by_reason["no_mask"]


def test_a_denied_person_trying_again_is_one_visitor(database_url: str):
    # visitors, passed, denied | attempts, denied attempts, denials by reason
    assert figures_of(database_url, None) == (4, 1, 3, 6, 5, 5)


def test_the_window_is_a_setting(database_url: str):
    # At 60 s the denial 40 s after the last one is the same person again.
    assert figures_of(database_url, 60.0) == (3, 1, 2, 6, 5, 5)
