"""The coarse pass: large faces found on a small, padded copy of the frame.

UltraFace's largest anchors are 256 input pixels, and the fine-tuned graph learnt from street scenes whose
faces are small: a face filling a gate camera's frame is either missed or found in pieces (its left and
right halves as two faces). Shrunk into a small canvas, the same face is a size the network knows; the
grey border around the shrunk frame (zero after UltraFace's normalisation) lets a face cut by the frame's
edge still fit an anchor whole. Only boxes too large for the main pass to be trusted with are kept from
here; the main pass keeps the small faces, so their recall is untouched.
"""

from __future__ import annotations

import cv2
import numpy as np

from services.inference.model.crops import as_bgr
from services.inference.model.interface import BgrImage

PAD_VALUE = 127
"""UltraFace normalises pixels as (x - 127) / 128: this border is zero to the network."""


def frame_in_canvas(canvas: tuple[int, int], frame_share: float) -> tuple[int, int]:
    """Width and height the frame takes in the canvas."""
    cw, ch = canvas
    return round(cw * frame_share), round(ch * frame_share)


def shrinks_into(image_size: tuple[int, int], canvas: tuple[int, int], frame_share: float) -> bool:
    """Whether an image of this size (width, height) is at least the canvas's frame on both sides, so
    that the canvas can be shrunk from it rather than from the larger frame."""
    fw, fh = frame_in_canvas(canvas, frame_share)
    return image_size[0] >= fw and image_size[1] >= fh


def coarse_canvas(image: BgrImage, canvas: tuple[int, int], frame_share: float) -> BgrImage:
    """The frame, or the main pass's input made from it, resized to `frame_share` of the canvas (aspect
    not kept, as in the main pass), centred."""
    cw, ch = canvas
    fw, fh = frame_in_canvas(canvas, frame_share)
    out = np.full((ch, cw, 3), PAD_VALUE, dtype=np.uint8)
    left, top = (cw - fw) // 2, (ch - fh) // 2
    out[top : top + fh, left : left + fw] = cv2.resize(image, (fw, fh), interpolation=cv2.INTER_AREA)
    return as_bgr(out)


def canvas_to_frame(
    corners: np.ndarray, canvas: tuple[int, int], frame_share: float, frame: tuple[int, int]
) -> np.ndarray:
    """N x 4 relative canvas corners to pixel corners of the frame (width, height) they came from."""
    cw, ch = canvas
    fw, fh = frame_in_canvas(canvas, frame_share)
    left, top = (cw - fw) // 2, (ch - fh) // 2
    x = (corners[:, [0, 2]] * cw - left) * (frame[0] / fw)
    y = (corners[:, [1, 3]] * ch - top) * (frame[1] / fh)
    return np.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], axis=1)
