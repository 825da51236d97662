"""Gate-framed test frames: one person in a 640x480 frame, as a gate camera at arm's length sees them.

The dev scenes are crowds of small faces and the crop set is close-ups, while a gate sees one face 120-320
px wide, off-centre, sometimes filling the frame. These frames are built only from held-out data, so the
validation measures what the gate will do with faces the model never trained on:

- the crop set's held-out fifth (`split_crops`), each crop taken as one face (its faces fill most of
  it), pasted on a plain background ("photo"), and scaled to cover the whole frame ("close-up");
- the dev scenes' held-out fifth (`split_scenes`), faces 32 px or wider: the annotated face alone
  ("tight", the classifier's square crop) and with the scene around it ("context": hair, shoulders,
  the street), skipping faces whose context would show another annotated face.

Each held-out item falls in one of two parts by a second hash of its name, "tune" and "report": anything
tuned on gate frames is tuned on the first and reported on the second, never both on one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from services.inference.model.crops import as_bgr, read_bgr, square_crop
from services.inference.model.interface import BgrImage, MaskLabel
from training.dataset import LabelledBox, Scene

FRAME_SIZE = (640, 480)
FACE_WIDTHS = (120, 160, 220, 280, 320)
"""Face widths in pixels at which a gate camera (640x480) sees a person standing 0.5-1.5 m away."""
CLOSE_UP = "close-up"
CONTEXT_MARGIN = 2.2
"""Side of the scene square cut around a face, relative to its longer side: hair, shoulders and some
street, but rarely a neighbour's face."""
Part = Literal["tune", "report"]
Framing = Literal["photo", "close-up", "tight", "context"]


@dataclass(frozen=True, slots=True)
class GateFrame:
    """One synthetic gate frame with the label of the one person in it."""

    image: BgrImage
    label: MaskLabel
    size: str
    """The face width in pixels ("120".."320"), or "close-up" when the face fills the frame."""
    framing: Framing
    source: str


def gate_part(name: str) -> Part:
    """Which part an item belongs to, from the second byte of its name's SHA-1 (the first byte picks the
    fold, so the two parts split every fold evenly)."""
    return "tune" if hashlib.sha1(Path(name).stem.encode()).digest()[1] % 2 == 0 else "report"


def _background(rng: np.random.Generator) -> BgrImage:
    """A plain wall: one colour, a soft vertical gradient and sensor noise."""
    w, h = FRAME_SIZE
    colour = rng.uniform(60, 200, size=3)
    ramp = np.linspace(-20.0, 20.0, h)[:, None, None] * rng.uniform(-1, 1)
    noise = rng.normal(0.0, 4.0, size=(h, w, 3))
    return as_bgr(np.clip(colour + ramp + noise, 0, 255))


def _paste(
    frame: BgrImage, patch: BgrImage, rng: np.random.Generator, face: tuple[float, float, float, float]
) -> BgrImage:
    """`patch` at a random place where the face box (within the patch) stays whole in the frame; the
    rest of the patch may leave the frame, as shoulders do."""
    fh, fw = frame.shape[:2]
    ph, pw = patch.shape[:2]
    fx1, fy1, fx2, fy2 = face
    x = int(rng.integers(int(-fx1), max(int(-fx1), int(fw - fx2)) + 1))
    y = int(rng.integers(int(-fy1), max(int(-fy1), int(fh - fy2)) + 1))
    sx1, sy1, sx2, sy2 = max(x, 0), max(y, 0), min(x + pw, fw), min(y + ph, fh)
    out = frame.copy()
    out[sy1:sy2, sx1:sx2] = patch[sy1 - y : sy2 - y, sx1 - x : sx2 - x]
    return out


def _scaled(image: BgrImage, factor: float) -> BgrImage:
    size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    return as_bgr(cv2.resize(image, size, interpolation=interp))


def _close_up(image: BgrImage) -> BgrImage:
    """The image scaled to cover the whole frame, centred: the face fills it."""
    w, h = FRAME_SIZE
    scaled = _scaled(image, max(w / image.shape[1], h / image.shape[0]))
    top, left = (scaled.shape[0] - h) // 2, (scaled.shape[1] - w) // 2
    return np.ascontiguousarray(scaled[top : top + h, left : left + w])


