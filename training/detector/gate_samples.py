"""Gate-sized training frames for the detector, cut from the crop set's training split.

The dev scenes are crowds of small faces; a gate camera sees one face 120-320 px wide, or filling the
frame. Fine-tuned on scenes alone, the detector missed masked faces at gate sizes (docs/model-card.md,
"Gate framing"). These samples show it the crop set's training faces at those sizes:

- "photo": the face 60-330 px wide in a 640x480 frame, at a random place on a plain wall, with the
  photo around it (hair, shoulders, whatever the crop shows) as far as it reaches;
- "coarse": the face filling a 640x480 frame (70-130% of its height, so often cut by the frame's edge),
  laid out as the coarse pass sees it (the frame shrunk to 256x192 on a grey canvas,
  `detectors/coarse_pass.py`), so the pass that finds large faces learns them too.

Crops carry no boxes. Each face box is the teacher's (`TEACHER_DETECTOR`, the detector fine-tuned on the
scenes alone) on the crop at a size it is sure at: pasted with its face 160 px wide, and kept only when
the teacher finds exactly one face there at 0.8 or above, overlapping the independent detector's
(libfacedetection) box where that one finds a face. So the boxes keep the annotators' placement the
detector learnt from the scenes, and a crop the teacher cannot box confidently is not used at all. Only
the training split of the crops is read: the held-out fifth, from which the gate validation is built,
is never seen.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from services.inference.model.crops import as_bgr, read_bgr
from services.inference.model.detectors.coarse_pass import PAD_VALUE
from services.inference.model.detectors.ultraface_backend import UltraFaceDetector
from services.inference.model.interface import BgrImage
from training.average_precision import box_iou
from training.gate_framing import FRAME_SIZE, Box, around_face, independent_faces, paste_at, resized_by

TEACHER_DETECTOR = Path(__file__).resolve().parents[2] / (
    "services/inference/model/weights/ultraface_rfb_640_scenes.onnx"
)
"""The detector fine-tuned on the dev scenes alone (`maskwatch train-detector --gate-samples 0
--all-scenes`): pinned, so that the recipe does not change with the detector it produces."""
TEACHER_WIDTH = 160
"""Face width at which the teacher boxes a crop's face: the middle of the gate sizes it is surest at."""
TEACHER_SCORE = 0.8
COARSE_FRAME = (256, 192)
"""The frame's size inside the coarse pass's canvas (320x240 at 80%)."""


@dataclass(frozen=True, slots=True)
class BoxedCrop:
    """A training crop with its face box (crop pixels)."""

    pixels: BgrImage
    face: Box


class Teacher:
    """Boxes the crops' faces with a pinned detector (`TEACHER_DETECTOR` in the pipeline)."""

    def __init__(self, detector: UltraFaceDetector) -> None:
        self._detect = detector.detect_batch

    def box(self, crop: BgrImage) -> Box | None:
        """The teacher's box for the crop's one face, in crop pixels, or None when it is not sure of one."""
        independent = independent_faces(crop, 0.5)
        rough = independent[0] if independent else (0.0, 0.0, float(crop.shape[1]), float(crop.shape[0]))
        fw, fh = FRAME_SIZE
        factor = min(TEACHER_WIDTH / max(rough[2] - rough[0], 1.0), 0.8 * fh / max(rough[3] - rough[1], 1.0))
        size = ((rough[2] - rough[0]) * factor, (rough[3] - rough[1]) * factor)
        grey = np.full((fh, fw, 3), PAD_VALUE, np.uint8)
        canvas, placed = _placed(
            grey, BoxedCrop(crop, rough), factor, ((fw - size[0]) / 2, (fh - size[1]) / 2)
        )
        [found] = self._detect([canvas])
        sure = [f for f in found if f.score >= TEACHER_SCORE]
        if len(sure) != 1:
            return None
        f = sure[0]
        box = (
            (f.x1 - placed[0]) / factor + rough[0],
            (f.y1 - placed[1]) / factor + rough[1],
            (f.x2 - placed[0]) / factor + rough[0],
            (f.y2 - placed[1]) / factor + rough[1],
        )
        if independent and box_iou(box, independent[0]) < 0.3:
            return None
        return box


