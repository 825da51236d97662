"""How a face box becomes a classifier input; shared by training and serving so both see the same pixels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from services.inference.model.interface import BgrImage

CROP_MARGIN = 1.2
"""Side of the square crop relative to the longer side of the face box: a little chin and forehead
context helps tell a mask pulled below the nose from one worn right."""


def as_bgr(array: object) -> BgrImage:
    """OpenCV returns loosely typed arrays; this pins them to uint8 (no copy when they already are)."""
    return np.asarray(array, dtype=np.uint8)


def read_bgr(path: Path) -> BgrImage | None:
    """Read an image file as BGR, or None when it is missing or unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if image is None else as_bgr(image)


def square_crop(
    image: BgrImage, box: tuple[float, float, float, float], margin: float = CROP_MARGIN
) -> BgrImage:
    """Cut a square around the box centre, padding with edge pixels where it leaves the frame.

    Square crops keep the face's aspect ratio when resized, whatever shape the detector's box has.
    """
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * margin
    side = max(side, 2.0)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    left = round(cx - side / 2.0)
    top = round(cy - side / 2.0)
    size = max(round(side), 2)
    h, w = image.shape[:2]
    sx1, sy1 = max(left, 0), max(top, 0)
    sx2, sy2 = min(left + size, w), min(top + size, h)
    if sx2 <= sx1 or sy2 <= sy1:
        return np.zeros((size, size, 3), dtype=np.uint8)
    patch = image[sy1:sy2, sx1:sx2]
    pad = (sy1 - top, top + size - sy2, sx1 - left, left + size - sx2)
    if any(pad):
        patch = as_bgr(cv2.copyMakeBorder(patch, *pad, borderType=cv2.BORDER_REPLICATE))
    return np.ascontiguousarray(patch)


def to_input_tensor(
    crops: list[BgrImage], size: int, mean: tuple[float, float, float], std: tuple[float, float, float]
) -> np.ndarray:
    """Resize BGR crops and normalise them into one N x 3 x size x size float32 batch (RGB order)."""
    batch = np.empty((len(crops), size, size, 3), dtype=np.float32)
    for i, crop in enumerate(crops):
        interp = cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_LINEAR
        batch[i] = cv2.resize(crop, (size, size), interpolation=interp)[:, :, ::-1]
    batch *= 1.0 / 255.0
    batch -= np.asarray(mean, dtype=np.float32)
    batch /= np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
