"""What the inference worker found in a gate check, handed to the gate controller.

Internal to the server (it travels on a queue, not on MQTT). It carries the
check without its image, so the policy never waits on pixels.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, Field, SerializerFunctionWrapHandler, model_serializer

from maskwatch.contracts.common import DeviceId, Message
from maskwatch.contracts.gate_check import OfflineDecision, TemperatureReading


class AnalyzedFace(Message):
    box: tuple[int, int, int, int]
    """x1, y1, x2, y2 in pixels of the original image."""
    label: str
    score: float = Field(ge=0, le=1)
    detector_score: float = Field(ge=0, le=1)
    nose_uncovered: bool | None = None
    """For a face labelled `mask`: the nose probe finds the nose uncovered. None where the model did not
    ask (another label, or no probe); a site acts on it only with `RuleSet.mask_over_nose` on. Left out
    of the JSON when None, so a face without it reads as before to gates that refuse unknown fields."""

    @model_serializer(mode="wrap")
    def _without_unasked_nose(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("nose_uncovered", False) is None:
            del data["nose_uncovered"]
        return data


class FrameQuality(Message):
    """How the whole frame looks, measured by the worker, so the gate can say why no face was judged."""

    width: int = Field(ge=1)
    height: int = Field(ge=1)
    brightness: float = Field(ge=0, le=255)
    """Mean luma, 0 (black) to 255."""
    sharpness: float = Field(ge=0)
    """Variance of the Laplacian of the grey frame at 320 px wide: low when the picture is blurred."""


class GateAnalysis(Message):
    gate_id: DeviceId
    check_id: UUID
    captured_at: AwareDatetime
    received_at: AwareDatetime
    analyzed_at: AwareDatetime
    temperature: TemperatureReading | None
    offline: OfflineDecision | None = None
    faces: list[AnalyzedFace] = Field(default_factory=list)
    frame: FrameQuality | None = None
    """The frame's size, light and focus; None from a worker that does not measure them."""
    image_error: str | None = None
    """Set when the image could not be analysed; the controller then denies with `bad_image`."""
    late_by_s: float | None = Field(default=None, ge=0)
    """The check waited this long for a worker, past its deadline: not analysed, answered "try again"."""
    analysis_id: UUID = Field(default_factory=uuid4)
    """This analysis of the check. A check can be analysed twice (a worker killed after publishing,
    a stream write retried after a lost reply); the controller answers the first analysis it sees and
    drops the others, while a redelivery of that same analysis is answered again."""
    decode_ms: float = 0.0
    detect_ms: float = 0.0
    classify_ms: float = 0.0