def boxed_crops(paths: Sequence[Path], teacher: Teacher) -> tuple[list[BoxedCrop], int]:
    """The crops the teacher boxes, and how many it could not."""
    kept: list[BoxedCrop] = []
    for path in paths:
        pixels = read_bgr(path)
        box = None if pixels is None else teacher.box(pixels)
        if pixels is not None and box is not None:
            kept.append(BoxedCrop(pixels, box))
    return kept, len(paths) - len(kept)


def _wall(rng: random.Random, size: tuple[int, int]) -> BgrImage:
    w, h = size
    colour = np.array([rng.uniform(40, 220) for _ in range(3)])
    ramp = np.linspace(-25.0, 25.0, h)[:, None, None] * rng.uniform(-1, 1)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0.0, 4.0, size=(h, w, 3))
    return as_bgr(np.clip(colour + ramp + noise, 0, 255))


def _placed(frame: BgrImage, crop: BoxedCrop, factor: float, at: tuple[float, float]) -> tuple[BgrImage, Box]:
    """The crop scaled by `factor` with its face's top-left corner at `at` (frame pixels); what leaves the
    frame is cut. Returns the frame and the face box (which may reach past the frame's edge)."""
    part, around = around_face(crop.pixels, crop.face, factor)
    patch = resized_by(part, factor)
    x = round(at[0] - around[0] * factor)
    y = round(at[1] - around[1] * factor)
    face = (x + around[0] * factor, y + around[1] * factor, x + around[2] * factor, y + around[3] * factor)
    return paste_at(frame, patch, x, y), face


def photo_sample(crop: BoxedCrop, rng: random.Random) -> tuple[BgrImage, np.ndarray]:
    """One person on a wall, the face 60-330 px wide and whole in the frame."""
    fw, fh = FRAME_SIZE
    x1, y1, x2, y2 = crop.face
    width = rng.uniform(60, 330)
    factor = width / (x2 - x1)
    height = (y2 - y1) * factor
    if height > fh * 0.95:
        factor *= fh * 0.95 / height
        width, height = (x2 - x1) * factor, fh * 0.95
    at = (rng.uniform(0, fw - width), rng.uniform(0, fh - height))
    frame, face = _placed(_wall(rng, FRAME_SIZE), crop, factor, at)
    return frame, np.array([face], dtype=np.float32)


def coarse_sample(
    crop: BoxedCrop, rng: random.Random, canvas: tuple[int, int]
) -> tuple[BgrImage, np.ndarray]:
    """The face filling a frame (70-130% of its height, centred near the middle, edges cut), shrunk to the
    coarse pass's frame size on a grey canvas of `canvas` (the training input size)."""
    fw, fh = FRAME_SIZE
    x1, y1, x2, y2 = crop.face
    factor = fh * rng.uniform(0.7, 1.3) / (y2 - y1)
    width, height = (x2 - x1) * factor, (y2 - y1) * factor
    centre = (fw / 2 + rng.uniform(-0.2, 0.2) * fw, fh / 2 + rng.uniform(-0.15, 0.15) * fh)
    frame, face = _placed(
        _wall(rng, FRAME_SIZE), crop, factor, (centre[0] - width / 2, centre[1] - height / 2)
    )
    cw, ch = canvas
    sw, sh = COARSE_FRAME
    left, top = rng.randint(0, cw - sw), rng.randint(0, ch - sh)
    out = np.full((ch, cw, 3), PAD_VALUE, dtype=np.uint8)
    out[top : top + sh, left : left + sw] = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA)
    scale = (sw / fw, sh / fh)
    box = (
        face[0] * scale[0] + left,
        face[1] * scale[1] + top,
        face[2] * scale[0] + left,
        face[3] * scale[1] + top,
    )
    return as_bgr(out), np.array([box], dtype=np.float32)


def gate_sample(
    crops: Sequence[BoxedCrop], rng: random.Random, canvas: tuple[int, int], coarse_share: float = 0.35
) -> tuple[BgrImage, np.ndarray]:
    """One random gate-sized training frame and its face box (N x 4 pixel corners)."""
    crop = crops[rng.randrange(len(crops))]
    if rng.random() < coarse_share:
        return coarse_sample(crop, rng, canvas)
    return photo_sample(crop, rng)
