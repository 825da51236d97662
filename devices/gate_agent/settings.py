"""A gate's own settings: which gate it is, where the broker is, which hardware it drives.

Read from a YAML file (`maskwatch agent --config /etc/maskwatch/gate.yaml`) with
MASKWATCH_GATE_* environment variables on top; no server-side dependency. The
server may change the tunable ones at run time (GateConfig, retained).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from devices.hardware.config import HardwareConfig
from devices.settings_file import read_settings_file
from maskwatch.contracts.common import DeviceId
from maskwatch.contracts.reason_texts import Language
from maskwatch.mqtt import MqttSettings


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MASKWATCH_GATE_", env_nested_delimiter="__", extra="forbid")

    gate_id: DeviceId
    mqtt: MqttSettings = Field(default_factory=lambda: MqttSettings(embedded=False))
    hardware: HardwareConfig = Field(default_factory=HardwareConfig)
    verdict_timeout_s: float = Field(default=5.0, gt=0, le=60)
    """No verdict within this → the gate stays closed and asks the person to try again (fail-secure)."""
    open_s: float = Field(default=5.0, gt=0, le=120)
    """How long the gate stays open after a pass."""
    result_display_s: float = Field(default=3.0, ge=0, le=60)
    """How long a deny or try-again stays on the LEDs before the gate is idle again."""
    offline_policy: Literal["deny", "allow"] = "deny"
    """What the gate does when the broker is unreachable; the check is recorded either way."""
    spool_dir: Path = Path("/var/lib/maskwatch/spool")
    """Checks made while offline wait here until the broker is back."""
    language: Language = "en"
    """The language the gate speaks to people in (sentences: maskwatch/contracts/reason_texts.py)."""
    heartbeat_s: float = Field(default=60.0, ge=1, le=3600)
    reconnect_cap_s: float = Field(default=30.0, ge=0.1, le=600)


def load_agent_settings(path: Path | None, **overrides: Any) -> AgentSettings:
    return AgentSettings(**(read_settings_file(path) | overrides))
