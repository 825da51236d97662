"""Cuts the face of each analysed gate check into a small thumbnail for the console's live feed.

Runs after the analyses are on their way to the gate controller, in the worker's low-priority
thread (the one camera frames use), so a person at a gate never waits for a thumbnail. The face kept
is the one the model was surest of (the policy counts that one first); a check with no face, or a
photo that no longer decodes, simply has no thumbnail.
"""

from __future__ import annotations

import io
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from maskwatch.face_crops import FaceCropSettings, FaceCropStore
from services.inference.model.interface import FrameResult

log = logging.getLogger(__name__)

MARGIN = 0.2
"""Context around the face box on each side, as a share of its size: hair and chin, not the crowd."""
PURGE_EVERY_S = 300.0


@dataclass(frozen=True)
class Thumbnail:
    """What to cut: one check's photo and the face box to cut from it."""

    check_id: uuid.UUID
    gate_id: str
    jpeg: bytes
    box: tuple[float, float, float, float]


def thumbnails_of(items: Sequence[tuple[uuid.UUID, str, bytes, object]]) -> list[Thumbnail]:
    """For each (check id, gate id, photo, result) with a face, the surest face's box."""
    cuts = []
    for check_id, gate_id, jpeg, result in items:
        if isinstance(result, FrameResult) and result.faces:
            face = max(result.faces, key=lambda f: f.score)
            cuts.append(
                Thumbnail(check_id, gate_id, jpeg, (face.box.x1, face.box.y1, face.box.x2, face.box.y2))
            )
    return cuts


def cut(jpeg: bytes, box: tuple[float, float, float, float], size_px: int) -> bytes:
    """The face with a margin, at most `size_px` on its longer side, as a JPEG."""
    with Image.open(io.BytesIO(jpeg)) as image:
        x1, y1, x2, y2 = box
        w, h = x2 - x1, y2 - y1
        area = (
            max(0, int(x1 - MARGIN * w)),
            max(0, int(y1 - MARGIN * h)),
            min(image.width, int(x2 + MARGIN * w)),
            min(image.height, int(y2 + MARGIN * h)),
        )
        if area[2] <= area[0] or area[3] <= area[1]:
            raise ValueError(f"the face box {box} lies outside the {image.width}x{image.height} photo")
        face = image.convert("RGB").crop(area)
    face.thumbnail((size_px, size_px))
    out = io.BytesIO()
    face.save(out, "JPEG", quality=80)
    return out.getvalue()


class FaceThumbnails:
    def __init__(self, settings: FaceCropSettings) -> None:
        self._settings = settings
        self._store = FaceCropStore(settings)
        self._purged_at = float("-inf")

    @property
    def enabled(self) -> bool:
        return self._settings.enabled

    def keep(self, cuts: Sequence[Thumbnail], now: float | None = None) -> int:
        """Cut and store each thumbnail (and purge old ones now and then); returns how many were stored.
        A photo that fails here is logged and skipped: the check itself was answered long ago."""
        stored = 0
        for item in cuts:
            try:
                self._store.save(item.check_id, cut(item.jpeg, item.box, self._settings.size_px))
                stored += 1
            except (OSError, ValueError) as exc:
                log.warning("gate %s: check %s: no face thumbnail (%s)", item.gate_id, item.check_id, exc)
        moment = time.monotonic() if now is None else now
        if moment - self._purged_at > PURGE_EVERY_S:
            self._purged_at = moment
            removed = self._store.purge()
            if removed:
                log.info("face thumbnails: %d past retention deleted", removed)
        return stored
