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
from maskwatch.image_files import NotAnImageError, check_image_file
from maskwatch.mqtt import MqttSettings

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
"""The files of a folder that `maskwatch simulate camera --images` plays, in name order."""


def jpeg_bytes(path: Path) -> bytes:
    """The file itself when it is a JPEG, else re-encoded, as a camera would deliver it.

    Raises NotAnImageError, naming the file, for anything Pillow cannot decode: sent as it is, a
    text file would only come back from the server as a rejected check.
    """
    check_image_file(path)
    data = path.read_bytes()
    if data[:3] == b"\xff\xd8\xff":
        return data
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


async def simulate_check(
    mqtt: MqttSettings, gate_id: str, jpeg: bytes, temperature: float | None, timeout: float
) -> tuple[int, dict[str, Any] | None]:
    reading = TemperatureReading(corrected_c=temperature) if temperature is not None else None
    try:
        async with GateClient(mqtt, gate_id) as gate:
            answer = await gate.check(jpeg, reading, timeout=timeout)
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


def folder_images(folder: Path) -> list[Path]:
    """The folder's images in name order, each checked before the first is sent.

    Raises NotAnImageError for a folder with none, or naming the first file that is not an image.
    """
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES)
    if not images:
        raise NotAnImageError(
            f"{folder} holds no images ({', '.join(FRAME_SUFFIXES)}): give a folder of photos"
        )
    for path in images:
        check_image_file(path)
    return images


def folder_frames(images: list[Path], fps: float) -> Iterator[tuple[float, bytes]]:
    """The images, one every 1/fps seconds."""
    for index, path in enumerate(images):
        yield index / fps, jpeg_bytes(path)
