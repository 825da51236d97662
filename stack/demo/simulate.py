"""`maskwatch simulate gate`: one check, sent exactly as a gate sends it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from devices.gate_agent.client import GateClient
from maskwatch.contracts import Rejection, TemperatureReading
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
