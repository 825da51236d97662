"""An indoor camera's own settings: which camera it is, where the broker is, what it films, how often.

Read from a YAML file (`maskwatch camera-agent --config /etc/maskwatch/camera.yaml`) with
MASKWATCH_CAMERA_* environment variables on top. The server may change the rate, the JPEG quality and
the heartbeat at run time (CameraConfig, retained).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from devices.hardware.camera import SyntheticCameraConfig
from devices.hardware.config import CameraConfig
from devices.settings_file import read_settings_file
from maskwatch.contracts.common import DeviceId
from maskwatch.mqtt import MqttSettings


class CameraAgentSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MASKWATCH_CAMERA_", env_nested_delimiter="__", extra="forbid"
    )

    camera_id: DeviceId
    mqtt: MqttSettings = Field(default_factory=lambda: MqttSettings(embedded=False))
    camera: CameraConfig = Field(default_factory=SyntheticCameraConfig)
    fps: float = Field(default=2.0, gt=0, le=10)
    """Frames published per second."""
    heartbeat_s: float = Field(default=30.0, ge=1, le=3600)
    reconnect_cap_s: float = Field(default=30.0, ge=0.1, le=600)


def load_camera_agent_settings(path: Path | None, **overrides: Any) -> CameraAgentSettings:
    return CameraAgentSettings(**(read_settings_file(path) | overrides))
