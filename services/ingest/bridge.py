"""MQTT → queue bridge for gate checks and camera frames.

A payload is a binary frame (metadata JSON, then the raw JPEG) or, from older
devices, JSON with the image in base64 (maskwatch/contracts/binary_frame.py);
either way the image goes on as bytes beside the JSON in the stream entry.

Gate checks are records: subscribed at QoS 1 on a persistent session, answered
with a rejection when invalid. Camera frames are samples: QoS 0, and an invalid
one is logged and counted (a camera has nobody to read a rejection).

A check is acknowledged to the broker only once it is in the stream (or its
rejection recorded): while Redis is away the bridge waits, retrying with a
capped backoff, and the broker holds what follows; if the process dies
meanwhile, the broker delivers the unacknowledged check again.

Messages that arrived together are handled together: the bridge takes what the
client has already received (up to `BATCH_MAX`), checks each, writes the
accepted ones in one pipelined round trip per stream, then acknowledges them
all. At rest that is a batch of one, so nobody waits for company.
"""

from __future__ import annotations

import asyncio
import logging

import aiomqtt

from maskwatch import metrics
from maskwatch.contracts import (
    CameraFrame,
    ContractError,
    GateCheck,
    Message,
    ReceivedCameraFrame,
    ReceivedGateCheck,
    Rejection,
    RejectionCode,
)
from maskwatch.contracts.binary_frame import decode_device_payload
from maskwatch.contracts.common import utc_now
from maskwatch.image_header import image_problem
from maskwatch.mqtt import MqttSettings, mqtt_client, run_connected
from maskwatch.queue import QueueUnavailable, WorkQueue
from maskwatch.rejections import answer_rejection
from maskwatch.streams import Stream, Streams, append_many
from maskwatch.topics import Topics

log = logging.getLogger(__name__)

HAND_OFF_START_S = 0.1
HAND_OFF_CAP_S = 5.0
BATCH_MAX = 64
"""Most received messages checked and written together."""

Admitted = tuple[Stream, Message]
"""A message checked and ready for its stream."""


