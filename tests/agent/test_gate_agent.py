"""The gate agent with simulated hardware: it acts only on its own verdict, and fails secure."""

from __future__ import annotations

import pytest

from devices.hardware.indicators import IndicatorState
from maskwatch.mqtt import MqttSettings
from stack.in_process import Stack
from stack.service_table import GATE_PATH
from stack.settings import DatabaseSettings, IngestSettings, QueueSettings, Settings, WorkerSettings
from tests.agent.conftest import RunningAgent, agent_settings
from tests.ports import free_port

pytestmark = pytest.mark.timeout(180)


async def test_agent_opens_only_for_a_pass(photos, tmp_path, unique_id):
    settings = Settings(
        mqtt=MqttSettings(port=free_port(), topic_root=f"test/{unique_id}"),
        queue=QueueSettings(url="memory://"),
        database=DatabaseSettings(url=f"sqlite:///{tmp_path}/s.db"),
        worker=WorkerSettings(block_ms=50, check_deadline_s=30),  # a loaded test machine is not "too late"
        ingest=IngestSettings(http_port=None),
        allow_unregistered_gates=True,
    )
    stack = Stack(settings, GATE_PATH)
    await stack.start(timeout=120)
    try:
        config = agent_settings(settings.mqtt, photos, [36.6, 36.6, 38.9], tmp_path / "spool")
        async with RunningAgent(config) as gate:
            await gate.wait_connected()
            outcomes = [await gate.check() for _ in range(3)]
            actions = list(gate.hardware.gate.actions)  # type: ignore[attr-defined]
            states = list(gate.hardware.indicator.states)  # type: ignore[attr-defined]
    finally:
        await stack.close()
    assert [o.result for o in outcomes] == ["opened", "denied", "denied"]
    assert outcomes[1].message == "Please wear a mask"
    assert outcomes[2].message.startswith("Elevated temperature")
    assert actions.count("open") == 1
    assert actions[-1] == "close"
    assert IndicatorState.PASS in states
    assert IndicatorState.DENY in states


async def test_no_verdict_in_time_keeps_the_gate_closed(photos, mosquitto, tmp_path, unique_id):
    host, port = mosquitto
    mqtt = MqttSettings(
        host=host, port=port, embedded=False, topic_root=f"test/{unique_id}"
    )  # no server here
    config = agent_settings(mqtt, photos, [36.6], tmp_path / "spool", verdict_timeout_s=0.5)
    async with RunningAgent(config) as gate:
        await gate.wait_connected()
        outcome = await gate.check()
        assert outcome.result == "timeout"
        assert "open" not in gate.hardware.gate.actions  # type: ignore[attr-defined]
        assert IndicatorState.TRY_AGAIN in gate.hardware.indicator.states  # type: ignore[attr-defined]
    assert len(gate.agent.spool) == 0  # a timeout is not an offline check: the server may have it
