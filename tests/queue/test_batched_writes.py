"""Cheap hops, on both backends: a batch is written in one call (one pipelined round trip on Redis) and
acknowledged in one; images ride as a binary field of their own, dead letters and requeues included."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from maskwatch.consumer import ConsumerSettings, consume_messages
from maskwatch.contracts import GateCheck, Message, ReceivedGateCheck
from maskwatch.dead_letters import list_dead, requeue
from maskwatch.queue import NewEntry, WorkQueue
from maskwatch.streams import Group, Streams, append_many

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"


class Counting:
    """The queue, counting the calls that reach its server."""

    def __init__(self, queue: WorkQueue) -> None:
        self._queue = queue
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        self.calls[name] += 1
        return getattr(self._queue, name)


def received(n: int) -> list[ReceivedGateCheck]:
    return [
        ReceivedGateCheck(
            check=GateCheck(gate_id="g1", check_id=uuid4(), captured_at=datetime.now(UTC), image_jpeg=JPEG),
            received_at=datetime.now(UTC),
        )
        for _ in range(n)
    ]


async def test_add_many_keeps_order_and_each_entry_its_image(queue: WorkQueue, unique_id):
    spec = Streams(f"test-{unique_id}").checks.read_by(Group.INFERENCE)
    await queue.ensure_group(spec)
    entries = [NewEntry("k", f"m{i}".encode(), b"\x00img%d\xff" % i if i % 2 else b"") for i in range(6)]
    ids = await queue.add_many(spec.stream, entries)
    got = await queue.read(spec, "c", 10, 100)
    assert [e.id for e in got] == ids
    assert [(e.data, e.image) for e in got] == [(e.data, e.image) for e in entries]


async def test_a_batch_is_written_in_one_call_and_acknowledged_in_one(queue: WorkQueue, unique_id):
    streams = Streams(f"test-{unique_id}")
    counting = Counting(queue)
    await append_many(counting, streams.checks, received(5))  # type: ignore[arg-type]
    assert counting.calls["add_many"] == 1
    assert counting.calls["add"] == 0

    handled: list[Sequence[Message]] = []

    async def forward(messages: Sequence[Message]) -> None:
        handled.append(messages)
        await append_many(counting, streams.analyses, [])  # type: ignore[arg-type]

    counting.calls.clear()
    done = await consume_messages(
        counting,  # type: ignore[arg-type]
        streams.checks.read_by(Group.INFERENCE),
        consumer="c",
        handle=forward,
        settings=ConsumerSettings(batch_size=16, block_ms=20),
        max_deliveries=3,
        burst=True,
    )
    assert done == 5
    assert [len(batch) for batch in handled] == [5]  # what was waiting, in one batch
    assert counting.calls["ack"] == 1
    assert all(isinstance(m, ReceivedGateCheck) and m.check.image_jpeg == JPEG for m in handled[0])


async def test_a_dead_letter_keeps_its_image_and_a_requeue_brings_it_back(queue: WorkQueue, unique_id):
    streams = Streams(f"test-{unique_id}")
    spec = streams.checks.read_by(Group.INFERENCE)
    await queue.ensure_group(spec)
    (message,) = received(1)
    await append_many(queue, streams.checks, [message])
    (entry,) = await queue.read(spec, "c", 10, 100)
    await queue.dead_letter(spec, spec.dead_letters, entry, "test")
    (letter,) = await list_dead(queue, streams.checks)
    assert letter.image == JPEG
    await requeue(queue, streams.checks)
    (again,) = await queue.read(spec, "c", 10, 100)
    assert again.image == JPEG
    assert again.data == entry.data
