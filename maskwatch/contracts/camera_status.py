"""A camera's availability, retained on `cameras/{camera_id}/status`, with the last will `offline`."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from maskwatch.contracts.common import DeviceId, Message
from maskwatch.contracts.sensor_health import Sensors


class CameraState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class CameraStatus(Message):
    camera_id: DeviceId
    state: CameraState
    at: AwareDatetime | None = None
    software_version: str | None = None
    config_version: str | None = None
    fps: float | None = Field(default=None, strict=True, gt=0, le=10)
    """The rate it captures at. Strict, like every measurement a device sends: a JSON number (an
    integer is one), never a string; "5" is a device bug, refused rather than guessed."""
    frames_dropped: int | None = Field(default=None, strict=True, ge=0)
    """Frames the camera skipped because the link could not take them, since it started. Strict: a JSON
    integer, never a string, a fraction or a boolean."""
    sensors: Sensors | None = None
    """Each sensor's last result (`camera`); None in a last will, which cannot know."""
