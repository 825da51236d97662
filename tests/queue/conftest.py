"""Every queue test runs twice: on the in-process queue and on the real Redis."""

from __future__ import annotations

import pytest

from maskwatch.queue import open_queue

CLAIM_IDLE_MS = 300


@pytest.fixture(params=["memory", "redis"])
async def queue(request, unique_id):
    if request.param == "memory":
        q = open_queue("memory://", claim_idle_ms=CLAIM_IDLE_MS)
    else:
        q = open_queue(request.getfixturevalue("redis_url"), claim_idle_ms=CLAIM_IDLE_MS)
    yield q
    if request.param == "redis":
        import redis.asyncio as aioredis

        r = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
        keys = [k async for k in r.scan_iter(f"test-{unique_id}:*")]
        if keys:
            await r.delete(*keys)
        await r.aclose()
    await q.close()
