"""Pick the queue backend from its URL."""

from __future__ import annotations

from maskwatch.queue.base import WorkQueue
from maskwatch.queue.memory import MemoryQueue
from maskwatch.queue.redis_streams import RedisStreamQueue


def open_queue(url: str, *, claim_idle_ms: int = 30_000) -> WorkQueue:
    if url.startswith("memory://"):
        return MemoryQueue(claim_idle_ms=claim_idle_ms)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStreamQueue(url, claim_idle_ms=claim_idle_ms)
    raise ValueError(f"unsupported queue URL {url!r}: use redis://host:port/db or memory://")
