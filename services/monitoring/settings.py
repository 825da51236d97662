"""What a venue sets per camera: how long unmasked is too long, what counts as unmasked, what to ignore."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.monitoring.track import TrackerSettings

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
    lost_after_s: float = Field(default=4.0, gt=0, le=120)
    """A person unseen this long has left (resolving their alert); a face that appears nearby sooner is
    the same person, keeping their unmasked time (they turned away, or passed behind someone)."""
    ignore_zones: list[list[Point]] = Field(default_factory=list)
    """Polygons in frame pixels (a poster, a screen): faces centred inside them are not people."""

    def tracker(self) -> TrackerSettings:
        return TrackerSettings(relink_s=self.lost_after_s, max_lost_s=min(2.0, self.lost_after_s))

    def unmasked_labels(self) -> frozenset[str]:
        return frozenset({"no_mask", "incorrect"} if self.incorrect_counts else {"no_mask"})
