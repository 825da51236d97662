"""The stats writer on both databases: one row per check however often a verdict is delivered."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
import sqlalchemy as sa

from maskwatch.contracts import AnalyzedFace, Decision, Reason, Rejection, Timings, Verdict
from maskwatch.database.engine import create_engine, migrate
from maskwatch.database.schema import check_reasons, checks, rejections
from maskwatch.queue import open_queue
from services.stats.writer import StatsWriter


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/stats.db"
    return request.getfixturevalue("postgres_url")


def verdict(decision=Decision.DENY, reasons=(Reason.NO_MASK,), flags=()):
    now = datetime.now(UTC)
    return Verdict(
        gate_id="g1",
        check_id=uuid4(),
        captured_at=now,
        decided_at=now,
        decision=decision,
        reasons=list(reasons),
        flags=list(flags),
        message="Please wear a mask",
        faces=[AnalyzedFace(box=(1, 2, 3, 4), label="no_mask", score=0.9, detector_score=0.8)],
        temperature_c=36.6,
        timings=Timings(queue_ms=1, decode_ms=2, detect_ms=3, classify_ms=4, total_ms=10),
    )


def test_redelivered_outcomes_are_written_once(database_url):
    migrate(database_url)
    engine = create_engine(database_url)
    writer = StatsWriter(engine, open_queue("memory://"))
    first, second = verdict(), verdict(Decision.OPEN, reasons=(), flags=(Reason.NO_MASK,))
    rejection = Rejection(
        gate_id="g1",
        received_at=datetime.now(UTC),
        code="not_json",
        detail="payload is not valid JSON",
        topic="t",
    )
    writer.write([first, second], [rejection])
    writer.write([first], [rejection])  # redelivery after a crash
    with engine.connect() as c:
        ids = set(c.execute(sa.select(checks.c.check_id)).scalars())
        assert {first.check_id, second.check_id} <= ids
        reasons = c.execute(
            sa.select(check_reasons.c.reason, check_reasons.c.enforced).where(
                check_reasons.c.check_id.in_([first.check_id, second.check_id])
            )
        ).all()
        # The pass came right after the denial at the same gate: the same person, marked a retry.
        assert sorted(tuple(r) for r in reasons) == [("no_mask", False), ("no_mask", True), ("retry", False)]
        n = c.execute(
            sa.select(sa.func.count()).where(rejections.c.rejection_id == rejection.rejection_id)
        ).scalar_one()
        assert n == 1
    engine.dispose()


def test_migrations_are_idempotent(database_url):
    migrate(database_url)
    migrate(database_url)
    engine = create_engine(database_url)
    assert {"checks", "check_reasons", "rejections"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()
