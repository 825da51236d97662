"""Training samples for the classifier and the augmentation that makes crop-set faces look like CCTV faces.

Each sample keeps some context around its face so box jitter can be applied on the fly, the way a
detector's box never sits exactly where an annotator put it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from services.inference.model.crops import as_bgr, square_crop
from services.inference.model.interface import BgrImage, FaceBox
from training.average_precision import box_iou
from training.dataset import LabelledBox

CONTEXT = 2.0
"""Context kept around a scene face, relative to its longer side: room for jitter and the crop margin."""
CROP_SET_MAX_SIDE = 128


@dataclass(frozen=True, slots=True)
class Sample:
    """A patch, the face box in it, the class index, and whether it is a crop-set close-up."""

    patch: BgrImage
    box: tuple[float, float, float, float]
    label: int
    close_up: bool


def crop_set_sample(image: BgrImage, label: int) -> Sample:
    """A face-crop image is the face: shrink it (the pixels it will be reduced to anyway) and box it whole."""
    h, w = image.shape[:2]
    scale = min(1.0, CROP_SET_MAX_SIDE / max(h, w))
    if scale < 1.0:
        image = as_bgr(cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA))
    h, w = image.shape[:2]
    return Sample(image, (0.0, 0.0, float(w), float(h)), label, close_up=True)


def scene_sample(image: BgrImage, box: tuple[float, float, float, float], label: int) -> Sample:
    """Cut a context patch around a scene box and express the box in the patch's coordinates."""
    x1, y1, x2, y2 = box
    patch = square_crop(image, box, margin=CONTEXT)
    side = patch.shape[0]
    left = (x1 + x2) / 2.0 - side / 2.0
    top = (y1 + y2) / 2.0 - side / 2.0
    return Sample(patch, (x1 - left, y1 - top, x2 - left, y2 - top), label, close_up=False)


Box = tuple[float, float, float, float]


def sort_detections(
    detections: list[FaceBox],
    truth: Sequence[LabelledBox],
    background_iou: float = 0.2,
    face_iou: float = 0.3,
) -> tuple[list[tuple[Box, str]], list[Box]]:
    """The detector's boxes on one annotated scene, sorted two ways.

    Faces: a box overlapping an annotated face by IoU >= `face_iou`, with that face's label. The classifier
    sees the detector's boxes when serving, off-centre and mis-sized on hard faces far beyond the
    annotation jitter of training, so it should learn those crops too. Background: a box overlapping no
    face by `background_iou` or more, a false positive to learn to doubt.
    """
    faces: list[tuple[Box, str]] = []
    background: list[Box] = []
    for det in detections:
        box = (float(det.x1), float(det.y1), float(det.x2), float(det.y2))
        overlaps = [box_iou(box, (t.x1, t.y1, t.x2, t.y2)) for t in truth]
        best = int(np.argmax(overlaps)) if overlaps else -1
        if best >= 0 and overlaps[best] >= face_iou:
            faces.append((box, truth[best].label))
        elif all(iou < background_iou for iou in overlaps):
            background.append(box)
    return faces, background


