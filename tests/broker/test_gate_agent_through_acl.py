"""The gate agent, signed in with its provisioned account, acts on a remote open and a pushed config
that cross the generated ACL: the paths the hand-typed ACL had cut off under compose.yaml."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from maskwatch.contracts import GateConfig, GateStatus, decode
from services.api.commander import MqttGateCommander
from stack.demo.sample_faces import sample_image
from tests.agent.conftest import RunningAgent, agent_settings
from tests.broker.conftest import GATE_A, AclBroker

pytestmark = pytest.mark.timeout(90)


async def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


async def test_remote_open_and_pushed_config_reach_the_agent_through_the_acl(acl_broker: AclBroker, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    sample_image("mask").save(photos / "1-masked.jpg")
    topics = acl_broker.topics
    config_topic = topics.gate_config.format(gate_id=GATE_A)
    config = agent_settings(
        acl_broker.gate_settings(GATE_A), photos, [36.6], tmp_path / "spool", gate_id=GATE_A
    )
    async with acl_broker.server() as server:
        # Retained before the gate boots, as when the server configured it while it was away.
        at_boot = GateConfig(version="acl-1", open_s=0.7)
        await server.publish(config_topic, at_boot.to_json(), qos=1, retain=True)
        async with RunningAgent(config) as gate:
            await gate.wait_connected()
            assert await wait_until(lambda: gate.agent.settings.open_s == 0.7)
            await server.subscribe(topics.gate_status.format(gate_id=GATE_A), qos=1)

            commander = MqttGateCommander(acl_broker.server_settings())
            opened = await commander.open_gate(
                GATE_A, by="ops@venue.test", reason="delivery", confirm_within_s=10
            )
            assert await wait_until(lambda: "open" in gate.hardware.gate.actions)  # type: ignore[attr-defined]
            assert [str(c.command_id) for c in gate.agent.commands] == [opened.command_id]
            # Its account may answer on its own command_ack topic: the server hears that it opened.
            assert opened.ack is not None
            assert opened.ack.outcome == "opened"
            assert gate.agent.commands[0].by == "ops@venue.test"

            live = GateConfig(version="acl-2", offline_policy="allow")
            await server.publish(config_topic, live.to_json(), qos=1, retain=True)
            assert await wait_until(lambda: gate.agent.settings.offline_policy == "allow")
            assert gate.agent.settings.open_s == 0.7
            # The agent reports the version it runs on its retained status, which its account may write.
            async with asyncio.timeout(10):
                async for message in server.messages:
                    status = decode(GateStatus, message.payload)
                    if status.config_version == "acl-2":
                        break
            assert status.state == "online"
