"""One camera's monitor: faces in, alert events out, frame by frame on the camera's own clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.monitoring.alerting import AlertBook, AlertEvent
from services.monitoring.dwell import Dwell
from services.monitoring.settings import CameraSettings
from services.monitoring.track import Detection, Track, Tracker, TrackerSettings
from services.monitoring.zones import outside_zones


@dataclass(frozen=True)
class PersonView:
    """What the monitor knows of a person in the latest frame, for drawing and for snapshots."""

    person: int
    box: tuple[float, float, float, float]
    label: str
    unmasked_for: float
    alerted: bool


class CameraMonitor:
    def __init__(self, settings: CameraSettings, tracker: TrackerSettings | None = None) -> None:
        self.settings = settings
        self.tracker = Tracker(tracker or settings.tracker())
        self.alerts = AlertBook(settings.cooldown_s)
        self._dwell: dict[int, Dwell] = {}
        self.people: list[PersonView] = []

    def reconfigure(self, settings: CameraSettings) -> None:
        """New settings from the registry, applied without losing who is who or how long they have waited."""
        self.settings = settings
        self.alerts.cooldown_s = settings.cooldown_s
        self.tracker.settings = settings.tracker()
        for dwell in self._dwell.values():
            dwell.unmasked_labels = settings.unmasked_labels()
            dwell.grace_s = settings.grace_s

    def step(self, detections: Sequence[Detection], t: float) -> list[AlertEvent]:
        """Feed one frame's faces taken at `t` seconds; returns the alert events it caused."""
        update = self.tracker.update(outside_zones(detections, self.settings.ignore_zones), t)
        events: list[AlertEvent] = []
        views = []
        for track in update.seen:
            events.extend(self._observe(track, t))
            dwell = self._dwell[track.person_id]
            views.append(
                PersonView(
                    track.person_id,
                    track.box,
                    dwell.label,
                    dwell.unmasked_for(t),
                    track.person_id in self.alerts.open,
                )
            )
        for person in update.departed:
            events.extend(self._left(person, t))
        self.people = views
        return events

    def finish(self, t: float) -> list[AlertEvent]:
        """The stream ended at `t`: people not in its last frame have left."""
        present = {view.person for view in self.people}
        gone = [p for p in self._dwell if p not in present]
        return [event for person in gone for event in self._left(person, t)]

    def _observe(self, track: Track, t: float) -> list[AlertEvent]:
        detection = track.detection
        assert detection is not None  # `seen` tracks carry their detection
        dwell = self._dwell.get(track.person_id)
        if dwell is None:
            dwell = Dwell(self.settings.unmasked_labels(), self.settings.grace_s)
            self._dwell[track.person_id] = dwell
            first = track.first_detection  # seen before the track was confirmed: it counts too
            if first is not None and track.born_at < t:
                dwell.observe(track.born_at, first.label, first.label_score)
        ended = dwell.observe(t, detection.label, detection.label_score)
        if ended:
            resolved = self.alerts.resolve(track.person_id, t, "masked")
            return [resolved] if resolved else []
        since = dwell.unmasked_since
        if (
            since is not None
            and t - since >= self.settings.unmasked_after_s
            and self.alerts.may_open(track.person_id, t)
        ):
            return [self.alerts.opened(track.person_id, t, track.box, since)]
        return []

    def _left(self, person: int, t: float) -> list[AlertEvent]:
        self._dwell.pop(person, None)
        resolved = self.alerts.resolve(person, t, "left")
        self.alerts.forget(person)
        return [resolved] if resolved else []
