"""Redis restarted under load, with its data (AOF) and then without: nothing accepted is lost, and
the services heal (consumer groups and streams Redis lost are created again) rather than die.

One world for both restarts: the drills share two cores, and starting the services is most of a
drill's cost."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.timeout(420)

OUTAGE_S = 3.0
CHECKS_PER_GATE = 30


async def test_redis_restarted_with_its_data_and_then_empty_loses_nothing(drill):
    await drill.start()
    load = drill.load(CHECKS_PER_GATE)
    await drill.until_sent(10)
    drill.redis.stop()  # under load, checks in every stream: the append-only file keeps them
    await asyncio.sleep(OUTAGE_S)  # the outage itself; nothing is measured against it
    drill.redis.start(keep_data=True)
    print(f"redis restarted with its data after {drill.sent()} checks sent")

    # A Redis that lost its disk loses what it held at that instant (that is what the append-only file
    # is for): emptied at a quiet instant between checks, it proves the healing, not the disk.
    await drill.until_sent(50)
    await drill.quiesce()
    drill.redis.stop()
    await asyncio.sleep(OUTAGE_S)
    drill.redis.start(keep_data=False)
    drill.resume()
    print(f"redis restarted empty after {drill.sent()} checks sent")
    await drill.finish("redis restarted with its data (AOF), then empty", load)
