"""Broker restarts, remote open and pushed configuration, against a Mosquitto the test controls."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import aiomqtt
import pytest
import sqlalchemy as sa

from devices.hardware.indicators import IndicatorState
from maskwatch.contracts import GateCommand, GateConfig, GateStatus, decode
from maskwatch.database.engine import create_engine
from maskwatch.database.schema import checks
from maskwatch.mqtt import MqttSettings
from maskwatch.topics import Topics
from stack.in_process import Stack
from stack.service_table import GATE_PATH
from stack.settings import DatabaseSettings, IngestSettings, QueueSettings, Settings, WorkerSettings
from tests.agent.conftest import RunningAgent, agent_settings
from tests.private_broker import PrivateBroker

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def broker(tmp_path):
    # Persistent, as deployed: the server's session and subscriptions survive the restart, so checks a gate
    # sends before the server has reconnected are queued for it. Without persistence they would be dropped
    # whenever the gate reconnects first (seen under load).
    b = PrivateBroker(tmp_path, persistence=True)
    b.start()
    yield b
    b.stop()


def server_settings(broker: PrivateBroker, tmp_path, unique_id) -> Settings:
    return Settings(
        mqtt=MqttSettings(port=broker.port, embedded=False, topic_root=f"test/{unique_id}"),
        queue=QueueSettings(url="memory://"),
        database=DatabaseSettings(url=f"sqlite:///{tmp_path}/stats.db"),
        worker=WorkerSettings(block_ms=50, check_deadline_s=30),  # a loaded test machine is not "too late"
        ingest=IngestSettings(http_port=None),
        allow_unregistered_gates=True,
    )


async def wait_until(predicate, timeout=30.0):
    for _ in range(int(timeout / 0.1)):
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_broker_restart_mid_run_buffers_then_delivers_each_check_once(
    broker, photos, tmp_path, unique_id
):
    settings = server_settings(broker, tmp_path, unique_id)
    stack = Stack(settings, GATE_PATH)
    await stack.start(timeout=120)
    try:
        config = agent_settings(settings.mqtt, photos, [36.6], tmp_path / "spool")
        async with RunningAgent(config) as gate:
            await gate.wait_connected()
            assert (await gate.check()).result == "opened"

            broker.stop()
            assert await wait_until(lambda: not gate.agent.connected.is_set())
            offline = [await gate.check() for _ in range(2)]
            assert [o.result for o in offline] == ["offline_denied", "offline_denied"]
            assert gate.hardware.gate.actions.count("open") == 1  # type: ignore[attr-defined]
            assert IndicatorState.OFFLINE in gate.hardware.indicator.states  # type: ignore[attr-defined]
            assert len(gate.agent.spool) == 2

            broker.start()
            await gate.wait_connected(timeout=60)
            assert await wait_until(lambda: len(gate.agent.spool) == 0)
            assert (await gate.check()).result in {"opened", "denied"}  # the live path works again

        engine = create_engine(settings.database.url)

        def counts():
            with engine.connect() as c:
                rows = c.execute(
                    sa.select(checks.c.offline_decision, sa.func.count()).group_by(checks.c.offline_decision)
                )
                return dict(rows.all())

        assert await wait_until(
            lambda: counts().get("deny") == 2 and sum(counts().values()) == 4, timeout=60
        ), counts()
        await asyncio.sleep(1)
        assert counts().get("deny") == 2  # each buffered check exactly once
        engine.dispose()
    finally:
        await stack.close()


async def test_remote_open_and_pushed_config(broker, photos, tmp_path, unique_id):
    mqtt = MqttSettings(port=broker.port, embedded=False, topic_root=f"test/{unique_id}")
    topics = Topics(mqtt.topic_root)
    config = agent_settings(mqtt, photos, [36.6], tmp_path / "spool")
    async with RunningAgent(config) as gate:
        await gate.wait_connected()
        async with aiomqtt.Client("127.0.0.1", broker.port) as operator:
            await operator.subscribe(topics.gate_status.format(gate_id="door-1"), qos=1)
            stale = GateCommand(
                command="open",
                command_id=uuid4(),
                by="ops@venue",
                reason="old",
                issued_at=datetime.now(UTC) - timedelta(minutes=5),
            )
            fresh = GateCommand(
                command="open",
                command_id=uuid4(),
                by="ops@venue",
                reason="wheelchair user",
                issued_at=datetime.now(UTC),
            )
            command_topic = topics.gate_command.format(gate_id="door-1")
            await operator.publish(command_topic, stale.to_json(), qos=1)
            await operator.publish(command_topic, fresh.to_json(), qos=1)
            assert await wait_until(lambda: "open" in gate.hardware.gate.actions)  # type: ignore[attr-defined]
            assert [c.command_id for c in gate.agent.commands] == [fresh.command_id]

            pushed = GateConfig(version="2026-11-24.1", open_s=0.7, offline_policy="allow")
            await operator.publish(
                topics.gate_config.format(gate_id="door-1"), pushed.to_json(), qos=1, retain=True
            )
            assert await wait_until(lambda: gate.agent.settings.open_s == 0.7)
            assert gate.agent.settings.offline_policy == "allow"
            async with asyncio.timeout(10):
                async for message in operator.messages:
                    status = decode(GateStatus, message.payload)  # type: ignore[arg-type]
                    if status.config_version == "2026-11-24.1":
                        break
            assert status.state == "online"
