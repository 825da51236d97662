"""When an alert about a person opens and resolves: once per unmasked spell, never again within the cooldown.

Alerts open when a person's unmasked time passes the camera's threshold and
resolve when they mask up (for the grace period) or leave the view. After an
alert about a person resolves, they cannot raise another until the cooldown has
passed, so someone who keeps lowering their mask is not reported every minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.monitoring.track.detection import Box


@dataclass(frozen=True)
class AlertEvent:
    event: Literal["opened", "resolved"]
    t: float
    """Seconds on the camera's clock (from the start of the video, when replaying)."""
    person: int
    box: Box | None = None
    """Where the person was when the alert opened (pixels)."""
    why: Literal["masked", "left"] | None = None
    unmasked_since: float | None = None

    def as_line(self) -> dict[str, object]:
        """The replay command's JSON object for this event."""
        if self.event == "opened":
            box = [round(v) for v in self.box] if self.box is not None else None
            return {"event": "opened", "t": round(self.t, 2), "track": self.person, "box": box}
        return {"event": "resolved", "t": round(self.t, 2), "track": self.person, "why": self.why}


class AlertBook:
    """The open alerts of one camera and when each person may next be alerted about."""

    def __init__(self, cooldown_s: float) -> None:
        self.cooldown_s = cooldown_s
        self.open: dict[int, AlertEvent] = {}
        self._quiet_until: dict[int, float] = {}

    def may_open(self, person: int, t: float) -> bool:
        return person not in self.open and t >= self._quiet_until.get(person, float("-inf"))

    def opened(self, person: int, t: float, box: Box, unmasked_since: float) -> AlertEvent:
        event = AlertEvent("opened", t, person, box=box, unmasked_since=unmasked_since)
        self.open[person] = event
        return event

    def resolve(self, person: int, t: float, why: Literal["masked", "left"]) -> AlertEvent | None:
        if self.open.pop(person, None) is None:
            return None
        self._quiet_until[person] = t + self.cooldown_s
        return AlertEvent("resolved", t, person, why=why)

    def forget(self, person: int) -> None:
        """A person gone for good (their id never comes back): nothing to remember about them."""
        self._quiet_until.pop(person, None)
