"""`maskwatch simulate gate|camera`: a check, or frames, sent exactly as a gate or a camera sends them."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from PIL import Image

from devices.camera_agent.client import CameraClient
from devices.gate_agent.client import GateClient
from maskwatch.contracts import Rejection, TemperatureReading
from maskwatch.contracts.common import utc_now
from maskwatch.mqtt import MqttSettings


def jpeg_bytes(path: Path) -> bytes:
    """The file itself when it is a JPEG, else re-encoded, as a camera would deliver it."""
    data = path.read_bytes()
    if data[:3] == b"\xff\xd8\xff":
        return data
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


async def simulate_check(
    mqtt: MqttSettings, gate_id: str, image: Path, temperature: float | None, timeout: float
) -> tuple[int, dict[str, Any] | None]:
    reading = TemperatureReading(corrected_c=temperature) if temperature is not None else None
    try:
        async with GateClient(mqtt, gate_id) as gate:
            answer = await gate.check(jpeg_bytes(image), reading, timeout=timeout)
    except TimeoutError:
        return 4, None
    body = answer.model_dump(mode="json")
    return (3 if isinstance(answer, Rejection) else 0), body


async def simulate_camera(
    mqtt: MqttSettings, camera_id: str, frames: Iterator[tuple[float, bytes]], *, fps: float
) -> tuple[int, int]:
    """Publish `frames` ((seconds into the source, JPEG)) as the camera agent does, paced in real time.

    Returns (frames sent, frames dropped because the link was still busy).
    """
    async with CameraClient(mqtt, camera_id) as camera:
        camera.fps = fps
        await camera.publish_status()
        loop = asyncio.get_running_loop()
        started, started_at = loop.time(), utc_now()
        for t, jpeg in frames:
            delay = started + t - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            # Stamped on the source's own clock, as a camera stamps its frames: a late send does not
            # stretch what the monitor measures.
            await camera.offer(jpeg, started_at + timedelta(seconds=t))
        await camera.publish_status()
        return camera.sent, camera.dropped


def video_frames(path: str, fps: float) -> Iterator[tuple[float, bytes]]:
    """A video sampled at `fps`, each frame as a JPEG with its time in the video."""
    import cv2

    from maskwatch.video import sampled_frames

    for frame in sampled_frames(path, fps):
        yield frame.t, cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def folder_frames(folder: Path, fps: float) -> Iterator[tuple[float, bytes]]:
    """The folder's images in name order, one every 1/fps seconds."""
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".bmp"})
    for index, path in enumerate(images):
        yield index / fps, jpeg_bytes(path)
