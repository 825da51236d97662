"""The database away under load, for longer than the stats service's whole retry schedule: every check
is stored once it is back, and nothing is dead-lettered (an outage is never a poison message).

The suite cuts it for 3 minutes (`MASKWATCH_DRILL_DATABASE_OUTAGE_S`, 180 s), ninety times the schedule
the drill gives the services (2 deliveries, 2 s apart): an outage is waited out, never counted."""

from __future__ import annotations

import asyncio
import os

import pytest
import redis

pytestmark = pytest.mark.timeout(900)

OUTAGE_S = float(os.environ.get("MASKWATCH_DRILL_DATABASE_OUTAGE_S", "180"))


async def test_the_database_away_loses_nothing_and_dead_letters_nothing(drill):
    await drill.start()
    load = drill.load()
    await drill.until_sent(10)
    drill.link.cut()
    print(f"database away for {OUTAGE_S:.0f}s")
    await asyncio.sleep(OUTAGE_S)
    drill.link.restore()
    await drill.finish(f"database away {OUTAGE_S:.0f}s", load)
    assert dead_letters(drill.redis.url) == {}


def dead_letters(url: str) -> dict[str, int]:
    """Every dead-letter stream that holds anything, with its length."""
    client = redis.Redis.from_url(url)
    try:
        found = {key.decode(): int(client.xlen(key)) for key in client.scan_iter("*:dead")}
    finally:
        client.close()
    return {key: length for key, length in found.items() if length}
