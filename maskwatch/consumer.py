"""The loop every queue-reading service runs: read a batch, decode it, handle it, acknowledge it.

Entries are acknowledged only after the handler returns, so a crash redelivers
them; an entry delivered `max_deliveries` times without success is moved to the
dead-letter stream instead of blocking the queue forever. Connection failures
back off exponentially with a cap, and `burst` drains the queue then returns,
which makes every service testable without timing games.

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

BACKOFF_START_S = 0.5
BACKOFF_CAP_S = 30.0


class ConsumerSettings(BaseModel):
    """How one service reads its stream (`MASKWATCH_<SERVICE>__BATCH_SIZE`, `__BLOCK_MS`)."""

    batch_size: int = Field(default=16, ge=1, le=1024)
    """Most entries handled together."""
    block_ms: int = Field(default=200, ge=1)
    """How long to wait for the first entry of a batch; a partial batch then goes at once."""


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

    async def decode_then_handle(entries: Sequence[Entry]) -> None:
        messages: list[Message] = []
        for entry in entries:
            source = by_stream[entry.stream]
            try:
                messages.append(decode_entry(source, entry))
            except ContractError as exc:
                log.error("%s: entry %s of %s unreadable: %s", consumer, entry.id, source.stream, exc.detail)
                await queue.dead_letter(source, source.dead_letters, entry, exc.detail)
                metrics.DEAD_LETTERS.labels(source.stream).inc()
        if messages:
            await handle(messages)

    return await consume(
        queue,
        ordered,
        consumer=consumer,
        handle=decode_then_handle,
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
    created again.
    """
    stop = stop or asyncio.Event()
    ordered = (sources,) if isinstance(sources, StreamGroup) else tuple(sources)
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
        if not await _handle_until_done(handle, fresh, consumer, stop, fatal=fatal, burst=burst):
            continue
        if not await _ack_until_done(queue, ordered, fresh, consumer, stop):
            groups_ready, resume = False, True
            continue
        handled += len(fresh)
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


async def _handle_until_done(
    handle: BatchHandler,
    batch: Sequence[Entry],
    consumer: str,
    stop: asyncio.Event,
    *,
    fatal: tuple[type[BaseException], ...],
    burst: bool,
) -> bool:
    """Handle the batch; True once it is done. An outage (Redis, the database, the network away) is
    waited out and the same batch tried again, with capped backoff, without counting a delivery: the
    entries are not at fault. Any other failure leaves the batch pending (False): it is delivered
    again after the claim timeout, and dead-lettered after `max_deliveries`."""
    outages = 0
    while True:
        try:
            await handle(batch)
            return True
        except fatal:
            raise
        except Exception as exc:
            if not is_outage(exc):
                log.exception("%s: batch of %d failed, left for redelivery", consumer, len(batch))
                if burst:
                    raise
                await _sleep_unless_stopped(stop, BACKOFF_START_S)
                return False
            outages += 1
            delay = min(BACKOFF_CAP_S, BACKOFF_START_S * 2 ** (outages - 1))
            log.warning(
                "%s: batch of %d waits for the infrastructure (%s: %s); trying it again in %.1fs",
                consumer,
                len(batch),
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
                delay,
            )
            metrics.OUTAGE_RETRIES.labels(consumer).inc()
            await _sleep_unless_stopped(stop, delay)
            if stop.is_set():
                return False  # still pending: handled first when the service starts again


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
    for source in sources:
        room = settings.batch_size - len(entries)
        if room > 0:
            entries += await queue.read(source, consumer, room, 0)
    if entries:
        return entries
    return await queue.read(
        sources[0], consumer, settings.batch_size, min(settings.block_ms, PRIORITY_POLL_MS)
    )


async def _sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
