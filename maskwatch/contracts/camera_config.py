"""Settings the server pushes to a camera agent, retained on `cameras/{camera_id}/config`."""

from __future__ import annotations

from pydantic import Field

from maskwatch.contracts.common import Message


class CameraConfig(Message):
    version: str = Field(min_length=1, max_length=64)
    fps: float | None = Field(default=None, gt=0, le=10)
    """Frames published per second."""
    heartbeat_s: float | None = Field(default=None, ge=5, le=3600)
