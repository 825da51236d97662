"""Sending devices what they act on (open a gate now; a camera's new rate), behind an interface so the
routes never touch MQTT."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Protocol

import aiomqtt

from maskwatch.contracts import (
    CameraConfig,
    CommandOutcome,
    ContractError,
    GateCommand,
    GateCommandAck,
    decode,
)
from maskwatch.contracts.common import utc_now
from maskwatch.mqtt import MqttSettings, mqtt_client
from maskwatch.topics import Topics


@dataclass(frozen=True)
class OpenResult:
    command_id: str
    """What the audit log records."""
    ack: GateCommandAck | None
    """The gate's answer, or None when none came in time (offline, or too slow to say)."""


class GateCommander(Protocol):
    async def open_gate(
        self, gate_id: str, by: str, reason: str, *, confirm_within_s: float = 0.0
    ) -> OpenResult:
        """Ask the gate to open and wait up to `confirm_within_s` for its acknowledgement."""
        ...

    async def configure_camera(self, camera_id: str, config: CameraConfig) -> None:
        """Push a camera agent its settings, retained, so it applies them now or when it next connects."""
        ...


def command_topic(topic_root: str, gate_id: str) -> str:
    return Topics(topic_root).gate_command.format(gate_id=gate_id)


def open_command(by: str, reason: str, command_id: str) -> bytes:
    """The GateCommand contract the gate agent consumes; stamped now, so a late delivery is ignored."""
    command = GateCommand(
        command="open", command_id=uuid.UUID(command_id), by=by[:200], reason=reason, issued_at=utc_now()
    )
    return command.to_json()


async def await_ack(client: aiomqtt.Client, command_id: str, within_s: float) -> GateCommandAck | None:
    """The acknowledgement of `command_id` among the messages `client` subscribed to, or None in time."""
    wanted = uuid.UUID(command_id)
    try:
        async with asyncio.timeout(within_s):
            async for message in client.messages:
                payload = message.payload if isinstance(message.payload, bytes | str) else b""
                try:
                    ack = decode(GateCommandAck, payload)
                except ContractError:
                    continue
                if ack.command_id == wanted:
                    return ack
    except TimeoutError:
        return None
    return None


class MqttGateCommander:
    """Publishes `{"v":1,"command":"open",...}` on `{root}/gates/{gate_id}/command` with QoS 1, having
    subscribed to the gate's `command_ack` first, so an answer cannot slip past before it listens.

    One short connection per command: opening a gate by hand is rare, and this
    keeps the API free of a long-lived broker session to supervise.
    """

    def __init__(self, settings: MqttSettings, *, identifier: str = "maskwatch-api") -> None:
        self._settings = settings
        self._identifier = identifier

    async def open_gate(
        self, gate_id: str, by: str, reason: str, *, confirm_within_s: float = 0.0
    ) -> OpenResult:
        command_id = str(uuid.uuid4())
        client_id = f"{self._identifier}-{command_id[:8]}"
        topics = Topics(self._settings.topic_root)
        async with mqtt_client(self._settings, identifier=client_id) as client:
            if confirm_within_s > 0:
                await client.subscribe(topics.gate_command_ack.format(gate_id=gate_id), qos=1)
            await client.publish(
                command_topic(self._settings.topic_root, gate_id), open_command(by, reason, command_id), qos=1
            )
            ack = await await_ack(client, command_id, confirm_within_s) if confirm_within_s > 0 else None
        return OpenResult(command_id, ack)

    async def configure_camera(self, camera_id: str, config: CameraConfig) -> None:
        topic = Topics(self._settings.topic_root).camera_config.format(camera_id=camera_id)
        client_id = f"{self._identifier}-{uuid.uuid4().hex[:8]}"
        async with mqtt_client(self._settings, identifier=client_id) as client:
            await client.publish(topic, config.to_json(), qos=1, retain=True)


@dataclass
class RecordingGateCommander:
    """Remembers the commands instead of sending them: for tests and for a setup without gates.

    With `confirm` each gate answers at once that it opened; without, none answers."""

    sent: list[tuple[str, str, str, str]] = field(default_factory=list)
    configured: list[tuple[str, CameraConfig]] = field(default_factory=list)
    confirm: bool = True

    async def open_gate(
        self, gate_id: str, by: str, reason: str, *, confirm_within_s: float = 0.0
    ) -> OpenResult:
        command_id = str(uuid.uuid4())
        self.sent.append((gate_id, by, reason, command_id))
        if not (self.confirm and confirm_within_s > 0):
            return OpenResult(command_id, None)
        ack = GateCommandAck(
            gate_id=gate_id, command_id=uuid.UUID(command_id), outcome=CommandOutcome.OPENED, at=utc_now()
        )
        return OpenResult(command_id, ack)

    async def configure_camera(self, camera_id: str, config: CameraConfig) -> None:
        self.configured.append((camera_id, config))
