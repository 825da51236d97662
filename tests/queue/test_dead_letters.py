"""Dead letters, on both backends: an entry no consumer can read is kept with its reason, and an operator
can list it, requeue it onto its stream (where a consumer gets it again) or drop it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from maskwatch.consumer import ConsumerSettings, consume_messages
from maskwatch.contracts import Message, Rejection, RejectionCode
from maskwatch.dead_letters import drop, list_dead, requeue
from maskwatch.queue import WorkQueue
from maskwatch.streams import EntryKind, Group, Streams, append

FAST = ConsumerSettings(batch_size=8, block_ms=50)


def rejection() -> Rejection:
    return Rejection(
        gate_id="gate-1",
        check_id=uuid4(),
        received_at=datetime.now(UTC),
        code=RejectionCode.BAD_IMAGE,
        detail="unreadable",
        topic="maskwatch/v1/gates/gate-1/check",
    )


async def drain(queue: WorkQueue, streams: Streams) -> list[Message]:
    seen: list[Message] = []

    async def handle(messages: Sequence[Message]) -> None:
        seen.extend(messages)

    await consume_messages(
        queue,
        streams.outcomes.read_by(Group.STATS),
        consumer="stats-test",
        handle=handle,
        settings=FAST,
        max_deliveries=3,
        burst=True,
    )
    return seen


async def test_unreadable_entries_are_dead_lettered_with_the_reason_and_good_ones_handled(queue, unique_id):
    streams = Streams(f"test-{unique_id}")
    good = rejection()
    await append(queue, streams.outcomes, good)
    await queue.add(streams.outcomes.key, EntryKind.VERDICT.value, b"{not json")
    await queue.add(streams.outcomes.key, EntryKind.GATE_CHECK.value, good.to_json())
    await queue.add(streams.outcomes.key, "mystery", b"{}")

    assert await drain(queue, streams) == [good]
    letters = await list_dead(queue, streams.outcomes)
    assert [letter.kind for letter in letters] == ["verdict", "gate_check", "mystery"]
    errors = [letter.error for letter in letters]
    assert "not valid JSON" in errors[0] or "JSON" in errors[0]
    assert "does not carry gate_check" in errors[1]
    assert "unknown entry kind 'mystery'" in errors[2]
    assert all(letter.source_id for letter in letters)


async def test_a_batch_failing_on_one_message_dead_letters_that_one_and_each_unreadable_entry_once(
    queue, unique_id
):
    """Decoding happens once per batch: when the batch is handled again message by message (one of them
    fails on its content), the unreadable entry beside them is not dead-lettered a second time, the
    failing message alone goes to the dead letters, and the good ones are handled once."""
    streams = Streams(f"test-{unique_id}")
    good, poison, other = rejection(), rejection(), rejection()
    await append(queue, streams.outcomes, good)
    await queue.add(streams.outcomes.key, EntryKind.VERDICT.value, b"{not json")
    await append(queue, streams.outcomes, poison)
    await append(queue, streams.outcomes, other)
    stored: list[Message] = []

    async def one_transaction(messages: Sequence[Message]) -> None:
        if poison in messages:
            raise ValueError("the database refuses this row")
        stored.extend(messages)

    stop = asyncio.Event()
    task = asyncio.create_task(
        consume_messages(
            queue,
            streams.outcomes.read_by(Group.STATS),
            consumer="c",
            handle=one_transaction,
            settings=FAST,
            max_deliveries=2,
            stop=stop,
        )
    )
    letters = []
    for _ in range(300):  # the poison is delivered again after the claim timeout, then dead-lettered
        letters = await list_dead(queue, streams.outcomes)
        if len(letters) >= 2:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    assert stored == [good, other]
    assert [letter.data for letter in await list_dead(queue, streams.outcomes)] == [
        b"{not json",
        poison.to_json(),
    ]


async def test_requeue_puts_a_dead_letter_back_where_a_consumer_handles_it(queue, unique_id):
    streams = Streams(f"test-{unique_id}")
    message = rejection()
    # Dead-lettered under a kind the stream does not carry, then "fixed" by requeueing as what it is.
    await queue.add(streams.outcomes.key, EntryKind.REJECTION.value, b"garbage")
    await append(queue, streams.outcomes, message)
    await drain(queue, streams)
    (letter,) = await list_dead(queue, streams.outcomes)

    moved = await requeue(queue, streams.outcomes, [letter.id])
    assert [m.id for m in moved] == [letter.id]
    assert await list_dead(queue, streams.outcomes) == []
    # It is back on the stream: the consumer gets it again (and dead-letters it again, still garbage).
    assert await drain(queue, streams) == []
    assert len(await list_dead(queue, streams.outcomes)) == 1


async def test_requeued_good_entries_are_handled(queue, unique_id):
    streams = Streams(f"test-{unique_id}")
    message = rejection()
    # A consumer that fails every time: the entry goes dead after max_deliveries.
    source = streams.outcomes.read_by(Group.STATS)
    await append(queue, streams.outcomes, message)

    async def broken(messages: Sequence[Message]) -> None:
        raise RuntimeError("database down")

    stop = asyncio.Event()
    task = asyncio.create_task(
        consume_messages(
            queue, source, consumer="c", handle=broken, settings=FAST, max_deliveries=1, stop=stop
        )
    )
    for _ in range(100):
        await asyncio.sleep(0.1)
        if await list_dead(queue, streams.outcomes):
            break
    stop.set()
    await task
    assert len(await list_dead(queue, streams.outcomes)) == 1

    await requeue(queue, streams.outcomes)
    assert await drain(queue, streams) == [message]


async def test_drop_deletes_only_the_chosen_dead_letters(queue, unique_id):
    streams = Streams(f"test-{unique_id}")
    for _ in range(3):
        await queue.add(streams.outcomes.key, "mystery", b"{}")
    await drain(queue, streams)
    first, *rest = await list_dead(queue, streams.outcomes)
    await drop(queue, streams.outcomes, [first.id])
    assert [letter.id for letter in await list_dead(queue, streams.outcomes)] == [r.id for r in rest]
    with pytest.raises(KeyError, match="no dead letters"):
        await drop(queue, streams.outcomes, [first.id])
    await drop(queue, streams.outcomes)
    assert await list_dead(queue, streams.outcomes) == []


def test_the_command_lists_requeues_and_drops_on_redis(redis_url, unique_id, monkeypatch):
    from stack.cli import app

    prefix = f"test-{unique_id}"
    monkeypatch.setenv("MASKWATCH_QUEUE__URL", redis_url)
    monkeypatch.setenv("MASKWATCH_QUEUE__PREFIX", prefix)
    streams = Streams(prefix)

    async def poison() -> None:
        from maskwatch.queue import open_queue

        queue = open_queue(redis_url)
        await queue.add(streams.outcomes.key, "mystery", b"{}")
        await queue.add(streams.outcomes.key, "mystery", b"{}")
        await drain(queue, streams)
        await queue.close()

    asyncio.run(poison())
    runner = CliRunner()
    listed = runner.invoke(app, ["dead-letters", "list", "outcomes"])
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 2
    assert '"kind": "mystery"' in lines[0]

    refused = runner.invoke(app, ["dead-letters", "drop", "outcomes"])
    assert refused.exit_code == 2
    assert "--all" in refused.output

    first_id = lines[0].split('"id": "')[1].split('"')[0]
    requeued = runner.invoke(app, ["dead-letters", "requeue", "outcomes", "--id", first_id])
    assert requeued.exit_code == 0
    assert "requeued 1 entry" in requeued.stdout
    dropped = runner.invoke(app, ["dead-letters", "drop", "outcomes", "--all"])
    assert dropped.exit_code == 0
    assert "dropped 1 entry" in dropped.stdout
    unknown = runner.invoke(app, ["dead-letters", "list", "nowhere"])
    assert unknown.exit_code == 2
    assert "no stream 'nowhere'" in unknown.output
