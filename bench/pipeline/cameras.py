"""Indoor cameras as load: K cameras publishing frames at a rate, bounded in time, QoS 0 like the camera
agent, as binary frames; how many of them the worker analysed comes from its own /metrics counters."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from uuid import uuid4

import httpx

from maskwatch.contracts import CameraFrame
from maskwatch.contracts.binary_frame import encode_device_payload
from maskwatch.mqtt import MqttSettings, mqtt_client
from maskwatch.topics import Topics


async def run_cameras(
    mqtt: MqttSettings, jpeg: bytes, *, cameras: int, fps: float, duration_s: float, prefix: str
) -> int:
    """Publish for `duration_s`; returns the frames sent."""
    topics = Topics(mqtt.topic_root)
    sent = 0

    async def camera(index: int) -> None:
        nonlocal sent
        camera_id = f"{prefix}-{index}"
        topic = topics.camera_frame.format(camera_id=camera_id)
        async with mqtt_client(mqtt, identifier=f"{camera_id}-{uuid4().hex[:6]}") as client:
            loop = asyncio.get_running_loop()
            start = loop.time() + index / (fps * cameras)
            for k in range(int(fps * duration_s)):
                delay = start + k / fps - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                frame = CameraFrame(
                    camera_id=camera_id, frame_id=uuid4(), captured_at=datetime.now(UTC), image_jpeg=jpeg
                )
                await client.publish(topic, encode_device_payload(frame), qos=0)
                sent += 1

    await asyncio.gather(*(camera(i) for i in range(cameras)))
    return sent


def frames_by_outcome(metrics_port: int, prefix: str) -> dict[str, float]:
    """The worker's camera-frame counters for this load's cameras, summed by outcome."""
    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    totals: dict[str, float] = {}
    pattern = re.compile(r'^maskwatch_camera_frames_total\{camera="([^"]+)",outcome="([^"]+)"\} (\S+)$')
    for line in text.splitlines():
        match = pattern.match(line)
        if match and match.group(1).startswith(prefix):
            totals[match.group(2)] = totals.get(match.group(2), 0.0) + float(match.group(3))
    return totals