class IngestBridge:
    def __init__(
        self,
        mqtt: MqttSettings,
        queue: WorkQueue,
        *,
        streams: Streams,
        identifier: str,
        max_image_pixels: int = 16_000_000,
    ) -> None:
        self._mqtt = mqtt
        self._queue = queue
        self._streams = streams
        self._topics = Topics(mqtt.topic_root)
        self._identifier = identifier
        self._max_image_pixels = max_image_pixels
        self.ready = asyncio.Event()
        """Set once subscribed; tests and the launcher wait on it before devices publish."""

    async def run(self, stop: asyncio.Event) -> None:
        await run_connected("ingest", self._session, stop, connected=self.ready)

    async def _session(self) -> None:
        # A persistent session: the broker keeps QoS 1 checks for us while we restart.
        persistent = self._mqtt.persistent_sessions
        async with mqtt_client(
            self._mqtt, identifier=self._identifier, clean_session=not persistent, manual_acks=True
        ) as client:
            await client.subscribe(self._topics.gate_check.filter(), qos=1)
            await client.subscribe(self._topics.camera_frame.filter(), qos=0)
            self.ready.set()
            log.info(
                "ingest: subscribed to %s and %s",
                self._topics.gate_check.filter(),
                self._topics.camera_frame.filter(),
            )
            messages = client.messages
            while True:
                batch = [await anext(messages)]
                while len(messages) and len(batch) < BATCH_MAX:  # already received: no waiting
                    batch.append(await anext(messages))
                await self._accept_batch(client, batch)
                for message in batch:
                    client.ack(message)

    async def _accept_batch(self, client: aiomqtt.Client, batch: list[aiomqtt.Message]) -> None:
        """Check each message, then write the accepted ones, one round trip per stream."""
        admitted: list[Admitted] = []
        for message in batch:
            try:
                entry = await self.admit(client, str(message.topic), _payload_bytes(message.payload))
            except (aiomqtt.MqttError, asyncio.CancelledError):
                raise  # not acknowledged: the broker delivers it again after we reconnect
            except Exception:  # a bug on one message must not stop the others
                log.exception("ingest: message on %s could not be handled; dropped", message.topic)
                continue
            if entry is not None:
                admitted.append(entry)
        for stream in dict.fromkeys(stream for stream, _ in admitted):
            await self._hand_off(stream, [m for s, m in admitted if s == stream])

    async def admit(self, client: aiomqtt.Client, topic: str, payload: bytes) -> Admitted | None:
        """The stream entry for a valid check or frame; None for one rejected (answered and recorded)
        or refused. Never raises for bad input."""
        params = self._topics.gate_check.match(topic)
        if params is None:
            camera = self._topics.camera_frame.match(topic)
            if camera is None:
                log.warning("ingest: ignoring message on unexpected topic %s", topic)
                return None
            return self.admit_frame(camera["camera_id"], payload)
        gate_id = params["gate_id"]
        received_at = utc_now()
        if len(payload) > self._mqtt.max_payload_bytes:
            await self._reject(
                client,
                gate_id,
                topic,
                RejectionCode.PAYLOAD_TOO_LARGE,
                f"payload is {len(payload)} bytes, the limit is {self._mqtt.max_payload_bytes}",
            )
            return None
        try:
            check = decode_device_payload(GateCheck, payload)
        except ContractError as exc:
            await self._reject(client, gate_id, topic, RejectionCode(exc.code), exc.detail)
            return None
        if check.gate_id != gate_id:
            await self._reject(
                client,
                gate_id,
                topic,
                RejectionCode.GATE_MISMATCH,
                f"payload gate_id {check.gate_id!r} differs from the topic's {gate_id!r}",
                check_id=check.check_id,
            )
            return None
        problem = image_problem(check.image_jpeg, self._max_image_pixels)
        if problem is not None:  # refused from its header alone: nothing decodes it
            await self._reject(
                client, gate_id, topic, RejectionCode.BAD_IMAGE, problem, check_id=check.check_id
            )
            return None
        metrics.CHECKS_RECEIVED.labels("accepted").inc()
        log.debug("gate %s: check %s queued (%d bytes)", gate_id, check.check_id, len(check.image_jpeg))
        return self._streams.checks, ReceivedGateCheck(check=check, received_at=received_at)

    async def accept_frame(self, camera_id: str, payload: bytes) -> None:
        """Queue a valid camera frame; log and count an invalid one."""
        entry = self.admit_frame(camera_id, payload)
        if entry is not None:
            stream, message = entry
            await self._hand_off(stream, [message])

    def admit_frame(self, camera_id: str, payload: bytes) -> Admitted | None:
        """The stream entry for a valid camera frame; None (logged and counted) for an invalid one."""
        problem = None
        if len(payload) > self._mqtt.max_payload_bytes:
            problem = f"payload is {len(payload)} bytes, the limit is {self._mqtt.max_payload_bytes}"
        else:
            try:
                frame = decode_device_payload(CameraFrame, payload)
            except ContractError as exc:
                problem = f"{exc.code}: {exc.detail}"
            else:
                if frame.camera_id != camera_id:
                    problem = f"payload camera_id {frame.camera_id!r} differs from the topic's {camera_id!r}"
                else:
                    problem = image_problem(frame.image_jpeg, self._max_image_pixels)
        if problem is not None:
            log.warning("camera %s: frame refused: %s", camera_id, problem)
            metrics.CAMERA_FRAMES.labels(camera_id, "rejected").inc()
            return None
        log.debug("camera %s: frame %s queued", camera_id, frame.frame_id)
        return self._streams.frames, ReceivedCameraFrame(frame=frame, received_at=utc_now())

    async def _hand_off(self, stream: Stream, messages: list[Message]) -> None:
        """Into the stream, however long the queue is away: the messages are ours now, and giving up
        would lose them (the broker holds the messages behind them meanwhile). A batch cut off halfway
        is written again whole: a check twice is answered twice, never lost (stats keep one)."""
        failures = 0
        while True:
            try:
                await append_many(self._queue, stream, messages)
                return
            except (QueueUnavailable, OSError) as exc:
                failures += 1
                delay = min(HAND_OFF_CAP_S, HAND_OFF_START_S * 2 ** (failures - 1))
                if failures == 1 or delay == HAND_OFF_CAP_S:
                    log.warning(
                        "ingest: the queue is away (%s); holding %d message(s) for %s, retrying",
                        exc,
                        len(messages),
                        ", ".join(sorted({_device_of(m) for m in messages})),
                    )
                await asyncio.sleep(delay)

    async def _reject(
        self,
        client: aiomqtt.Client,
        gate_id: str,
        topic: str,
        code: RejectionCode,
        detail: str,
        *,
        check_id: object = None,
    ) -> None:
        rejection = Rejection.model_validate(
            {
                "gate_id": gate_id,
                "check_id": check_id,
                "received_at": utc_now(),
                "code": code,
                "detail": detail,
                "topic": topic,
            }
        )
        log.warning("gate %s: rejected message on %s: %s: %s", gate_id, topic, code.value, detail)
        metrics.CHECKS_RECEIVED.labels("rejected").inc()
        await self._hand_off(self._streams.outcomes, [rejection])
        await answer_rejection(client, self._topics, rejection)


def _payload_bytes(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    return str(payload).encode()


def _device_of(message: Message) -> str:
    """The gate or camera a queued message came from, for the logs."""
    if isinstance(message, ReceivedGateCheck):
        return f"gate {message.check.gate_id}"
    if isinstance(message, ReceivedCameraFrame):
        return f"camera {message.frame.camera_id}"
    if isinstance(message, Rejection):
        return f"gate {message.gate_id}"
    return type(message).__name__
