"""A gate asks for a decision: one photo and the person's temperature.

Published by the gate agent on `gates/{gate_id}/check`; carried through the
queue to the inference worker and, without the image, on to the gate controller.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from maskwatch.contracts.common import DeviceId, Message
from maskwatch.contracts.jpeg import MAX_IMAGE_BYTES, JpegImage

__all__ = ["MAX_IMAGE_BYTES", "GateCheck", "OfflineDecision", "ReceivedGateCheck", "TemperatureReading"]

FiniteCelsius = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-60.0, le=200.0)]
"""Anything the sensor could physically report; plausibility is the policy's call, not the contract's.
Strict: a measurement is a JSON number; "36.6" as a string is a device bug, refused rather than guessed."""


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
    image_jpeg: JpegImage = Field(repr=False)
    temperature: TemperatureReading | None = None
    offline: OfflineDecision | None = None


class ReceivedGateCheck(Message):
    """A GateCheck as the server accepted it, stamped on arrival so queue time can be measured."""

    check: GateCheck
    received_at: AwareDatetime
