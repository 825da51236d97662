"""A service whose dependency stays away exits non-zero, and `maskwatch up`'s supervisor starts it again
until the dependency is back: here the stats service, started while its database is away."""

from __future__ import annotations

import asyncio
import logging

import pytest

from stack import launcher
from tests.drills.services import ServiceProcess
from tests.ports import free_port

pytestmark = pytest.mark.timeout(300)


async def test_a_service_without_its_database_exits_and_is_restarted_until_it_is_back(
    drill, monkeypatch, caplog, tmp_path
):
    monkeypatch.setattr(launcher, "RESTART_START_S", 0.5)
    monkeypatch.setattr(launcher, "RESTART_CAP_S", 2.0)
    caplog.set_level(logging.INFO, logger=launcher.__name__)
    drill.link.cut()
    stats = ServiceProcess("stats", drill.env(), free_port(), tmp_path)  # started by the supervisor
    stop = asyncio.Event()
    supervisor = asyncio.create_task(launcher.supervise("stats", "stats", stop, stats.env))
    try:
        assert await until(lambda: exits(caplog) >= 2, 120), caplog.text
        assert not stats.ready()
        drill.link.restore()
        assert await until(stats.ready, 120), caplog.text
    finally:
        stop.set()
        await asyncio.wait_for(supervisor, 60)
    print(f"stats exited {exits(caplog)} times while its database was away; ready once it was back")


def exits(caplog: pytest.LogCaptureFixture) -> int:
    return sum("exited with" in record.getMessage() for record in caplog.records)


async def until(predicate, timeout_s: float) -> bool:
    for _ in range(int(timeout_s / 0.25)):
        if await asyncio.to_thread(predicate):
            return True
        await asyncio.sleep(0.25)
    return False
