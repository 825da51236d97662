"""Redis restarted under load, with its data (AOF) and without: nothing accepted is lost, and the
services heal (consumer groups Redis lost are created again) rather than die."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.timeout(420)

OUTAGE_S = 3.0


async def test_redis_restarted_with_its_data_under_load_loses_nothing(drill):
    await drill.start()
    load = drill.load()
    await drill.until_sent(10)
    drill.redis.stop()
    await asyncio.sleep(OUTAGE_S)  # the outage itself; nothing is measured against it
    drill.redis.start(keep_data=True)
    await drill.finish("redis restarted with its data (AOF)", load)


async def test_redis_restarted_empty_heals_and_answers_every_check_after(drill):
    """A Redis that lost its disk loses what it held at that instant (that is what its append-only file
    is for): the drill empties it at a quiet instant between checks, and proves that every service
    heals (NOGROUP: groups and streams created again) and answers and stores every check before and
    after."""
    await drill.start()
    load = drill.load()
    await drill.until_sent(10)
    await drill.quiesce()
    drill.redis.stop()
    await asyncio.sleep(OUTAGE_S)
    drill.redis.start(keep_data=False)
    drill.resume()
    await drill.finish("redis restarted empty", load)
