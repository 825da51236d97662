"""kill -9 of each service of the gate path under load, one after another, each started again: what a
killed service held is delivered again (to it, or claimed by another), and nothing is lost."""

from __future__ import annotations

import pytest

from stack.service_table import GATE_PATH

pytestmark = pytest.mark.timeout(600)

CHECKS_PER_GATE = 35


async def test_each_service_killed_under_load_and_restarted_loses_nothing(drill):
    await drill.start()
    load = drill.load(CHECKS_PER_GATE)
    for number, name in enumerate(GATE_PATH, start=1):
        await drill.until_sent(number * 20)
        service = drill.services[name]
        service.kill()
        service.start()
        print(f"killed {name} (kill -9) after {drill.sent()} checks sent; started again")
    await drill.finish("kill -9 of each service", load)
    for name in GATE_PATH:
        assert drill.services[name].starts == 2
