"""What the tracker is given for each face in a frame."""

from __future__ import annotations

from dataclasses import dataclass

Box = tuple[float, float, float, float]
"""x1, y1, x2, y2 in pixels."""


@dataclass(frozen=True, slots=True)
class Detection:
    box: Box
    score: float
    """How sure the detector is that this is a face (0..1): splits confident from doubtful detections."""
    label: str = ""
    """The mask label the classifier gave this face (mask, no_mask, incorrect)."""
    label_score: float = 0.0
    """How sure the classifier is of `label` (0..1)."""
