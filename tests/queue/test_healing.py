"""A consumer that heals: it waits out an outage without blaming the entries, creates its groups again
when Redis lost them, and loses nothing when Redis restarts with its data (a private Redis on its own
port, restarted in the test)."""

from __future__ import annotations

import asyncio
import shutil

import pytest
import redis
import sqlalchemy.exc

from maskwatch import consumer as consumer_module
from maskwatch.consumer import ConsumerSettings, consume
from maskwatch.queue import open_queue
from maskwatch.streams import EntryKind, Group, StreamGroup
from tests.private_redis import PrivateRedis

pytestmark = pytest.mark.timeout(90)
FAST = ConsumerSettings(batch_size=8, block_ms=20)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(consumer_module, "BACKOFF_START_S", 0.02)
    monkeypatch.setattr(consumer_module, "BACKOFF_CAP_S", 0.2)


def spec(unique_id: str) -> StreamGroup:
    return StreamGroup(
        f"test-{unique_id}:work", Group.STATS.value, (EntryKind.VERDICT,), (Group.STATS.value,)
    )


async def until(predicate, timeout_s: float = 30.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)


async def test_an_outage_is_waited_out_without_counting_against_the_entries(queue, unique_id):
    source = spec(unique_id)
    await queue.ensure_group(source)
    await queue.add(source.stream, "verdict", b"one")
    calls = 0

    async def database_away_three_times(entries) -> None:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise sqlalchemy.exc.OperationalError("INSERT …", {}, ConnectionRefusedError("db restarting"))

    handled = await consume(
        queue,
        source,
        consumer="c",
        handle=database_away_three_times,
        settings=FAST,
        max_deliveries=1,
        burst=True,
    )
    assert (handled, calls) == (1, 4)  # with max_deliveries=1, a redelivery would have dead-lettered it
    assert await queue.dead_letters(source.dead_letters, 10) == []
    assert (await queue.depth(source)).pending == 0


async def test_a_bad_entry_is_still_dead_lettered(queue, unique_id):
    source = spec(unique_id)
    await queue.ensure_group(source)
    await queue.add(source.stream, "verdict", b"poison")

    async def refuses(entries) -> None:
        raise sqlalchemy.exc.IntegrityError("INSERT …", {}, ValueError("duplicate key"))

    stop = asyncio.Event()
    task = asyncio.create_task(
        consume(queue, source, consumer="c", handle=refuses, settings=FAST, max_deliveries=1, stop=stop)
    )
    await until(lambda: False, timeout_s=1.5)  # redelivered after the claim timeout, then given up on
    stop.set()
    await task
    assert [d.data for d in await queue.dead_letters(source.dead_letters, 10)] == [b"poison"]


class OneTransaction:
    """A handler that writes its batch in one transaction, as the stats writer does: an entry the database
    refuses (here `poison`) fails the whole batch and stores none of it; `outage_first` makes the database
    away the first time each listed entry is written alone."""

    def __init__(self, outage_first: tuple[bytes, ...] = ()) -> None:
        self.stored: list[bytes] = []
        self.calls: list[list[bytes]] = []
        self._outage_first = set(outage_first)

    async def __call__(self, entries) -> None:
        data = [e.data for e in entries]
        self.calls.append(data)
        if len(data) == 1 and data[0] in self._outage_first:
            self._outage_first.discard(data[0])
            raise sqlalchemy.exc.OperationalError("INSERT …", {}, ConnectionRefusedError("db restarting"))
        if b"poison" in data:
            raise sqlalchemy.exc.IntegrityError("INSERT …", {}, ValueError("violates foreign key"))
        self.stored += data


async def test_a_poison_entry_fails_alone_and_the_good_entries_of_its_batch_are_handled(queue, unique_id):
    """Without isolation, every delivery of [good, poison, good] fails whole and all three end up dead
    letters; entry by entry, the good ones are stored once and only the poison is dead-lettered. An
    outage met on the way (here while writing the last good entry alone) is still waited out."""
    source = spec(unique_id)
    await queue.ensure_group(source)
    for data in (b"first", b"poison", b"last"):
        await queue.add(source.stream, "verdict", data)
    handle = OneTransaction(outage_first=(b"last",))

    stop = asyncio.Event()
    task = asyncio.create_task(
        consume(queue, source, consumer="c", handle=handle, settings=FAST, max_deliveries=2, stop=stop)
    )
    letters = []
    for _ in range(300):  # the poison is delivered again after the claim timeout, then dead-lettered
        letters = await queue.dead_letters(source.dead_letters, 10)
        if letters:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    assert [letter.data for letter in letters] == [b"poison"]
    assert handle.stored == [b"first", b"last"]
    assert handle.calls[0] == [b"first", b"poison", b"last"]
    assert [b"poison"] in handle.calls[1:]  # tried alone, and again when redelivered
    depth = await queue.depth(source)
    assert (depth.length, depth.pending) == (0, 0)


