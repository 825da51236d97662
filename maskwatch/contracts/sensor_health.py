"""How a device's sensors are doing, as it reports them in its retained status.

A gate whose thermometer fails still answers (the server's policy decides a
check sent without a temperature), so "online" alone does not tell an operator
that something on the Pi needs a look; each sensor's last result does.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

SensorName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
"""`camera`, `thermometer`…: lower-case words, so a dashboard can translate them."""


class SensorState(StrEnum):
    OK = "ok"
    """Its last reading succeeded."""
    FAILING = "failing"
    """Its last reading failed; the device logs why."""


Sensors = Annotated[dict[SensorName, SensorState], Field(max_length=16)]
