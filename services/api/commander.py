"""Sending devices what they act on (open a gate now; a camera's new rate), behind an interface so the
routes never touch MQTT."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Protocol

from maskwatch.contracts import CameraConfig, GateCommand
from maskwatch.contracts.common import utc_now
from maskwatch.mqtt import MqttSettings, mqtt_client
from maskwatch.topics import Topics


class GateCommander(Protocol):
    async def open_gate(self, gate_id: str, by: str, reason: str) -> str:
        """Ask the gate to open; returns the command id, which the audit log records."""
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


class MqttGateCommander:
    """Publishes `{"v":1,"command":"open",...}` on `{root}/gates/{gate_id}/command` with QoS 1.

    One short connection per command: opening a gate by hand is rare, and this
    keeps the API free of a long-lived broker session to supervise.
    """

    def __init__(self, settings: MqttSettings, *, identifier: str = "maskwatch-api") -> None:
        self._settings = settings
        self._identifier = identifier

    async def open_gate(self, gate_id: str, by: str, reason: str) -> str:
        command_id = str(uuid.uuid4())
        client_id = f"{self._identifier}-{command_id[:8]}"
        async with mqtt_client(self._settings, identifier=client_id) as client:
            await client.publish(
                command_topic(self._settings.topic_root, gate_id),
                open_command(by, reason, command_id),
                qos=1,
            )
        return command_id

    async def configure_camera(self, camera_id: str, config: CameraConfig) -> None:
        topic = Topics(self._settings.topic_root).camera_config.format(camera_id=camera_id)
        client_id = f"{self._identifier}-{uuid.uuid4().hex[:8]}"
        async with mqtt_client(self._settings, identifier=client_id) as client:
            await client.publish(topic, config.to_json(), qos=1, retain=True)


@dataclass
class RecordingGateCommander:
    """Remembers the commands instead of sending them: for tests and for a setup without gates."""

    sent: list[tuple[str, str, str, str]] = field(default_factory=list)
    configured: list[tuple[str, CameraConfig]] = field(default_factory=list)

    async def open_gate(self, gate_id: str, by: str, reason: str) -> str:
        command_id = str(uuid.uuid4())
        self.sent.append((gate_id, by, reason, command_id))
        return command_id

    async def configure_camera(self, camera_id: str, config: CameraConfig) -> None:
        self.configured.append((camera_id, config))
