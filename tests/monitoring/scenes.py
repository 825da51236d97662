"""Synthetic rooms with exact ground truth: people as face boxes moving on scripted paths.

Each person has a path (position over time), a mask schedule and the times
they are hidden; `detections_at(t)` gives what a perfect-but-noisy detector
would report, with pixel jitter, so the tracker and the alert logic are
tested against known identities and known unmasked time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from services.monitoring.track import Detection

Path = Callable[[float], tuple[float, float]]


def straight(start: tuple[float, float], velocity: tuple[float, float]) -> Path:
    return lambda t: (start[0] + velocity[0] * t, start[1] + velocity[1] * t)


def still(at: tuple[float, float]) -> Path:
    return lambda t: at


@dataclass
class Person:
    name: str
    path: Path
    size: float = 60.0
    unmasked: list[tuple[float, float]] = field(default_factory=list)
    """Intervals [start, end) during which the person wears no mask."""
    hidden: list[tuple[float, float]] = field(default_factory=list)
    """Intervals during which the detector does not see them."""
    present: tuple[float, float] = (0.0, float("inf"))

    def label_at(self, t: float) -> str:
        return "no_mask" if any(a <= t < b for a, b in self.unmasked) else "mask"

    def visible_at(self, t: float) -> bool:
        return self.present[0] <= t < self.present[1] and not any(a <= t < b for a, b in self.hidden)

    def box_at(self, t: float) -> tuple[float, float, float, float]:
        cx, cy = self.path(t)
        half = self.size / 2
        return (cx - half, cy - half, cx + half, cy + half)


@dataclass
class Room:
    people: list[Person]
    seed: int = 0
    jitter: float = 2.0
    flips: dict[tuple[str, float], str] = field(default_factory=dict)
    """(person, time) → a wrong label the classifier gives in that one frame."""

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def detections_at(self, t: float) -> tuple[list[Detection], list[str]]:
        """The frame's detections and, aligned, whose face each one is."""
        found, owners = [], []
        for person in self.people:
            if not person.visible_at(t):
                continue
            x1, y1, x2, y2 = person.box_at(t)
            j = self.jitter
            box = tuple(v + self._random.uniform(-j, j) for v in (x1, y1, x2, y2))
            label = self.flips.get((person.name, round(t, 3)), person.label_at(t))
            found.append(Detection(box, 0.9, label, 0.9))  # type: ignore[arg-type]
            owners.append(person.name)
        return found, owners


def frame_times(duration: float, fps: float) -> list[float]:
    return [round(i / fps, 3) for i in range(int(duration * fps) + 1)]
