"""The loop every queue-reading service runs: read a batch, decode it, handle it, acknowledge it.

Entries are acknowledged only after the handler returns, so a crash redelivers
them; an entry delivered `max_deliveries` times without success is moved to the
dead-letter stream instead of blocking the queue forever. Connection failures
back off exponentially with a cap, and `burst` drains the queue then returns,
which makes every service testable without timing games.

A batch that fails on its content (not an outage) is handled again entry by
entry at once: one poison entry then keeps only itself pending, towards the
dead letters, while the good entries it arrived with are handled and
acknowledged instead of failing and being dead-lettered beside it.

`consume_messages` is what services use: it decodes each entry into the
contract its kind names and dead-letters, at once and with the reason, an
entry that is not one (a producer bug: retrying cannot fix it). `consume` is
the loop underneath, on raw entries.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from pydantic import BaseModel, Field

from maskwatch import metrics
from maskwatch.contracts import ContractError, Message, decode
from maskwatch.contracts.binary_frame import join_image
from maskwatch.outages import is_outage
from maskwatch.queue import Entry, GroupMissing, QueueUnavailable, WorkQueue
from maskwatch.streams import ENTRY_CONTRACTS, IMAGE_PATHS, EntryKind, StreamGroup

log = logging.getLogger(__name__)

BatchHandler = Callable[[Sequence[Entry]], Awaitable[None]]
MessageHandler = Callable[[Sequence[Message]], Awaitable[None]]

T = TypeVar("T")
Prepare = Callable[[Sequence[Entry]], Awaitable[list[tuple[Entry, T]]]]
"""Turns a batch into what its handler takes, each item beside its entry; an entry it settles itself
(dead-letters as unreadable) it leaves out."""

BACKOFF_START_S = 0.5
BACKOFF_CAP_S = 30.0


class ConsumerSettings(BaseModel):
    """How one service reads its stream (`MASKWATCH_<SERVICE>__BATCH_SIZE`, `__BLOCK_MS`)."""

    batch_size: int = Field(default=16, ge=1, le=1024)
    """Most entries handled together."""
    block_ms: int = Field(default=200, ge=1)
    """How long to wait for the first entry of a batch; a partial batch then goes at once."""
    linger_ms: int = Field(default=0, ge=0, le=10_000)
    """Once a batch has its first entries, how long to let more arrive before handling it (0: at once).
    Only for a service nobody waits on: the stats writer then writes many checks in one transaction
    instead of one transaction (and one commit to disk) per check. Not in burst mode."""


async def consume_messages(
    queue: WorkQueue,
    sources: Sources,
    *,
    consumer: str,
    handle: MessageHandler,
    settings: ConsumerSettings,
    max_deliveries: int,
    stop: asyncio.Event | None = None,
    burst: bool = False,
    fatal: tuple[type[BaseException], ...] = (),
) -> int:
    """`consume`, each entry decoded into its contract; an entry that is none is dead-lettered."""

    ordered = (sources,) if isinstance(sources, StreamGroup) else tuple(sources)
    by_stream = {source.stream: source for source in ordered}

    async def readable(entries: Sequence[Entry]) -> list[tuple[Entry, Message]]:
        # Once per batch, so a batch tried again (after an outage, or entry by entry) never
        # dead-letters an unreadable entry twice.
        decoded: list[tuple[Entry, Message]] = []
        for entry in entries:
            source = by_stream[entry.stream]
            try:
                decoded.append((entry, decode_entry(source, entry)))
            except ContractError as exc:
                log.error("%s: entry %s of %s unreadable: %s", consumer, entry.id, source.stream, exc.detail)
                await queue.dead_letter(source, source.dead_letters, entry, exc.detail)
                metrics.DEAD_LETTERS.labels(source.stream).inc()
        return decoded

    return await _consume(
        queue,
        ordered,
        consumer=consumer,
        prepare=readable,
        handle=handle,
        settings=settings,
        max_deliveries=max_deliveries,
        stop=stop,
        burst=burst,
        fatal=fatal,
    )


def decode_entry(source: StreamGroup, entry: Entry) -> Message:
    """The contract in `entry`, checked against the kinds its stream declares."""
    try:
        kind = EntryKind(entry.kind)
    except ValueError:
        raise ContractError("schema", f"unknown entry kind {entry.kind!r}") from None
    if kind not in source.kinds:
        raise ContractError("schema", f"{source.stream} does not carry {kind.value} entries")
    path = IMAGE_PATHS.get(kind)
    if entry.image and path is not None:  # the image beside the JSON, as raw bytes
        return join_image(ENTRY_CONTRACTS[kind], entry.data, entry.image, path)
    return decode(ENTRY_CONTRACTS[kind], entry.data)  # entries written before images travelled apart


Sources = StreamGroup | Sequence[StreamGroup]


async def consume(
    queue: WorkQueue,
    sources: Sources,
    *,
    consumer: str,
    handle: BatchHandler,
    settings: ConsumerSettings,
    max_deliveries: int,
    stop: asyncio.Event | None = None,
    burst: bool = False,
    fatal: tuple[type[BaseException], ...] = (),
) -> int:
    """Run until `stop` is set (or, in burst mode, until the streams are drained); returns entries handled.

    With several sources, a batch is filled from the first before the second is
    read at all (gate checks before camera frames): a busy later stream never
    delays an earlier one by more than one batch.

    Exceptions of a `fatal` type (a lost broker connection) end the loop so the
    caller can reconnect; the batch stays pending and is picked up first on return.
    Redis, the database or the network away is waited out, never counted against
    the entries; consumer groups Redis lost (restarted without its data) are
    created again. A batch that fails on its content is handled again entry by
    entry, so only the entries that fail alone stay pending; in burst mode the
    first such failure is raised once the others are acknowledged.
    """

    async def as_is(entries: Sequence[Entry]) -> list[tuple[Entry, Entry]]:
        return [(entry, entry) for entry in entries]

    ordered = (sources,) if isinstance(sources, StreamGroup) else tuple(sources)
    return await _consume(
        queue,
        ordered,
        consumer=consumer,
        prepare=as_is,
        handle=handle,
        settings=settings,
        max_deliveries=max_deliveries,
        stop=stop,
        burst=burst,
        fatal=fatal,
    )


async def _consume(
    queue: WorkQueue,
    ordered: tuple[StreamGroup, ...],
    *,
    consumer: str,
    prepare: Prepare[T],
    handle: Callable[[Sequence[T]], Awaitable[None]],
    settings: ConsumerSettings,
    max_deliveries: int,
    stop: asyncio.Event | None,
    burst: bool,
    fatal: tuple[type[BaseException], ...],
) -> int:
    stop = stop or asyncio.Event()
    by_stream = {source.stream: source for source in ordered}
    handled = 0
    failures = 0
    groups_ready = False
    depth_checked = 0.0
    resume = True  # entries this consumer held when it last stopped come first
    while not stop.is_set():
        try:
            if not groups_ready:  # at the start, and again after Redis lost them
                for source in ordered:
                    await queue.ensure_group(source)
                groups_ready = True
            entries = await _held(queue, ordered, consumer, settings.batch_size) if resume else []
            resume = bool(entries)
            if not entries:
                entries = await _read_in_order(queue, ordered, consumer, settings)
                if entries and settings.linger_ms and not burst:
                    entries += await _after_lingering(queue, ordered, consumer, settings, entries, stop)
            failures = 0
            if not entries:
                if burst:
                    break
                continue
            fresh = await _dead_letter_exhausted(queue, entries, by_stream, consumer, max_deliveries)
        except GroupMissing as exc:
            log.warning("%s: %s; creating the consumer groups again", consumer, exc)
            groups_ready, resume = False, True
            continue
        except (QueueUnavailable, OSError) as exc:
            failures += 1
            delay = min(BACKOFF_CAP_S, BACKOFF_START_S * 2 ** (failures - 1))
            log.warning("%s: queue unreachable (%s), retrying in %.1fs", consumer, exc, delay)
            await _sleep_unless_stopped(stop, delay)
            continue
        if not fresh:
            continue
        outcome = await _settle(prepare, handle, fresh, consumer, stop, fatal=fatal)
        if outcome.done and not await _ack_until_done(queue, ordered, outcome.done, consumer, stop):
            groups_ready, resume = False, True
            continue
        handled += outcome.settled
        if outcome.failure is not None:
            if burst:
                raise outcome.failure
            await _sleep_unless_stopped(stop, BACKOFF_START_S)
            continue
        now = time.monotonic()
        if now - depth_checked > 1.0:  # at most once a second: two round trips per stream on Redis
            depth_checked = now
            await _record_depth(queue, ordered)
    return handled


async def _dead_letter_exhausted(
    queue: WorkQueue,
    entries: Sequence[Entry],
    by_stream: dict[str, StreamGroup],
    consumer: str,
    max_deliveries: int,
) -> list[Entry]:
    """Move entries delivered too often to their dead letters; returns the others."""
    fresh = []
    for entry in entries:
        if entry.deliveries > max_deliveries:
            source = by_stream[entry.stream]
            log.error("%s: entry %s failed %d deliveries, dead-lettered", consumer, entry.id, max_deliveries)
            await queue.dead_letter(source, source.dead_letters, entry, "too many deliveries")
            metrics.DEAD_LETTERS.labels(source.stream).inc()
        else:
            fresh.append(entry)
    return fresh


@dataclass(frozen=True, slots=True)
class _Outcome:
    done: list[Entry]
    """Entries handled: to acknowledge."""
    settled: int
    """Entries finished with: those handled and those the preparation dead-lettered."""
    failure: Exception | None = None
    """The first content failure; the entries it concerns stay pending, for redelivery."""


class _Stopped(Exception):
    """`stop` was set while an outage was being waited out: the entries not yet done stay pending."""


async def _settle(
    prepare: Prepare[T],
    handle: Callable[[Sequence[T]], Awaitable[None]],
    batch: Sequence[Entry],
    consumer: str,
    stop: asyncio.Event,
    *,
    fatal: tuple[type[BaseException], ...],
) -> _Outcome:
    """Handle the batch whole; when it fails on its content, each of its entries alone.

    Entry by entry, a poison entry fails on its own and stays pending (delivered again after the claim
    timeout, dead-lettered after `max_deliveries`) while the good ones are done: one bad row must not
    take a whole batch of good ones to the dead letters with it. Outages are waited out throughout."""
    try:
        items = await _through_outages(partial(prepare, batch), consumer, len(batch), stop, fatal)
    except _Stopped:
        return _Outcome([], 0)
    except fatal:
        raise
    except Exception as exc:
        log.exception("%s: batch of %d could not be prepared, left for redelivery", consumer, len(batch))
        return _Outcome([], 0, exc)
    unreadable = len(batch) - len(items)
    if not items:
        return _Outcome([], unreadable)
    try:
        whole = [item for _, item in items]
        await _through_outages(partial(handle, whole), consumer, len(items), stop, fatal)
        return _Outcome([entry for entry, _ in items], len(batch))
    except _Stopped:
        return _Outcome([], unreadable)
    except fatal:
        raise
    except Exception as exc:
        if len(items) == 1:
            log.exception("%s: entry %s failed, left for redelivery", consumer, items[0][0].id)
            return _Outcome([], unreadable, exc)
        log.warning(
            "%s: batch of %d failed on its content (%s: %s); handling its entries one by one",
            consumer,
            len(items),
            type(exc).__name__,
            _first_line(exc),
        )
    done: list[Entry] = []
    failure: Exception | None = None
    for entry, item in items:
        try:
            await _through_outages(partial(handle, [item]), consumer, 1, stop, fatal)
        except _Stopped:
            break
        except fatal:
            raise
        except Exception as exc:
            if failure is None:  # the first with its traceback; the others in a line each
                log.exception(
                    "%s: entry %s of %s failed, left for redelivery", consumer, entry.id, entry.stream
                )
                failure = exc
            else:
                log.error(
                    "%s: entry %s of %s failed too (%s: %s), left for redelivery",
                    consumer,
                    entry.id,
                    entry.stream,
                    type(exc).__name__,
                    _first_line(exc),
                )
        else:
            done.append(entry)
    return _Outcome(done, unreadable + len(done), failure)


R = TypeVar("R")


async def _through_outages(
    call: Callable[[], Awaitable[R]],
    consumer: str,
    size: int,
    stop: asyncio.Event,
    fatal: tuple[type[BaseException], ...],
) -> R:
    """`call()`, tried again with capped backoff while it fails on an outage (Redis, the database, the
    network away), without counting a delivery: the entries are not at fault. Any other failure is
    raised; `_Stopped` when `stop` is set meanwhile (the entries stay pending: handled first when the
    service starts again)."""
    outages = 0
    while True:
        try:
            return await call()
        except fatal:
            raise
        except Exception as exc:
            if not is_outage(exc):
                raise
            outages += 1
            delay = min(BACKOFF_CAP_S, BACKOFF_START_S * 2 ** (outages - 1))
            log.warning(
                "%s: batch of %d waits for the infrastructure (%s: %s); trying it again in %.1fs",
                consumer,
                size,
                type(exc).__name__,
                _first_line(exc),
                delay,
            )
            metrics.OUTAGE_RETRIES.labels(consumer).inc()
            await _sleep_unless_stopped(stop, delay)
            if stop.is_set():
                raise _Stopped from exc


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else ""


async def _ack_until_done(
    queue: WorkQueue,
    sources: tuple[StreamGroup, ...],
    batch: Sequence[Entry],
    consumer: str,
    stop: asyncio.Event,
) -> bool:
    """Acknowledge a handled batch, waiting out an unreachable queue (acknowledging late redelivers
    nothing; giving up would redeliver work already done). False when the groups are gone (Redis
    restarted without its data: there is nothing left to acknowledge)."""
    failures = 0
    while True:
        try:
            for source in sources:
                ids = [e.id for e in batch if e.stream == source.stream]
                if ids:
                    await queue.ack(source, ids)
                    metrics.BATCH_SIZE.labels(source.group).observe(len(ids))
            return True
        except GroupMissing as exc:
            log.warning("%s: %s while acknowledging; creating the consumer groups again", consumer, exc)
            return False
        except (QueueUnavailable, OSError) as exc:
            failures += 1
            delay = min(BACKOFF_CAP_S, BACKOFF_START_S * 2 ** (failures - 1))
            log.warning("%s: acknowledging waits for the queue (%s), retrying in %.1fs", consumer, exc, delay)
            await _sleep_unless_stopped(stop, delay)
            if stop.is_set():
                return True  # handled; redelivered at the next start, which the handlers tolerate


async def _record_depth(queue: WorkQueue, sources: tuple[StreamGroup, ...]) -> None:
    try:
        for source in sources:
            depth = await queue.depth(source)
            metrics.QUEUE_DEPTH.labels(source.stream).set(depth.length)
            metrics.QUEUE_PENDING.labels(source.stream).set(depth.pending)
    except (QueueUnavailable, OSError, GroupMissing):
        pass  # a gauge can wait for the next batch


PRIORITY_POLL_MS = 50
"""With several sources and nothing to do, how long to wait on the first before looking at the others."""


async def _held(queue: WorkQueue, sources: tuple[StreamGroup, ...], consumer: str, count: int) -> list[Entry]:
    held: list[Entry] = []
    for source in sources:
        if len(held) < count:
            held += await queue.held_by(source, consumer, count - len(held))
    return held


async def _read_in_order(
    queue: WorkQueue,
    sources: tuple[StreamGroup, ...],
    consumer: str,
    settings: ConsumerSettings,
) -> list[Entry]:
    if len(sources) == 1:
        return await queue.read(sources[0], consumer, settings.batch_size, settings.block_ms)
    entries: list[Entry] = []
    await _take_waiting(queue, sources, consumer, settings.batch_size, entries)
    if entries:
        return entries
    return await queue.read(
        sources[0], consumer, settings.batch_size, min(settings.block_ms, PRIORITY_POLL_MS)
    )


async def _after_lingering(
    queue: WorkQueue,
    sources: tuple[StreamGroup, ...],
    consumer: str,
    settings: ConsumerSettings,
    first: Sequence[Entry],
    stop: asyncio.Event,
) -> list[Entry]:
    """What arrived during `linger_ms`, up to the batch's room (nothing waits on a stopping service).

    A linger longer than the queue's claim time would hand this consumer its own first entries again
    as idle ones: those are left out, not handled twice."""
    if len(first) >= settings.batch_size:
        return []
    await _sleep_unless_stopped(stop, settings.linger_ms / 1000)
    have = {(entry.stream, entry.id) for entry in first}
    more: list[Entry] = []
    try:
        await _take_waiting(queue, sources, consumer, settings.batch_size - len(first), more)
    except (QueueUnavailable, OSError):
        pass  # what came first goes now; the next read meets the outage and waits it out
    return [entry for entry in more if (entry.stream, entry.id) not in have]


async def _take_waiting(
    queue: WorkQueue, sources: tuple[StreamGroup, ...], consumer: str, count: int, into: list[Entry]
) -> None:
    """Up to `count` entries already waiting into `into`, without blocking, each source before the next
    (what one source gave stays in `into` when the next one's read fails)."""
    for source in sources:
        room = count - len(into)
        if room > 0:
            into += await queue.read(source, consumer, room, 0)


async def _sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
