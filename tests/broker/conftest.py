"""A private Mosquitto that signs everyone in and enforces the generated ACL, as deployed.

Each test gets its own broker, topic root, password file and ACL, so what one
test's accounts may do says nothing about another's; the accounts are made the
way the product makes them (`provision_gate`, `broker_accounts.write_password`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import aiomqtt
import pytest
from pydantic import SecretStr

from maskwatch.broker_accounts import new_password, write_password
from maskwatch.broker_acl import SERVER_USER, render_acl
from maskwatch.mqtt import MqttSettings, mqtt_client
from maskwatch.topics import Topics
from stack.provisioning import Provisioned, provision_gate
from tests.private_broker import PrivateBroker

GATE_A, GATE_B = "gate-a", "gate-b"
DENIED_WAIT_S = 1.0
"""Mosquitto drops a denied message without telling anyone, so its absence is awaited this long."""


@dataclass
class AclBroker:
    broker: PrivateBroker
    topics: Topics
    server_password: str
    gates: dict[str, Provisioned]

    def settings(self, username: str | None, password: str | None) -> MqttSettings:
        return MqttSettings(
            host="127.0.0.1",
            port=self.broker.port,
            username=username,
            password=SecretStr(password) if password is not None else None,
            embedded=False,
            topic_root=self.topics.root,
        )

    def server_settings(self) -> MqttSettings:
        return self.settings(SERVER_USER, self.server_password)

    def gate_settings(self, gate_id: str) -> MqttSettings:
        gate = self.gates[gate_id]
        return self.settings(gate.username, gate.password)

    @contextlib.asynccontextmanager
    async def connect(self, settings: MqttSettings) -> AsyncIterator[aiomqtt.Client]:
        async with mqtt_client(settings, identifier=f"{settings.username}-{uuid.uuid4().hex[:8]}") as client:
            yield client

    def server(self) -> contextlib.AbstractAsyncContextManager[aiomqtt.Client]:
        return self.connect(self.server_settings())

    def gate(self, gate_id: str) -> contextlib.AbstractAsyncContextManager[aiomqtt.Client]:
        return self.connect(self.gate_settings(gate_id))


@pytest.fixture
def acl_broker(tmp_path) -> Iterator[AclBroker]:
    topics = Topics(f"test/{uuid.uuid4().hex}")
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    acl.write_text(render_acl(topics))
    server_password = new_password()
    write_password(passwd, SERVER_USER, server_password)
    broker = PrivateBroker(
        tmp_path, extra_config=f"allow_anonymous false\npassword_file {passwd}\nacl_file {acl}\n"
    )
    gates = {
        gate_id: provision_gate(
            gate_id,
            passwd_file=passwd,
            broker_host="127.0.0.1",
            broker_port=broker.port,
            topic_root=topics.root,
        )
        for gate_id in (GATE_A, GATE_B)
    }
    broker.start()
    try:
        yield AclBroker(broker, topics, server_password, gates)
    finally:
        broker.stop()


async def next_message(client: aiomqtt.Client, timeout: float = 5.0) -> aiomqtt.Message | None:
    """The next message for `client`, or None when none comes within `timeout`."""
    try:
        return await asyncio.wait_for(anext(client.messages), timeout)
    except TimeoutError:
        return None


async def received(client: aiomqtt.Client, count: int, timeout: float = 5.0) -> list[aiomqtt.Message]:
    """Exactly `count` messages, failing the test if fewer arrive within `timeout`."""
    messages: list[aiomqtt.Message] = []
    async with asyncio.timeout(timeout):
        while len(messages) < count:
            messages.append(await anext(client.messages))
    return messages
