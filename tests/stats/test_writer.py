"""The stats writer on both databases: one row per check however often a verdict is delivered."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import uuid4

import pytest
import sqlalchemy as sa

from maskwatch.consumer import ConsumerSettings
from maskwatch.contracts import (
    AlertKind,
    AlertTransition,
    AnalyzedFace,
    Decision,
    Reason,
    Rejection,
    Timings,
    Transition,
    Verdict,
    decode,
)
from maskwatch.database.engine import create_engine, migrate
from maskwatch.database.schema import alerts, check_reasons, checks, rejections
from maskwatch.dead_letters import list_dead
from maskwatch.queue import QueueSettings, open_queue
from maskwatch.streams import Streams, append
from services.stats.writer import StatsWriter


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/stats.db"
    return request.getfixturevalue("postgres_url")


def verdict(
    decision: Decision = Decision.DENY,
    reasons: Sequence[Reason] = (Reason.NO_MASK,),
    flags: Sequence[Reason] = (),
) -> Verdict:
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


async def test_a_row_the_database_refuses_is_dead_lettered_alone(database_url, unique_id):
    """The writer stores a batch in one transaction, so one entry the database refuses (an alert for a
    site that does not exist: a foreign key) used to fail the whole batch on every delivery and take the
    good verdicts beside it to the dead letters. Now the verdicts are stored and only that alert is
    dead-lettered, on its own stream."""
    migrate(database_url)
    engine = create_engine(database_url)
    queue = open_queue("memory://", claim_idle_ms=300)
    prefix = f"test-{unique_id}"
    streams = Streams(prefix)
    writer = StatsWriter(
        engine,
        queue,
        QueueSettings(prefix=prefix, max_deliveries=2),
        ConsumerSettings(batch_size=16, block_ms=50),
        name=f"stats-{unique_id}",
    )
    first, last = verdict(), verdict(Decision.OPEN, reasons=())
    poison = AlertTransition(
        alert_id=uuid4(),
        transition=Transition.OPENED,
        at=datetime.now(UTC),
        kind=AlertKind.UNMASKED,
        site_id=f"nowhere-{unique_id}"[:64],
        device_id="cam-1",
    )
    await append(queue, streams.outcomes, first)
    await append(queue, streams.alerts, poison)
    await append(queue, streams.outcomes, last)

    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    letters = []
    for _ in range(300):  # the alert is delivered again after the claim timeout, then dead-lettered
        letters = await list_dead(queue, streams.alerts)
        if letters:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    await queue.close()

    assert [decode(AlertTransition, letter.data) for letter in letters] == [poison]
    assert await list_dead(queue, streams.outcomes) == []
    with engine.connect() as c:
        stored = set(
            c.execute(
                sa.select(checks.c.check_id).where(checks.c.check_id.in_([first.check_id, last.check_id]))
            ).scalars()
        )
        assert stored == {first.check_id, last.check_id}
        refused = c.execute(
            sa.select(sa.func.count()).where(alerts.c.alert_key == str(poison.alert_id))
        ).scalar_one()
        assert refused == 0
    engine.dispose()
