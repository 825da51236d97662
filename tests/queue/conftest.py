"""Every queue test runs twice: on the in-process queue and on the real Redis."""

from __future__ import annotations

import pytest

from maskwatch.queue import open_queue

CLAIM_IDLE_MS = 300


@pytest.fixture(params=["memory", "redis"])
async def queue(request, unique_id):
    async for q in _opened(request, unique_id, CLAIM_IDLE_MS):
        yield q


@pytest.fixture(params=["memory", "redis"])
async def patient_queue(request, unique_id):
    """A queue that hands nothing to another consumer for a minute: for tests that hold entries longer
    than `CLAIM_IDLE_MS` on purpose."""
    async for q in _opened(request, unique_id, 60_000):
        yield q


async def _opened(request, unique_id, claim_idle_ms):
    if request.param == "memory":
        q = open_queue("memory://", claim_idle_ms=claim_idle_ms)
    else:
        q = open_queue(request.getfixturevalue("redis_url"), claim_idle_ms=claim_idle_ms)
    yield q
    if request.param == "redis":
        import redis.asyncio as aioredis

        r = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
        keys = [k async for k in r.scan_iter(f"test-{unique_id}:*")]
        if keys:
            await r.delete(*keys)
        await r.aclose()
    await q.close()
