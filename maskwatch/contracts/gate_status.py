"""A gate's availability, retained on `gates/{gate_id}/status`.

The broker publishes the gate's last will (`offline`, no timestamp) when the
gate drops off, so the dashboard sees a dead gate without polling it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime

from maskwatch.contracts.common import DeviceId, Message
from maskwatch.contracts.sensor_health import Sensors


class GateState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class GateStatus(Message):
    gate_id: DeviceId
    state: GateState
    at: AwareDatetime | None = None
    software_version: str | None = None
    config_version: str | None = None
    sensors: Sensors | None = None
    """Each sensor's last result (`camera`, `thermometer`); None in a last will, which cannot know."""
