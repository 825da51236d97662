"""The reconnect loop backs off while the broker stays away, and starts afresh after a good session."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest

from maskwatch import mqtt


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every backoff delay run_connected waits, with a 0.01 s first step so tests run fast."""
    monkeypatch.setattr(mqtt, "RECONNECT_START_S", 0.01)
    recorded: list[float] = []
    real_wait_for = asyncio.wait_for

    async def recording_wait_for(awaitable, timeout):
        recorded.append(timeout)
        return await real_wait_for(awaitable, timeout)

    monkeypatch.setattr(mqtt.asyncio, "wait_for", recording_wait_for)
    return recorded


async def test_backoff_restarts_after_a_session_that_connected(delays):
    stop = asyncio.Event()
    connected = asyncio.Event()
    script = iter(["fail", "fail", "connect", "fail", "stop"])

    async def session() -> None:
        step = next(script)
        if step == "stop":
            stop.set()
            await asyncio.sleep(1)
        if step == "connect":
            connected.set()
        raise aiomqtt.MqttError(step)

    await mqtt.run_connected("test", session, stop, connected=connected)
    assert delays == pytest.approx([0.01, 0.02, 0.01, 0.02])  # without the reset: 0.04, 0.08
    assert not connected.is_set()


async def test_the_cap_bounds_the_delay_and_a_returning_session_restarts_at_once(delays):
    stop = asyncio.Event()
    script = iter(["fail", "fail", "fail", "fail", "lost", "fail", "stop"])
    closed: list[str] = []

    async def session() -> None:
        step = next(script)
        if step == "stop":
            stop.set()
            try:
                await asyncio.sleep(10)
            finally:
                closed.append("cancelled session cleaned up")
        if step == "lost":
            return  # the session noticed the loss itself
        raise aiomqtt.MqttError(step)

    await mqtt.run_connected("test", session, stop, cap_s=0.025)
    # 0.01, 0.02, then the cap; a session that returned is restarted at once and resets the backoff.
    assert delays == pytest.approx([0.01, 0.02, 0.025, 0.025, 0.01])
    assert closed == ["cancelled session cleaned up"]