def crop_frames(items: list[tuple[Path, MaskLabel]], seed: int = 0) -> Iterator[GateFrame]:
    """Photo framings at every face width and one close-up per held-out crop."""
    for path, label in items:
        crop = read_bgr(path)
        if crop is None:
            continue
        rng = np.random.default_rng([seed, int(hashlib.sha1(path.name.encode()).digest()[0])])
        for width in FACE_WIDTHS:
            patch = _scaled(crop, width / crop.shape[1])
            if patch.shape[0] > FRAME_SIZE[1]:
                continue  # a tall portrait at this width would not fit the frame
            box = (0.0, 0.0, float(patch.shape[1]), float(patch.shape[0]))
            yield GateFrame(_paste(_background(rng), patch, rng, box), label, str(width), "photo", path.name)
        yield GateFrame(_close_up(crop), label, CLOSE_UP, "close-up", path.name)


def _context_is_clear(box: LabelledBox, others: list[LabelledBox], margin: float) -> bool:
    """No other annotated face overlaps the square that `margin` cuts around `box`."""
    side = max(box.x2 - box.x1, box.y2 - box.y1) * margin / 2
    cx, cy = (box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2
    return not any(
        o.x1 < cx + side and o.x2 > cx - side and o.y1 < cy + side and o.y2 > cy - side for o in others
    )


def scene_frames(scenes: list[Scene], min_width: int = 32, seed: int = 0) -> Iterator[GateFrame]:
    """Tight and context framings of every held-out scene face `min_width` px or wider, at every width."""
    for scene in scenes:
        image = read_bgr(scene.image_path)
        if image is None:
            continue
        for index, box in enumerate(scene.boxes):
            if box.width < min_width:
                continue
            others = [b for b in scene.boxes if b is not box]
            rng = np.random.default_rng(
                [seed, index, int(hashlib.sha1(scene.image_path.name.encode()).digest()[0])]
            )
            framings: list[tuple[Framing, float]] = [("tight", 1.2)]
            if _context_is_clear(box, others, CONTEXT_MARGIN):
                framings.append(("context", CONTEXT_MARGIN))
            corners = (box.x1, box.y1, box.x2, box.y2)
            for framing, margin in framings:
                patch = square_crop(image, corners, margin)
                for width in FACE_WIDTHS:
                    factor = width / box.width
                    scaled = _scaled(patch, factor)
                    face_w, face_h = box.width * factor, (box.y2 - box.y1) * factor
                    cx, cy = scaled.shape[1] / 2, scaled.shape[0] / 2
                    face = (cx - face_w / 2, cy - face_h / 2, cx + face_w / 2, cy + face_h / 2)
                    if face_h > FRAME_SIZE[1]:
                        continue
                    frame = _paste(_background(rng), scaled, rng, face)
                    yield GateFrame(frame, box.label, str(width), framing, f"{scene.image_path.name}#{index}")


def several_people(image: BgrImage, min_score: float = 0.7) -> bool:
    """Whether an independent detector (libfacedetection, not the model under test) sees two or more
    faces: some "crops" are group photos and collages, where "one person at a time" is the right answer,
    so they are left out of a one-person validation (and counted)."""
    import yuface

    if image.shape[1] < 320:
        image = _scaled(image, 320 / image.shape[1])
    scores, _boxes, _landmarks = yuface.detect(np.ascontiguousarray(image), conf=min_score)
    return len(np.asarray(scores).reshape(-1)) >= 2


def one_person_crops(
    items: list[tuple[Path, MaskLabel]],
) -> tuple[list[tuple[Path, MaskLabel]], list[tuple[Path, MaskLabel]]]:
    """(crops showing one person, crops left out as group photos or unreadable)."""
    kept: list[tuple[Path, MaskLabel]] = []
    left_out: list[tuple[Path, MaskLabel]] = []
    for item in items:
        image = read_bgr(item[0])
        (left_out if image is None or several_people(image) else kept).append(item)
    return kept, left_out