def augment(
    sample: Sample, size: int, margin: float, rng: np.random.Generator, shrink_close_ups: float = 0.75
) -> BgrImage:
    """Jitter the box, crop as serving does, then degrade like a small, soft, badly lit CCTV face."""
    x1, y1, x2, y2 = sample.box
    w, h = x2 - x1, y2 - y1
    scale = rng.uniform(0.85, 1.25)
    cx = (x1 + x2) / 2.0 + rng.uniform(-0.1, 0.1) * w
    cy = (y1 + y2) / 2.0 + rng.uniform(-0.1, 0.1) * h
    if sample.close_up:
        w, h = (
            w * rng.uniform(0.75, 0.95),
            h * rng.uniform(0.75, 0.95),
        )  # the image is a face with some margin
    nw, nh = w * scale, h * scale
    crop = square_crop(sample.patch, (cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2), margin)
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    shrink_to = 0
    if sample.close_up and rng.random() < shrink_close_ups:
        shrink_to = int(rng.integers(14, 48))
    elif not sample.close_up and rng.random() < 0.2:
        shrink_to = int(max(8, crop.shape[0] * rng.uniform(0.5, 0.9)))
    if 0 < shrink_to < crop.shape[0]:
        crop = as_bgr(cv2.resize(crop, (shrink_to, shrink_to), interpolation=cv2.INTER_AREA))
    crop = as_bgr(cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR))
    out: np.ndarray = crop.astype(np.float32)
    out = out * rng.uniform(0.7, 1.3) + rng.uniform(-30, 30)
    if rng.random() < 0.2:
        out = out.mean(axis=2, keepdims=True).repeat(3, axis=2)
    if rng.random() < 0.3:
        out = out + rng.normal(0, rng.uniform(2, 8), out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


MASK_COLOURS: tuple[tuple[int, int, int], ...] = (
    (235, 205, 160),  # surgical light blue (BGR)
    (245, 245, 245),  # white
    (40, 40, 40),  # black
    (150, 150, 150),  # grey
    (120, 60, 20),  # navy
    (200, 190, 240),  # pink
    (170, 200, 150),  # surgical green
)
"""Usual mask colours, for the painted bands of synthetic `incorrect` faces."""


def _lower_face_alpha(h: int, w: int, top: float, rng: np.random.Generator) -> np.ndarray:
    """A soft mask-shaped region: below a slightly curved edge at `top` (fraction of h), within the cheeks."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cx = w * rng.uniform(0.45, 0.55)
    half = w * rng.uniform(0.36, 0.46)
    u = (xs - cx) / half
    edge = h * (top + rng.uniform(0.0, 0.06) * u**2)  # the top edge sags towards the cheeks
    depth = max(h - edge.min(), 1.0) * rng.uniform(1.0, 1.3)
    v = (ys - edge) / depth
    alpha = ((ys >= edge) & (u**2 + v**2 <= 1.0)).astype(np.float32)  # rounded towards the chin
    k = max(3, (min(h, w) // 24) * 2 + 1)
    return np.asarray(cv2.GaussianBlur(alpha, (k, k), 0), dtype=np.float32)


def _blend(base: BgrImage, overlay: np.ndarray, alpha: np.ndarray) -> BgrImage:
    a = alpha[:, :, None]
    out = base.astype(np.float32) * (1.0 - a) + overlay.astype(np.float32) * a
    return as_bgr(np.clip(out, 0, 255))


def lowered_mask(masked: BgrImage, bare: BgrImage, rng: np.random.Generator) -> BgrImage:
    """Move the mask of a masked close-up onto the lower face of an unmasked one, below the nose.

    Crop-set faces are roughly aligned (nose tip near 55-60% of the height), so the mask's lower part
    (from about 55% down) is squeezed into the band from about 63-72% down: nose visible, mouth and
    chin covered, as a mask pulled down is worn.
    """
    h, w = bare.shape[:2]
    mh, mw = masked.shape[:2]
    src_top = rng.uniform(0.5, 0.6)
    src_x1, src_x2 = rng.uniform(0.05, 0.12), rng.uniform(0.88, 0.95)
    part = masked[int(mh * src_top) :, int(mw * src_x1) : int(mw * src_x2)]
    top = rng.uniform(0.63, 0.72)
    y0 = int(h * top)
    x0, x1 = int(w * rng.uniform(0.05, 0.12)), int(w * rng.uniform(0.88, 0.95))
    if y0 >= h - 2 or x1 - x0 < 4 or part.size == 0:
        return bare
    overlay = bare.copy()
    overlay[y0:, x0:x1] = as_bgr(cv2.resize(part, (x1 - x0, h - y0), interpolation=cv2.INTER_AREA))
    return _blend(bare, overlay, _lower_face_alpha(h, w, top, rng))


def painted_mask(bare: BgrImage, rng: np.random.Generator) -> BgrImage:
    """Paint a shaded mask-coloured band over the mouth and chin of an unmasked close-up (nose left bare)."""
    h, w = bare.shape[:2]
    top = rng.uniform(0.62, 0.74)
    colour = np.array(MASK_COLOURS[int(rng.integers(len(MASK_COLOURS)))], dtype=np.float64)
    colour = colour + rng.uniform(-20, 20, 3)
    ys = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    shade = 1.0 - rng.uniform(0.05, 0.25) * ys  # darker towards the chin
    overlay: np.ndarray = np.broadcast_to(colour * shade, (h, w, 3)).astype(np.float32)
    pleats = int(rng.integers(0, 4))
    for i in range(pleats):  # surgical-mask folds
        y = int(h * (top + (i + 1) * (1.0 - top) / (pleats + 2)))
        overlay[y : y + max(1, h // 64)] *= 0.8
    overlay += rng.normal(0, 4, overlay.shape)
    return _blend(bare, overlay, _lower_face_alpha(h, w, top, rng) * rng.uniform(0.85, 1.0))


def synthetic_incorrect(
    masked: list[BgrImage], bare: list[BgrImage], count: int, label: int, seed: int
) -> list[Sample]:
    """`count` close-ups of masks worn below the nose, half moved from masked faces, half painted.

    Deterministic for a seed and the same inputs (both lists in a fixed order).
    """
    if not bare or count <= 0:
        return []
    rng = np.random.default_rng([seed, 0x1C0])
    out: list[Sample] = []
    for i in range(count):
        face = bare[int(rng.integers(len(bare)))]
        if masked and i % 2 == 0:
            image = lowered_mask(masked[int(rng.integers(len(masked)))], face, rng)
        else:
            image = painted_mask(face, rng)
        h, w = image.shape[:2]
        out.append(Sample(image, (0.0, 0.0, float(w), float(h)), label, close_up=True))
    return out
