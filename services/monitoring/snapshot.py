"""The picture an alert carries: the frame with the person boxed and every other face blurred beyond repair.

Blurring happens here, in memory, before anything is written: other people in
the room never reach the disk recognisably. Each other face is pixelated to an
8x8 grid, then smoothed, which removes the detail a deblurring filter would need.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

Box = tuple[int, int, int, int]
Image = npt.NDArray[np.uint8]
RED = (40, 40, 230)
BLUR_MARGIN = 0.25
"""Blur this share of the face's size beyond its box on every side (hair, ears, the box's error)."""
CROP_MARGIN = 0.5


class SnapshotError(ValueError):
    """The frame could not be decoded."""


def blur_faces(image: Image, boxes: Sequence[Box]) -> Image:
    out = image.copy()
    height, width = out.shape[:2]
    for x1, y1, x2, y2 in boxes:
        mx, my = round((x2 - x1) * BLUR_MARGIN), round((y2 - y1) * BLUR_MARGIN)
        left, top = max(0, x1 - mx), max(0, y1 - my)
        right, bottom = min(width, x2 + mx), min(height, y2 + my)
        if right - left < 2 or bottom - top < 2:
            continue
        region = out[top:bottom, left:right]
        small = cv2.resize(region, (8, 8), interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(small, (right - left, bottom - top), interpolation=cv2.INTER_NEAREST)
        out[top:bottom, left:right] = cv2.GaussianBlur(coarse, (0, 0), max(2.0, (right - left) / 16))
    return out


def make_snapshot(
    jpeg: bytes, person: Box, others: Sequence[Box], *, quality: int = 85
) -> tuple[bytes, bytes]:
    """(the whole frame with the person boxed, the person's crop), both JPEG, other faces blurred."""
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise SnapshotError("the frame is not a decodable image")
    safe = blur_faces(np.asarray(decoded, dtype=np.uint8), others)
    height, width = safe.shape[:2]
    x1, y1, x2, y2 = person
    mx, my = round((x2 - x1) * CROP_MARGIN), round((y2 - y1) * CROP_MARGIN)
    crop = safe[max(0, y1 - my) : min(height, y2 + my), max(0, x1 - mx) : min(width, x2 + mx)]
    boxed = safe.copy()
    cv2.rectangle(boxed, (x1, y1), (x2, y2), RED, max(2, round(min(height, width) / 240)))
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    return cv2.imencode(".jpg", boxed, params)[1].tobytes(), cv2.imencode(".jpg", crop, params)[1].tobytes()
