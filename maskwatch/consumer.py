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
from maskwatch.queue import Entry, QueueUnavailable, WorkQueue
from maskwatch.streams import ENTRY_CONTRACTS, EntryKind, StreamGroup

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
    source: StreamGroup,
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

    async def decode_then_handle(entries: Sequence[Entry]) -> None:
        messages: list[Message] = []
        for entry in entries:
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
        source,
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
    return decode(ENTRY_CONTRACTS[kind], entry.data)


async def consume(
    queue: WorkQueue,
    spec: StreamGroup,
    *,
    consumer: str,
    handle: BatchHandler,
    settings: ConsumerSettings,
    max_deliveries: int,
    stop: asyncio.Event | None = None,
    burst: bool = False,
    fatal: tuple[type[BaseException], ...] = (),
) -> int:
    """Run until `stop` is set (or, in burst mode, until the stream is drained); returns entries handled.

    Exceptions of a `fatal` type (a lost broker connection) end the loop so the
    caller can reconnect; the batch stays pending and is picked up first on return.
    """
    stop = stop or asyncio.Event()
    dead_stream = spec.dead_letters
    batch_size, block_ms = settings.batch_size, settings.block_ms
    handled = 0
    failures = 0
    await queue.ensure_group(spec)
    depth_checked = 0.0
    resume = True  # entries this consumer held when it last stopped come first
    while not stop.is_set():
        try:
            entries = await queue.held_by(spec, consumer, batch_size) if resume else []
            resume = bool(entries)
            if not entries:
                entries = await queue.read(spec, consumer, batch_size, block_ms)
            failures = 0
        except (QueueUnavailable, OSError) as exc:
            failures += 1
            delay = min(BACKOFF_CAP_S, BACKOFF_START_S * 2 ** (failures - 1))
            log.warning("%s: queue unreachable (%s), retrying in %.1fs", consumer, exc, delay)
            await _sleep_unless_stopped(stop, delay)
            continue
        if not entries:
            if burst:
                break
            continue
        fresh = []
        for entry in entries:
            if entry.deliveries > max_deliveries:
                log.error(
                    "%s: entry %s failed %d deliveries, dead-lettered", consumer, entry.id, max_deliveries
                )
                await queue.dead_letter(spec, dead_stream, entry, "too many deliveries")
                metrics.DEAD_LETTERS.labels(spec.stream).inc()
            else:
                fresh.append(entry)
        if not fresh:
            continue
        try:
            await handle(fresh)
        except fatal:
            raise
        except Exception:
            # Left pending: redelivered after the claim timeout, dead-lettered after max_deliveries.
            log.exception("%s: batch of %d failed, left for redelivery", consumer, len(fresh))
            if burst:
                raise
            await _sleep_unless_stopped(stop, BACKOFF_START_S)
            continue
        await queue.ack(spec, [e.id for e in fresh])
        handled += len(fresh)
        metrics.BATCH_SIZE.labels(spec.group).observe(len(fresh))
        now = time.monotonic()
        if now - depth_checked > 1.0:  # at most once a second: two round trips on Redis
            depth_checked = now
            depth = await queue.depth(spec)
            metrics.QUEUE_DEPTH.labels(spec.stream).set(depth.length)
            metrics.QUEUE_PENDING.labels(spec.stream).set(depth.pending)
    return handled


async def _sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
