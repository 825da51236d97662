"""A device's health as the API shows it on gates, cameras and devices: its latest retained status.

The device health service writes each status into `device_status`; this only
turns that row into the JSON shape, so every resource that carries health
carries the same one.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from maskwatch.contracts import SensorState
from maskwatch.database.device_status import DeviceHealth


class HealthOut(BaseModel):
    online: bool
    """What the device last said (or its last will said for it)."""
    status_at: datetime
    """When that status was sent (or, for a last will, heard)."""
    last_seen_at: datetime | None
    """The latest status in which the device was online."""
    software_version: str | None
    config_version: str | None
    sensors: dict[str, SensorState] = Field(
        description="Each sensor's last result as the device reported it, e.g. camera, thermometer"
    )


def health_out(health: DeviceHealth | None) -> HealthOut | None:
    """None for a device never heard from (registered, but not yet switched on)."""
    if health is None:
        return None
    known = {state.value for state in SensorState}
    sensors = {name: SensorState(state) for name, state in health.sensors.items() if state in known}
    return HealthOut(
        online=health.online,
        status_at=health.status_at,
        last_seen_at=health.last_seen_at,
        software_version=health.software_version,
        config_version=health.config_version,
        sensors=sensors,
    )