async def test_in_burst_mode_the_good_entries_are_acknowledged_before_the_poison_is_raised(queue, unique_id):
    """Burst mode raises a content failure (tests see the bug) but only once its batch mates are done:
    the poison alone stays pending."""
    source = spec(unique_id)
    await queue.ensure_group(source)
    for data in (b"first", b"poison", b"last"):
        await queue.add(source.stream, "verdict", data)
    handle = OneTransaction()

    with pytest.raises(sqlalchemy.exc.IntegrityError):
        await consume(queue, source, consumer="c", handle=handle, settings=FAST, max_deliveries=2, burst=True)
    assert handle.stored == [b"first", b"last"]
    depth = await queue.depth(source)
    assert (depth.length, depth.pending) == (1, 1)


async def test_a_stream_deleted_while_its_consumer_waits_on_it_is_read_again(redis_url, unique_id):
    """Redis answers a consumer blocked on a stream that is deleted with an error of its own (UNBLOCKED),
    not NOGROUP: it must heal the same way, not end the service."""
    queue = open_queue(redis_url, claim_idle_ms=30_000)
    source = spec(unique_id)
    seen: list[bytes] = []

    async def record(entries) -> None:
        seen.extend(e.data for e in entries)

    waiting = ConsumerSettings(batch_size=8, block_ms=60_000)  # blocked in XREADGROUP when deleted
    plain = redis.Redis.from_url(redis_url)
    stop = asyncio.Event()
    task = asyncio.create_task(
        consume(queue, source, consumer="c", handle=record, settings=waiting, max_deliveries=3, stop=stop)
    )
    try:
        await until(lambda: plain.info("clients")["blocked_clients"] >= 1 and plain.exists(source.stream))
        plain.delete(source.stream)
        await queue.add(source.stream, "verdict", b"after")
        await until(lambda: seen == [b"after"] or task.done())
    finally:
        stop.set()
        await queue.add(source.stream, "verdict", b"wake")  # ends the long wait
        await asyncio.wait_for(task, 60)
        plain.delete(source.stream, source.dead_letters)
        plain.close()
        await queue.close()
    assert seen[:1] == [b"after"]


async def test_groups_redis_lost_are_created_again(redis_url, unique_id):
    queue = open_queue(redis_url, claim_idle_ms=300)
    source = spec(unique_id)
    seen: list[bytes] = []

    async def record(entries) -> None:
        seen.extend(e.data for e in entries)

    stop = asyncio.Event()
    task = asyncio.create_task(
        consume(queue, source, consumer="c", handle=record, settings=FAST, max_deliveries=3, stop=stop)
    )
    try:
        await until(lambda: redis.Redis.from_url(redis_url).exists(source.stream) == 1)
        await queue.add(source.stream, "verdict", b"before")
        await until(lambda: seen == [b"before"])
        redis.Redis.from_url(redis_url).delete(source.stream)  # as if Redis restarted without its data
        await queue.add(source.stream, "verdict", b"after")  # the stream is back, its groups are not
        await until(lambda: len(seen) == 2, timeout_s=10)
        for _ in range(3):  # and the group is there for the next entries
            await queue.add(source.stream, "verdict", b"later")
        await until(lambda: len(seen) == 5, timeout_s=10)
    finally:
        stop.set()
        await task
        redis.Redis.from_url(redis_url).delete(source.stream, source.dead_letters)
        await queue.close()
    assert not task.exception()
    assert seen == [b"before", b"after", b"later", b"later", b"later"]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
async def test_nothing_is_lost_when_redis_restarts_with_its_data(tmp_path, unique_id):
    server = PrivateRedis(tmp_path)
    server.start()
    queue = open_queue(server.url, claim_idle_ms=300)
    source = spec(unique_id)
    seen: list[bytes] = []

    async def record(entries) -> None:
        seen.extend(e.data for e in entries)

    stop = asyncio.Event()
    task = asyncio.create_task(
        consume(queue, source, consumer="c", handle=record, settings=FAST, max_deliveries=3, stop=stop)
    )
    sent: list[bytes] = []
    try:
        for n in range(60):
            if n == 20:
                server.stop()
                await asyncio.sleep(0.3)  # the consumer meets a closed port for a while
                server.start()
            payload = f"entry-{n}".encode()
            while True:  # a producer that retries, as ingest does, until the queue takes it
                try:
                    await queue.add(source.stream, "verdict", payload)
                    break
                except ConnectionError:
                    await asyncio.sleep(0.05)
            sent.append(payload)
        await until(lambda: set(seen) >= set(sent), timeout_s=30)
    finally:
        stop.set()
        await task
        await queue.close()
        server.stop()
    assert not task.exception()
    lost = set(sent) - set(seen)
    assert lost == set()
    assert len(seen) == len(set(seen))  # and none twice
