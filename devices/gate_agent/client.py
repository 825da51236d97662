"""The gate's side of the MQTT protocol: checks out, verdicts, commands and configuration in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Self
from uuid import UUID, uuid4

import aiomqtt

from maskwatch.answers import Answer, PendingAnswers
from maskwatch.contracts import (
    CommandOutcome,
    ContractError,
    GateCheck,
    GateCommand,
    GateCommandAck,
    GateConfig,
    GateState,
    GateStatus,
    SensorState,
    TemperatureReading,
    decode,
)
from maskwatch.contracts.binary_frame import encode_device_payload
from maskwatch.contracts.common import utc_now
from maskwatch.mqtt import MqttSettings, mqtt_client
from maskwatch.topics import Topics

log = logging.getLogger(__name__)

CommandHandler = Callable[[GateCommand], Awaitable[None]]
ConfigHandler = Callable[[GateConfig], Awaitable[None]]
SensorReport = Callable[[], Mapping[str, SensorState]]


class GateClient:
    """Connects as one gate and announces it online (retained, with a last will `offline`).

    Answers are matched to checks by check_id, so a verdict that arrives after
    its check timed out is ignored instead of opening the gate for the next person.
    """

    def __init__(
        self,
        mqtt: MqttSettings,
        gate_id: str,
        *,
        software_version: str = "0.1.0",
        on_command: CommandHandler | None = None,
        on_config: ConfigHandler | None = None,
        sensors: SensorReport | None = None,
    ) -> None:
        self.gate_id = gate_id
        self._sensors = sensors
        self._topics = Topics(mqtt.topic_root)
        self._status_topic = self._topics.gate_status.format(gate_id=gate_id)
        self._software_version = software_version
        self._on_command = on_command
        self._on_config = on_config
        offline = GateStatus(gate_id=gate_id, state=GateState.OFFLINE)
        self._client = mqtt_client(
            mqtt,
            identifier=f"gate-{gate_id}",
            will=aiomqtt.Will(self._status_topic, offline.to_json(), qos=1, retain=True),
        )
        self._answers = PendingAnswers(self._topics)
        self._listener: asyncio.Task[None] | None = None
        self.config_version: str | None = None

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        topics = [self._topics.gate_verdict, self._topics.gate_rejected]
        if self._on_command is not None:
            topics.append(self._topics.gate_command)
        if self._on_config is not None:
            topics.append(self._topics.gate_config)
        for template in topics:
            await self._client.subscribe(template.format(gate_id=self.gate_id), qos=1)
        self._listener = asyncio.create_task(self._listen())
        await self.publish_status()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            offline = GateStatus(gate_id=self.gate_id, state=GateState.OFFLINE, at=utc_now())
            await self._client.publish(self._status_topic, offline.to_json(), qos=1, retain=True)
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.__aexit__(exc_type, exc, tb)

    async def publish_status(self) -> None:
        """Retained `online` with the time: doubles as the heartbeat."""
        online = GateStatus(
            gate_id=self.gate_id,
            state=GateState.ONLINE,
            at=utc_now(),
            software_version=self._software_version,
            config_version=self.config_version,
            sensors=dict(self._sensors()) if self._sensors is not None else None,
        )
        await self._client.publish(self._status_topic, online.to_json(), qos=1, retain=True)

    async def acknowledge(self, command_id: UUID, outcome: CommandOutcome) -> None:
        """Tell the server what became of its command, so the operator who sent it knows."""
        ack = GateCommandAck(gate_id=self.gate_id, command_id=command_id, outcome=outcome, at=utc_now())
        topic = self._topics.gate_command_ack.format(gate_id=self.gate_id)
        await self._client.publish(topic, ack.to_json(), qos=1)

    async def wait_disconnected(self) -> None:
        """Returns when the connection to the broker is lost (the listener ends)."""
        if self._listener is not None:
            await asyncio.gather(self._listener, return_exceptions=True)

    async def check(
        self,
        image_jpeg: bytes,
        temperature: TemperatureReading | None,
        *,
        timeout: float,
        check_id: UUID | None = None,
    ) -> Answer:
        """Send one check and wait for its answer; raises TimeoutError when none comes in time."""
        check = GateCheck(
            gate_id=self.gate_id,
            check_id=check_id or uuid4(),
            captured_at=utc_now(),
            image_jpeg=image_jpeg,
            temperature=temperature,
        )
        return await self.send_raw(encode_device_payload(check), check.check_id, timeout=timeout)

    async def send_raw(self, payload: bytes, check_id: UUID | None, *, timeout: float) -> Answer:
        """Publish any payload on this gate's check topic; for diagnostics and tests of bad input."""
        with self._answers.expecting(check_id) as future:
            await self._client.publish(self._topics.gate_check.format(gate_id=self.gate_id), payload, qos=1)
            return await asyncio.wait_for(future, timeout)

    async def send_record(self, check: GateCheck) -> None:
        """Publish a check decided while offline; nothing waits for its verdict."""
        await self._client.publish(
            self._topics.gate_check.format(gate_id=self.gate_id), encode_device_payload(check), qos=1
        )

    async def _listen(self) -> None:
        async for message in self._client.messages:
            topic = str(message.topic)
            payload = message.payload if isinstance(message.payload, bytes | str) else b""
            try:
                await self._dispatch(topic, payload)
            except ContractError as exc:
                log.warning("gate %s: unreadable message on %s: %s", self.gate_id, topic, exc.detail)
            except Exception:
                log.exception("gate %s: handling %s failed", self.gate_id, topic)

    async def _dispatch(self, topic: str, payload: bytes | str) -> None:
        answer = self._answers.decode(topic, payload)
        if answer is not None:
            if not self._answers.resolve(answer):
                log.info("gate %s: ignoring answer for check %s (not waiting)", self.gate_id, answer.check_id)
        elif self._topics.gate_command.match(topic) and self._on_command is not None:
            await self._on_command(decode(GateCommand, payload))
        elif self._topics.gate_config.match(topic) and self._on_config is not None:
            config = decode(GateConfig, payload)
            await self._on_config(config)
            self.config_version = config.version
            await self.publish_status()
