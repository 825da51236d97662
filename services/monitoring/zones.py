"""Ignore zones: faces on a poster or a screen are not people, so detections centred there are dropped."""

from __future__ import annotations

from collections.abc import Sequence

from services.monitoring.settings import Point
from services.monitoring.track import Detection


def inside(point: Point, polygon: Sequence[Point]) -> bool:
    """Ray casting: is `point` inside `polygon` (vertices in order, closed implicitly)?"""
    x, y = point
    hit = False
    for (x1, y1), (x2, y2) in zip(polygon, [*polygon[1:], polygon[0]], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def outside_zones(detections: Sequence[Detection], zones: Sequence[Sequence[Point]]) -> list[Detection]:
    if not zones:
        return list(detections)
    kept = []
    for d in detections:
        centre = ((d.box[0] + d.box[2]) / 2, (d.box[1] + d.box[3]) / 2)
        if not any(len(zone) >= 3 and inside(centre, zone) for zone in zones):
            kept.append(d)
    return kept
