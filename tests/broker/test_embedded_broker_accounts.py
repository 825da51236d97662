"""The embedded broker lets in accounts only, and keeps each device to its own topics, as Mosquitto does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import aiomqtt
import pytest
from pydantic import SecretStr

from maskwatch.broker_accounts import write_password
from maskwatch.embedded_broker import EmbeddedBroker
from maskwatch.mqtt import MqttSettings, mqtt_client
from maskwatch.topics import Topics
from tests.ports import free_port

SERVER_PASSWORD = "the-server-password-of-this-test"
DENIED_WAIT_S = 1.0
"""A refused publish is dropped without a word, so its absence is awaited this long."""


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[tuple[MqttSettings, Path]]:
    root = f"test/{uuid4().hex[:8]}"
    server = MqttSettings(
        port=free_port(), username="maskwatch-server", password=SecretStr(SERVER_PASSWORD), topic_root=root
    )
    passwd = tmp_path / "passwd"
    running = EmbeddedBroker(server, passwd)
    await running.start()
    try:
        yield server, passwd
    finally:
        await running.stop()


def as_account(server: MqttSettings, username: str | None, password: str | None) -> MqttSettings:
    return server.model_copy(
        update={"username": username, "password": SecretStr(password) if password is not None else None}
    )


@contextlib.asynccontextmanager
async def connected(settings: MqttSettings) -> AsyncIterator[aiomqtt.Client]:
    async with mqtt_client(settings, identifier=f"t-{uuid4().hex[:8]}") as client:
        yield client


@pytest.mark.parametrize(
    ("username", "password"),
    [(None, None), ("gate-a", "not-its-password"), ("nobody", "whatever"), ("maskwatch-server", "guess")],
)
async def test_anonymous_clients_and_wrong_passwords_are_refused(broker, username, password):
    server, passwd = broker
    write_password(passwd, "gate-a", "gate-a-password")
    with pytest.raises(aiomqtt.MqttCodeError):
        async with connected(as_account(server, username, password)):
            pass


async def test_a_registered_device_account_is_let_in_at_once(broker):
    server, passwd = broker
    async with connected(server):  # the server's own account
        pass
    write_password(passwd, "gate-a", "gate-a-password")  # as `maskwatch device add` does, broker running
    async with connected(as_account(server, "gate-a", "gate-a-password")):
        pass


async def test_a_device_reaches_only_its_own_topics(broker):
    server, passwd = broker
    topics = Topics(server.topic_root)
    write_password(passwd, "gate-a", "gate-a-password")
    gate_a = as_account(server, "gate-a", "gate-a-password")
    own, other = topics.gate_check.format(gate_id="gate-a"), topics.gate_check.format(gate_id="gate-b")
    async with connected(server) as listener, connected(gate_a) as gate:
        await listener.subscribe(topics.gate_check.filter(), qos=1)
        await gate.publish(other, b"opened for someone else", qos=1)
        await gate.publish(topics.gate_command.format(gate_id="gate-b"), b"open", qos=1)
        await gate.publish(own, b"mine", qos=1)
        heard = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DENIED_WAIT_S + 2):
                async for message in listener.messages:
                    heard.append((str(message.topic), message.payload))
                    if len(heard) == 1:
                        await asyncio.sleep(DENIED_WAIT_S)  # anything refused would have come by now
                        break
        assert heard == [(own, b"mine")]
        granted = await gate.subscribe(topics.gate_verdict.format(gate_id="gate-b"), qos=1)
        wildcard = await gate.subscribe(topics.gate_verdict.filter(), qos=1)
    assert [_code(g) for g in (*granted, *wildcard)] == [0x80, 0x80]


def _code(granted: object) -> int:
    value = getattr(granted, "value", granted)
    return int(value)  # type: ignore[call-overload]


async def test_the_readme_by_hand_a_gate_added_then_simulated_with_its_password(tmp_path, monkeypatch):
    """README, "Try it by hand": `maskwatch up` on the defaults (here the gate path in this process),
    `maskwatch device add`, then `maskwatch simulate gate` with the password it printed."""
    from stack.demo.sample_faces import sample_image
    from stack.in_process import Stack
    from stack.service_table import GATE_PATH
    from stack.settings import load_settings

    env = {
        "MASKWATCH_MQTT__PORT": str(free_port()),
        "MASKWATCH_MQTT__TOPIC_ROOT": f"test/{uuid4().hex[:8]}",
        "MASKWATCH_DATABASE__URL": f"sqlite:///{tmp_path}/maskwatch.db",
        "MASKWATCH_PROVISIONING__MOSQUITTO_PASSWD_FILE": str(tmp_path / "passwd"),
        "MASKWATCH_SECRET_KEY_FILE": str(tmp_path / "secret_key"),
        "MASKWATCH_INGEST__HTTP_PORT": "null",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    photo = tmp_path / "photo.jpg"
    sample_image("mask").save(photo)
    stack = Stack(load_settings(), GATE_PATH)
    await stack.start(timeout=120)
    try:
        added = await maskwatch("device", "add", "entrance-1", "--site", "default")
        assert added.code == 0, added.err
        password = next(
            line.rsplit(" ", 1)[1] for line in added.out.splitlines() if line.startswith("Password")
        )
        check = (
            "simulate",
            "gate",
            "--gate-id",
            "entrance-1",
            "--image",
            str(photo),
            "--temperature",
            "36.6",
        )
        answered = await maskwatch(*check, "--password", password)
        without = await maskwatch(*check)
        wrong = await maskwatch(*check, "--password", "not-the-password")
    finally:
        await stack.close()
    assert answered.code == 0, answered.err
    assert json.loads(answered.out)["decision"] == "open"
    assert without.code == 2
    assert "--password" in without.err
    assert "maskwatch device add entrance-1" in without.err
    assert wrong.code == 4
    assert "refused" in wrong.err


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


async def maskwatch(*args: str) -> Ran:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stack", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())
