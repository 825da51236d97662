"""Cuts the face of each analysed gate check into a small thumbnail for the console's live feed.

Runs after the analyses are on their way to the gate controller, in the worker's low-priority
thread (the one camera frames use), so a person at a gate never waits for a thumbnail. The face kept
is the one the model was surest of (the policy counts that one first); a check with no face, or a
photo that no longer decodes, simply has no thumbnail.
"""

from __future__ import annotations

import io
import logging
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
from PIL import Image

from maskwatch.face_crops import FaceCropSettings, FaceCropStore
from services.inference.model.interface import BgrImage, FrameResult

log = logging.getLogger(__name__)

MARGIN = 0.2
"""Context around the face box on each side, as a share of its size: hair and chin, not the crowd."""
PURGE_EVERY_S = 300.0


@dataclass(frozen=True)
class Thumbnail:
    """What to cut: one check's photo (as the model saw it, decoded, where the worker still has it)
    and the face box to cut from it."""

    check_id: uuid.UUID
    gate_id: str
    jpeg: bytes
    box: tuple[float, float, float, float]
    image: BgrImage | None = None


def thumbnails_of(
    items: Sequence[tuple[uuid.UUID, str, bytes, object, BgrImage | None]],
) -> list[Thumbnail]:
    """For each (check id, gate id, photo, result, decoded photo or None) with a face, the surest
    face's box."""
    cuts = []
    for check_id, gate_id, jpeg, result, image in items:
        if isinstance(result, FrameResult) and result.faces:
            face = max(result.faces, key=lambda f: f.score)
            box = (face.box.x1, face.box.y1, face.box.x2, face.box.y2)
            cuts.append(Thumbnail(check_id, gate_id, jpeg, box, image))
    return cuts


def _face_area(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    """The face box with its margin, inside the photo; refused when nothing of it is."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    area = (
        max(0, int(x1 - MARGIN * w)),
        max(0, int(y1 - MARGIN * h)),
        min(width, int(x2 + MARGIN * w)),
        min(height, int(y2 + MARGIN * h)),
    )
    if area[2] <= area[0] or area[3] <= area[1]:
        raise ValueError(f"the face box {box} lies outside the {width}x{height} photo")
    return area


def cut_decoded(image: BgrImage, box: tuple[float, float, float, float], size_px: int) -> bytes:
    """`cut` from the photo the model already decoded: no decoding at all."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = _face_area(box, width, height)
    face = image[y1:y2, x1:x2]
    side = max(x2 - x1, y2 - y1)
    if side > size_px:
        scale = size_px / side
        size = (max(1, round((x2 - x1) * scale)), max(1, round((y2 - y1) * scale)))
        ok, encoded = cv2.imencode(
            ".jpg", cv2.resize(face, size, interpolation=cv2.INTER_AREA), [cv2.IMWRITE_JPEG_QUALITY, 80]
        )
    else:
        ok, encoded = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ValueError("the face could not be encoded")
    return bytes(encoded.tobytes())


def cut(jpeg: bytes, box: tuple[float, float, float, float], size_px: int) -> bytes:
    """The face with a margin, at most `size_px` on its longer side, as a JPEG.

    A JPEG is decoded only at the scale the thumbnail needs (Pillow's draft mode: 1/2, 1/4 or 1/8 of
    its size straight from the compressed data), which costs a fraction of a full decode."""
    with Image.open(io.BytesIO(jpeg)) as image:
        full_w, full_h = image.size
        area = _face_area(box, full_w, full_h)
        side = max(area[2] - area[0], area[3] - area[1])
        if side > size_px:
            scale = size_px / side
            image.draft("RGB", (math.ceil(full_w * scale), math.ceil(full_h * scale)))
        sx, sy = image.width / full_w, image.height / full_h
        scaled = (
            int(area[0] * sx),
            int(area[1] * sy),
            max(int(area[0] * sx) + 1, round(area[2] * sx)),
            max(int(area[1] * sy) + 1, round(area[3] * sy)),
        )
        face = image.convert("RGB").crop(scaled)
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
                size = self._settings.size_px
                thumbnail = (
                    cut(item.jpeg, item.box, size)
                    if item.image is None
                    else cut_decoded(item.image, item.box, size)
                )
                self._store.save(item.check_id, thumbnail)
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
