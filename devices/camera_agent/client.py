"""One camera's MQTT link: announces itself, publishes frames, drops (and counts) what the link cannot take.

Frames go at QoS 0: a lost frame is replaced by the next one, so nothing is
retried or queued. A frame offered while the previous one is still being
written to the socket is dropped, so a slow link costs frames, never memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from types import TracebackType
from typing import Self
from uuid import uuid4

import aiomqtt

from maskwatch.contracts import (
    CameraConfig,
    CameraFrame,
    CameraState,
    CameraStatus,
    ContractError,
    SensorState,
    decode,
)
from maskwatch.contracts.binary_frame import encode_device_payload
from maskwatch.contracts.common import utc_now
from maskwatch.mqtt import MqttSettings, mqtt_client
from maskwatch.topics import Topics

log = logging.getLogger(__name__)

ConfigHandler = Callable[[CameraConfig], Awaitable[None]]


class CameraClient:
    def __init__(
        self,
        mqtt: MqttSettings,
        camera_id: str,
        *,
        software_version: str = "0.1.0",
        on_config: ConfigHandler | None = None,
    ) -> None:
        self.camera_id = camera_id
        self._on_config = on_config
        self._config_topic = Topics(mqtt.topic_root).camera_config.format(camera_id=camera_id)
        self._listener: asyncio.Task[None] | None = None
        self.config_version: str | None = None
        self._topics = Topics(mqtt.topic_root)
        self._status_topic = self._topics.camera_status.format(camera_id=camera_id)
        self._frame_topic = self._topics.camera_frame.format(camera_id=camera_id)
        self._software_version = software_version
        offline = CameraStatus(camera_id=camera_id, state=CameraState.OFFLINE)
        self._client = mqtt_client(
            mqtt,
            identifier=f"camera-{camera_id}",
            will=aiomqtt.Will(self._status_topic, offline.to_json(), qos=1, retain=True),
        )
        self._sending = False
        self.sent = 0
        self.dropped = 0
        self.fps: float | None = None
        self.sensors: dict[str, SensorState] = {}
        """Each sensor's last result (the agent sets `camera`), reported in the status."""

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        if self._on_config is not None:
            await self._client.subscribe(self._config_topic, qos=1)  # retained: the current config at once
        self._listener = asyncio.create_task(self._listen())
        await self.publish_status()
        return self

    async def _listen(self) -> None:
        async for message in self._client.messages:
            payload = message.payload if isinstance(message.payload, bytes | str) else b""
            if str(message.topic) != self._config_topic or self._on_config is None:
                continue
            try:
                config = decode(CameraConfig, payload)
                await self._on_config(config)
            except ContractError as exc:
                log.warning("camera %s: unreadable config: %s", self.camera_id, exc.detail)
                continue
            except Exception:
                log.exception("camera %s: applying the config failed", self.camera_id)
                continue
            self.config_version = config.version
            await self.publish_status()

    async def wait_disconnected(self) -> None:
        """Returns when the connection to the broker is lost."""
        if self._listener is not None:
            await asyncio.gather(self._listener, return_exceptions=True)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            offline = CameraStatus(camera_id=self.camera_id, state=CameraState.OFFLINE, at=utc_now())
            await self._client.publish(self._status_topic, offline.to_json(), qos=1, retain=True)
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.__aexit__(exc_type, exc, tb)

    async def publish_status(self) -> None:
        """Retained `online` with the time and the frames dropped so far: doubles as the heartbeat."""
        online = CameraStatus(
            camera_id=self.camera_id,
            state=CameraState.ONLINE,
            at=utc_now(),
            software_version=self._software_version,
            config_version=self.config_version,
            fps=self.fps,
            frames_dropped=self.dropped,
            sensors=dict(self.sensors) or None,
        )
        await self._client.publish(self._status_topic, online.to_json(), qos=1, retain=True)

    async def offer(self, jpeg: bytes, captured_at: datetime | None = None) -> bool:
        """Publish one frame unless the previous one is still going out; True when it was sent."""
        if self._sending:
            self.dropped += 1
            return False
        self._sending = True
        await self._send(jpeg, captured_at or utc_now())
        return True

    def offer_nowait(self, jpeg: bytes, captured_at: datetime | None = None) -> bool:
        """`offer` in the background, so a capture loop never waits on the network."""
        if self._sending:
            self.dropped += 1
            return False
        self._sending = True
        task = asyncio.create_task(self._send(jpeg, captured_at or utc_now()))
        task.add_done_callback(_log_failure)
        return True

    async def _send(self, jpeg: bytes, captured_at: datetime) -> None:
        try:
            frame = CameraFrame(
                camera_id=self.camera_id, frame_id=uuid4(), captured_at=captured_at, image_jpeg=jpeg
            )
            await self._client.publish(self._frame_topic, encode_device_payload(frame), qos=0)
            self.sent += 1
        finally:
            self._sending = False


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("camera frame not sent: %s", task.exception())
