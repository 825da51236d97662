"""A gate asks for a decision: one photo and the person's temperature.

Published by the gate agent on `gates/{gate_id}/check`; carried through the
queue to the inference worker and, without the image, on to the gate controller.
"""

from __future__ import annotations

import base64
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, PlainSerializer, field_validator

from maskwatch.contracts.common import DeviceId, Message

MAX_IMAGE_BYTES = 4 * 1024 * 1024
"""A 1080p JPEG is well under 1 MB; anything near this limit is a misconfigured camera."""

FiniteCelsius = Annotated[float, Field(allow_inf_nan=False, ge=-60.0, le=200.0)]
"""Anything the sensor could physically report; plausibility is the policy's call, not the contract's."""

Base64Jpeg = Annotated[
    bytes,
    PlainSerializer(lambda b: base64.b64encode(b).decode("ascii"), return_type=str, when_used="json"),
]


class TemperatureReading(Message):
    """What the thermometer measured; `corrected_c` already includes the device's calibration offset."""

    corrected_c: FiniteCelsius
    samples_c: list[FiniteCelsius] = Field(default_factory=list, max_length=64)
    ambient_c: FiniteCelsius | None = None


class OfflineDecision(Message):
    """What a gate did on its own while it could not reach the server (its offline policy)."""

    decision: Literal["open", "deny"]
    decided_at: AwareDatetime


class GateCheck(Message):
    """One person at one gate, at one moment.

    With `offline` set, the check is a record sent after the fact: the server
    judges and records it but sends no verdict, since the gate already acted.
    """

    gate_id: DeviceId
    check_id: UUID
    captured_at: AwareDatetime
    image_jpeg: Base64Jpeg = Field(repr=False)
    temperature: TemperatureReading | None = None
    offline: OfflineDecision | None = None

    @field_validator("image_jpeg", mode="before")
    @classmethod
    def _decode_base64(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except ValueError as exc:
                raise ValueError("image_jpeg must be base64") from exc
        return value

    @field_validator("image_jpeg")
    @classmethod
    def _bounded_image(cls, value: bytes) -> bytes:
        if not value:
            raise ValueError("image_jpeg is empty")
        if len(value) > MAX_IMAGE_BYTES:
            raise ValueError(f"image_jpeg is {len(value)} bytes, the limit is {MAX_IMAGE_BYTES}")
        return value


class ReceivedGateCheck(Message):
    """A GateCheck as the server accepted it, stamped on arrival so queue time can be measured."""

    check: GateCheck
    received_at: AwareDatetime
