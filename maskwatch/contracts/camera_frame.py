"""One frame from an indoor camera, published on `cameras/{camera_id}/frame` at the camera's rate.

Frames are samples, not records: a frame that arrives too late to matter is
dropped (and counted) rather than queued, so a slow link or a busy worker never
builds a backlog that delays gate checks.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, Field

from maskwatch.contracts.common import DeviceId, Message
from maskwatch.contracts.jpeg import JpegImage


class CameraFrame(Message):
    camera_id: DeviceId
    frame_id: UUID
    captured_at: AwareDatetime
    """The camera's clock: tracking and unmasked time are measured on it."""
    image_jpeg: JpegImage = Field(repr=False)


class ReceivedCameraFrame(Message):
    """A CameraFrame as the server accepted it, stamped on arrival."""

    frame: CameraFrame
    received_at: AwareDatetime
