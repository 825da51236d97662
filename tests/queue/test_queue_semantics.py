"""One suite, two backends: the in-process queue must behave like Redis Streams."""

from __future__ import annotations

import asyncio

import pytest

from maskwatch.consumer import ConsumerSettings, consume
from maskwatch.queue import WorkQueue
from maskwatch.streams import EntryKind, Group, Stream, StreamGroup, Streams
from tests.queue.conftest import CLAIM_IDLE_MS


@pytest.fixture
def spec(unique_id):
    return Streams(f"test-{unique_id}").checks.read_by(Group.INFERENCE)


async def test_entries_come_back_in_order_and_ack_removes_them(queue: WorkQueue, spec):
    await queue.ensure_group(spec)
    ids = [await queue.add(spec.stream, "k", f"m{i}".encode()) for i in range(5)]
    batch = await queue.read(spec, "c1", 3, 100)
    assert [e.data for e in batch] == [b"m0", b"m1", b"m2"]
    assert [e.id for e in batch] == ids[:3]
    assert all(e.deliveries == 1 and e.kind == "k" for e in batch)
    assert (await queue.depth(spec)).pending == 3
    await queue.ack(spec, [e.id for e in batch])
    depth = await queue.depth(spec)
    assert (depth.length, depth.pending) == (2, 0)
    rest = await queue.read(spec, "c1", 10, 100)
    assert [e.data for e in rest] == [b"m3", b"m4"]


async def test_read_waits_for_new_entries(queue: WorkQueue, spec):
    await queue.ensure_group(spec)

    async def later():
        await asyncio.sleep(0.1)
        await queue.add(spec.stream, "k", b"late")

    task = asyncio.create_task(later())
    batch = await queue.read(spec, "c1", 10, 2000)
    await task
    assert [e.data for e in batch] == [b"late"]


async def test_unacked_entry_is_redelivered_to_another_consumer_after_idle(queue: WorkQueue, spec):
    await queue.ensure_group(spec)
    await queue.add(spec.stream, "k", b"x")
    first = await queue.read(spec, "dies", 10, 100)
    assert len(first) == 1
    assert await queue.read(spec, "other", 10, 50) == []  # still held, not yet stale
    await asyncio.sleep(CLAIM_IDLE_MS / 1000 + 0.1)
    again = await queue.read(spec, "other", 10, 100)
    assert [e.data for e in again] == [b"x"]
    assert again[0].deliveries == 2


async def test_a_restarted_consumer_resumes_what_it_held(queue: WorkQueue, spec):
    await queue.ensure_group(spec)
    await queue.add(spec.stream, "k", b"held")
    await queue.read(spec, "worker-1", 10, 100)
    held = await queue.held_by(spec, "worker-1", 10)
    assert [e.data for e in held] == [b"held"]
    assert await queue.held_by(spec, "worker-2", 10) == []


async def test_consume_in_burst_mode_handles_everything_and_acks(queue: WorkQueue, spec):
    for i in range(7):
        await queue.add(spec.stream, "k", str(i).encode())
    seen: list[bytes] = []
    batches: list[int] = []

    async def handle(entries):
        batches.append(len(entries))
        seen.extend(e.data for e in entries)

    handled = await consume(
        queue,
        spec,
        consumer="c",
        handle=handle,
        settings=ConsumerSettings(batch_size=3, block_ms=50),
        max_deliveries=3,
        burst=True,
    )
    assert handled == 7
    assert seen == [str(i).encode() for i in range(7)]
    assert max(batches) == 3
    assert (await queue.depth(spec)).length == 0


async def test_an_entry_that_keeps_failing_is_dead_lettered(queue: WorkQueue, spec):
    await queue.add(spec.stream, "k", b"poison")
    attempts = 0

    async def handle(entries):
        nonlocal attempts
        attempts += 1
        raise RuntimeError("cannot handle")

    stop = asyncio.Event()
    task = asyncio.create_task(
        consume(
            queue,
            spec,
            consumer="c",
            handle=handle,
            settings=ConsumerSettings(batch_size=1, block_ms=50),
            max_deliveries=2,
            stop=stop,
        )
    )
    for _ in range(100):
        await asyncio.sleep(0.1)
        if (await queue.depth(spec)).length == 0:
            break
    stop.set()
    await task
    assert attempts == 2
    assert (await queue.depth(spec)).length == 0
    assert (await queue.depth(StreamGroup(spec.dead_letters, "inspect", spec.kinds))).length == 1


@pytest.fixture
def shared(unique_id):
    """A stream read by two groups, as the alerts stream will be (the database writer and the notifier)."""
    stream = Stream(f"test-{unique_id}:shared", (EntryKind.REJECTION,), (Group.STATS, Group.INFERENCE))
    return stream.read_by(Group.STATS), stream.read_by(Group.INFERENCE)


