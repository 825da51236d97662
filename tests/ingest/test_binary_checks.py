"""Ingest over the real Mosquitto and Redis takes a check as a binary frame and as today's JSON, queues
both with the image as raw bytes in a field of its own, and refuses a garbled frame cleanly: answered on
the gate's `rejected` topic and recorded on the outcomes stream, the next check still taken."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import pytest
import redis.asyncio as aioredis

from maskwatch.consumer import decode_entry
from maskwatch.contracts import GateCheck, Rejection, RejectionCode, TemperatureReading, decode
from maskwatch.contracts.binary_frame import HEADER, MAGIC, encode_device_payload
from maskwatch.mqtt import MqttSettings, mqtt_client
from maskwatch.queue import open_queue
from maskwatch.streams import Group, Streams
from maskwatch.topics import Topics
from services.ingest.bridge import IngestBridge
from stack.demo.sample_faces import sample_jpeg

pytestmark = pytest.mark.timeout(60)


def a_check(gate_id: str) -> GateCheck:
    return GateCheck(
        gate_id=gate_id,
        check_id=uuid4(),
        captured_at=datetime.now(UTC),
        image_jpeg=sample_jpeg("mask"),
        temperature=TemperatureReading(corrected_c=36.5),
    )


async def test_binary_and_json_checks_are_queued_alike_and_a_garbled_frame_is_refused(
    mosquitto, redis_url, unique_id
):
    host, port = mosquitto
    mqtt = MqttSettings(host=host, port=port, embedded=False, topic_root=f"test/{unique_id}")
    topics = Topics(mqtt.topic_root)
    streams = Streams(f"test-{unique_id}")
    queue = open_queue(redis_url)
    bridge = IngestBridge(mqtt, queue, streams=streams, identifier=f"ingest-{unique_id[:12]}")
    stop = asyncio.Event()
    running = asyncio.create_task(bridge.run(stop))
    gate = f"gate-{unique_id[:8]}"
    binary, legacy, after = a_check(gate), a_check(gate), a_check(gate)
    garbled = HEADER.pack(MAGIC, 1, 10_000) + b'{"v": 1}'  # announces more metadata than follows
    answers: list[Rejection] = []
    try:
        await asyncio.wait_for(bridge.ready.wait(), 10)
        async with mqtt_client(mqtt, identifier=f"{gate}-pub") as gate_client:
            await gate_client.subscribe(topics.gate_rejected.format(gate_id=gate), qos=1)
            check_topic = topics.gate_check.format(gate_id=gate)
            for payload in (encode_device_payload(binary), legacy.to_json(), garbled):
                await gate_client.publish(check_topic, payload, qos=1)
            await gate_client.publish(check_topic, encode_device_payload(after), qos=1)
            async with asyncio.timeout(20):
                async for message in gate_client.messages:
                    answers.append(decode(Rejection, bytes(message.payload)))  # type: ignore[arg-type]
                    break

        source = streams.checks.read_by(Group.INFERENCE)
        await queue.ensure_group(source)
        entries = []
        for _ in range(100):
            entries += await queue.read(source, "t", 10, 50)
            if len(entries) >= 3:
                break
        queued = [decode_entry(source, e) for e in entries]
        assert [q.check for q in queued] == [binary, legacy, after]  # type: ignore[attr-defined]
        assert all(e.image == binary.image_jpeg for e in entries)  # raw bytes, a field of its own
        assert all(b"image_jpeg" not in e.data for e in entries)

        raw = aioredis.Redis.from_url(redis_url)
        try:
            (stored,) = [fields for _id, fields in await raw.xrange(streams.outcomes.key)]
        finally:
            await raw.aclose()
        recorded = decode(Rejection, stored[b"data"])
    finally:
        stop.set()
        await running
        await queue.close()

    (answer,) = answers
    assert answer.code is RejectionCode.BAD_FRAME
    assert "truncated" in answer.detail
    assert recorded.code is RejectionCode.BAD_FRAME
    assert recorded.gate_id == gate
