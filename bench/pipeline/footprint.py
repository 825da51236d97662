"""What a check leaves behind: bytes in Redis while it waits, rows in PostgreSQL once recorded."""

from __future__ import annotations

import psycopg
import redis.asyncio as aioredis

from maskwatch.queue import open_queue
from maskwatch.streams import Streams, append_many
from pipeline.gate_load import queued_check
from pipeline.world import POSTGRES_ADMIN_URL, REDIS_URL, World

SAMPLE = 200


async def redis_bytes_per_check(world: World, jpeg: bytes) -> int:
    """Redis memory per queued check (MEMORY USAGE of a scratch checks stream of SAMPLE entries): a
    backlog of N seconds at R checks/s holds N x R x this."""
    streams = Streams(f"{world.prefix}-footprint")
    queue = open_queue(REDIS_URL)
    checks = [queued_check(jpeg, "g") for _ in range(SAMPLE)]
    raw = aioredis.Redis.from_url(REDIS_URL)
    try:
        await append_many(queue, streams.checks, checks)
        used = await raw.memory_usage(streams.checks.key, samples=0)
        return int(used or 0) // SAMPLE
    finally:
        await raw.delete(streams.checks.key)
        await raw.aclose()
        await queue.close()


def table_rows(world: World) -> dict[str, int]:
    """Rows in every table of the bench's database that holds any."""
    url = f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{world.database}"
    with psycopg.connect(url) as connection:
        names = [
            r[0]
            for r in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        counts = {n: int(connection.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names}  # type: ignore[index]
    return {n: c for n, c in counts.items() if c}


def rows_per_check(world: World) -> dict[str, float | dict[str, int]]:
    """Rows written per recorded check (checks, their reasons, rejections), beside every table's count:
    roll-ups grow per hour and gate, not per check."""
    rows = table_rows(world)
    recorded = rows.get("checks", 0) + rows.get("rejections", 0)
    per_check = sum(rows.get(t, 0) for t in ("checks", "check_reasons", "rejections"))
    return {"per_check": round(per_check / recorded, 3) if recorded else 0.0, "tables": rows}