async def test_every_group_of_a_shared_stream_gets_every_entry(queue: WorkQueue, shared):
    first, second = shared
    await queue.ensure_group(first)  # only one reader has started: the other must still see everything
    for i in range(3):
        await queue.add(first.stream, "rejection", f"m{i}".encode())
    got_first = await queue.read(first, "a", 10, 100)
    await queue.ack(first, [e.id for e in got_first])
    assert [e.data for e in got_first] == [b"m0", b"m1", b"m2"]
    assert (await queue.depth(first)).length == 3  # the second group has not had them yet

    got_second = await queue.read(second, "b", 2, 100)
    assert [e.data for e in got_second] == [b"m0", b"m1"]
    await queue.ack(second, [got_second[0].id])
    assert (await queue.depth(second)).length == 2  # m0 is done everywhere; m1 held, m2 not given yet
    rest = await queue.read(second, "b", 10, 100)
    await queue.ack(second, [got_second[1].id, *(e.id for e in rest)])
    assert (await queue.depth(second)).length == 0
    assert await queue.read(first, "a", 10, 50) == []


async def test_dead_lettering_in_one_group_leaves_the_entry_for_the_other(queue: WorkQueue, shared):
    first, second = shared
    await queue.ensure_group(first)
    await queue.add(first.stream, "rejection", b"poison-for-one")
    (entry,) = await queue.read(first, "a", 10, 100)
    await queue.dead_letter(first, first.dead_letters, entry, "cannot handle")
    (again,) = await queue.read(second, "b", 10, 100)
    assert again.data == b"poison-for-one"
    await queue.ack(second, [again.id])
    assert (await queue.depth(second)).length == 0


async def test_a_capped_stream_drops_its_oldest_entries(queue: WorkQueue, spec):
    await queue.ensure_group(spec)
    for i in range(8):
        await queue.add(spec.stream, "k", f"f{i}".encode(), max_length=5)
    entries = await queue.read(spec, "c", 10, 100)
    assert [e.data for e in entries] == [b"f3", b"f4", b"f5", b"f6", b"f7"]


async def test_a_consumer_of_two_streams_fills_each_batch_from_the_first_stream_first(queue, unique_id):
    streams = Streams(f"test-{unique_id}")
    first = streams.checks.read_by(Group.INFERENCE)
    second = streams.frames.read_by(Group.INFERENCE)
    for i in range(5):
        await queue.add(second.stream, "camera_frame", f"frame{i}".encode())
    for i in range(3):
        await queue.add(first.stream, "gate_check", f"check{i}".encode())
    batches: list[list[bytes]] = []

    async def handle(entries):
        batches.append([e.data for e in entries])

    handled = await consume(
        queue,
        (first, second),
        consumer="worker",
        handle=handle,
        settings=ConsumerSettings(batch_size=4, block_ms=50),
        max_deliveries=3,
        burst=True,
    )
    assert handled == 8
    assert batches[0] == [b"check0", b"check1", b"check2", b"frame0"]
    assert batches[1] == [b"frame1", b"frame2", b"frame3", b"frame4"]
    assert (await queue.depth(first)).length == 0  # each entry acknowledged on its own stream
    assert (await queue.depth(second)).length == 0


async def _lingering(queue: WorkQueue, spec: StreamGroup, handle, stop: asyncio.Event, *, linger_ms: int):
    """A consumer lingering `linger_ms` after its first read, started and seen holding one entry."""
    consumer = asyncio.create_task(
        consume(
            queue,
            spec,
            consumer="c",
            handle=handle,
            settings=ConsumerSettings(batch_size=16, block_ms=50, linger_ms=linger_ms),
            max_deliveries=3,
            stop=stop,
        )
    )
    await _until_pending(queue, spec, 1)
    return consumer


async def _until_pending(queue: WorkQueue, spec: StreamGroup, count: int) -> None:
    for _ in range(2000):  # the queue has no event for "read": look every 5 ms, for 10 s at most
        if (await queue.depth(spec)).pending >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{count} entries never pending")


async def test_a_lingering_consumer_handles_what_arrives_meanwhile_in_the_same_batch(
    patient_queue: WorkQueue, spec
):
    queue = patient_queue
    await queue.add(spec.stream, "k", b"first")
    batches: list[list[bytes]] = []
    stop = asyncio.Event()

    async def handle(entries):
        batches.append([e.data for e in entries])
        if sum(map(len, batches)) == 3:
            stop.set()

    consumer = await _lingering(queue, spec, handle, stop, linger_ms=2000)  # the first is read
    await queue.add(spec.stream, "k", b"second")
    await queue.add(spec.stream, "k", b"third")
    assert await asyncio.wait_for(consumer, 10) == 3
    assert batches == [[b"first", b"second", b"third"]]
    assert (await queue.depth(spec)).pending == 0


async def test_a_consumer_stopped_while_lingering_still_handles_and_acknowledges_what_it_read(
    patient_queue: WorkQueue, spec
):
    queue = patient_queue
    await queue.add(spec.stream, "k", b"read")
    seen: list[bytes] = []
    stop = asyncio.Event()

    async def handle(entries):
        seen.extend(e.data for e in entries)

    consumer = await _lingering(queue, spec, handle, stop, linger_ms=10_000)
    stop.set()  # the service is told to stop 10 s before its linger would end
    assert await asyncio.wait_for(consumer, 5) == 1
    assert seen == [b"read"]
    assert (await queue.depth(spec)).pending == 0
