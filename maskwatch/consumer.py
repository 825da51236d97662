"""The loop every queue-reading service runs: read a batch, handle it, acknowledge it.

Entries are acknowledged only after the handler returns, so a crash redelivers
them; an entry delivered `max_deliveries` times without success is moved to the
dead-letter stream instead of blocking the queue forever. Connection failures
back off exponentially with a cap, and `burst` drains the queue then returns,
which makes every service testable without timing games.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from maskwatch import metrics
from maskwatch.queue import Entry, QueueUnavailable, WorkQueue
from maskwatch.streams import Streams, StreamSpec

log = logging.getLogger(__name__)

BatchHandler = Callable[[Sequence[Entry]], Awaitable[None]]

BACKOFF_START_S = 0.5
BACKOFF_CAP_S = 30.0


async def consume(
    queue: WorkQueue,
    spec: StreamSpec,
    *,
    consumer: str,
    handle: BatchHandler,
    batch_size: int,
    block_ms: int,
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
    dead_stream = Streams.dead_letters(spec)
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
                metrics.DEAD_LETTERS.labels(spec.name).inc()
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
            metrics.QUEUE_DEPTH.labels(spec.name).set(depth.length)
            metrics.QUEUE_PENDING.labels(spec.name).set(depth.pending)
    return handled


async def _sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
