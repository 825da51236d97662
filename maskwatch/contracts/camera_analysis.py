"""The faces the inference worker found in a camera frame, handed to the monitoring service.

Internal to the server. It keeps the frame's JPEG: when an alert opens, its
snapshot is made from the very frame the decision was taken on.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, Field

from maskwatch.contracts.common import DeviceId, Message
from maskwatch.contracts.gate_analysis import AnalyzedFace
from maskwatch.contracts.jpeg import JpegImage


class CameraAnalysis(Message):
    camera_id: DeviceId
    frame_id: UUID
    captured_at: AwareDatetime
    received_at: AwareDatetime
    analyzed_at: AwareDatetime
    faces: list[AnalyzedFace] = Field(default_factory=list)
    width: int = Field(default=0, ge=0)
    height: int = Field(default=0, ge=0)
    image_jpeg: JpegImage = Field(repr=False)
    image_error: str | None = None
