"""Bad camera frames at ingest: each is refused, logged and counted, and the next good frame still goes in."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from maskwatch import metrics
from maskwatch.consumer import decode_entry
from maskwatch.contracts import CameraFrame
from maskwatch.mqtt import MqttSettings
from maskwatch.queue import open_queue
from maskwatch.streams import Group, Streams
from services.ingest.bridge import IngestBridge
from stack.demo.sample_faces import sample_jpeg


def refused(camera_id: str) -> float:
    return metrics.CAMERA_FRAMES.labels(camera_id, "rejected")._value.get()


async def test_corrupt_wrong_and_huge_frames_are_refused_and_good_ones_still_queued(unique_id, caplog):
    queue = open_queue("memory://")
    streams = Streams(f"test-{unique_id}")
    mqtt = MqttSettings(max_payload_bytes=200_000)
    bridge = IngestBridge(mqtt, queue, streams=streams, identifier="ingest-test")
    camera = f"cam-{unique_id[:8]}"
    good = CameraFrame(
        camera_id=camera, frame_id=uuid4(), captured_at=datetime.now(UTC), image_jpeg=sample_jpeg("mask")
    )
    other = good.model_copy(update={"camera_id": "someone-else"})
    bad = [
        b"\x00\xff not json",
        b'{"v": 1, "camera_id": "x"}',
        good.to_json().replace(b'"image_jpeg":"', b'"image_jpeg":"!!'),
        b"x" * 300_000,
        other.to_json(),
    ]
    before = refused(camera)
    for payload in bad:
        await bridge.accept_frame(camera, payload)
    await bridge.accept_frame(camera, good.to_json())

    assert refused(camera) - before == len(bad)
    assert sum(f"camera {camera}: frame refused" in r.getMessage() for r in caplog.records) == len(bad)
    source = streams.frames.read_by(Group.INFERENCE)
    (entry,) = await queue.read(source, "t", 10, 50)
    assert decode_entry(source, entry).frame.frame_id == good.frame_id
