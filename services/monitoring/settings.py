"""What a venue sets per camera: how long unmasked is too long, what counts as unmasked, what to ignore."""

from __future__ import annotations

from pydantic import BaseModel, Field

Point = tuple[float, float]


class CameraSettings(BaseModel):
    fps: float = Field(default=2.0, gt=0, le=10)
    """Frames analysed per second."""
    unmasked_after_s: float = Field(default=60.0, gt=0, le=24 * 3600)
    """An alert opens when a person has been unmasked this long."""
    incorrect_counts: bool = True
    """Whether a mask worn below the nose counts as unmasked."""
    grace_s: float = Field(default=5.0, ge=0, le=600)
    """Masked this long ends an unmasked spell (and resolves its alert)."""
    cooldown_s: float = Field(default=300.0, ge=0, le=7 * 24 * 3600)
    """After an alert about a person resolves, no new one about them for this long."""
    ignore_zones: list[list[Point]] = Field(default_factory=list)
    """Polygons in frame pixels (a poster, a screen): faces centred inside them are not people."""

    def unmasked_labels(self) -> frozenset[str]:
        return frozenset({"no_mask", "incorrect"} if self.incorrect_counts else {"no_mask"})
