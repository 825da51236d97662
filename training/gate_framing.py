"""Gate-framed test frames: one person in a 640x480 frame, as a gate camera at arm's length sees them.

The dev scenes are crowds of small faces and the crop set is close-ups, while a gate sees one face 120-320
px wide, off-centre, sometimes filling the frame. These frames are built only from held-out data, so the
validation measures what the gate will do with faces the model never trained on:

- the crop set's held-out fifth (`split_crops`), scaled so that its face (found by an independent
  detector, `crop_faces`) has each width, pasted on a plain background ("photo"), and scaled so that
  the face fills the frame's height ("close-up");
- the dev scenes' held-out fifth (`split_scenes`), faces 32 px or wider: the annotated face alone
  ("tight", the classifier's square crop) and with the scene around it ("context": hair, shoulders,
  the street), skipping faces whose context would show another annotated face.

Each held-out item falls in one of two parts by a second hash of its name, "tune" and "report": anything
tuned on gate frames is tuned on the first and reported on the second, never both on one.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from services.inference.model.crops import as_bgr, read_bgr, square_crop
from services.inference.model.interface import BgrImage, MaskLabel
from training.dataset import LabelledBox, Scene, crop_key

FRAME_SIZE = (640, 480)
FACE_WIDTHS = (120, 160, 220, 280, 320)
"""Face widths in pixels at which a gate camera (640x480) sees a person standing 0.5-1.5 m away."""
CLOSE_UP = "close-up"
CONTEXT_MARGIN = 2.2
"""Side of the scene square cut around a face, relative to its longer side: hair, shoulders and some
street, but rarely a neighbour's face."""
Part = Literal["tune", "report"]
Framing = Literal["photo", "close-up", "tight", "context", "pair"]
PAIR_WIDTHS = (120, 160, 220)
"""Widths of the nearer face when two people stand at the gate side by side (two faces of 320 px do not
fit one frame)."""


Box = tuple[float, float, float, float]
SEVERAL_PEOPLE_SCORE = 0.7
FACE_SCORE = 0.3
MIN_FACE_WIDTH = 32
"""Faces narrower than this in their own photo (crops or scenes) are left out: scaled to gate size they
would be a smear, not what a camera at arm's length sees."""


@dataclass(frozen=True, slots=True)
class CropFace:
    """A held-out crop showing one person, and where its face is (None: the face fills the crop)."""

    path: Path
    label: MaskLabel
    face: Box | None
    folder_label: MaskLabel | None = None
    """The crop set's own label where the review changed it (training/crop_review.py), else None."""


@dataclass(frozen=True, slots=True)
class GateFrame:
    """One synthetic gate frame with the label of the one person in it."""

    image: BgrImage
    label: MaskLabel
    size: str
    """The face width in pixels ("120".."320"), or "close-up" when the face fills the frame."""
    framing: Framing
    source: str
    people: int = 1
    """2 for a pair frame, where "one person at a time" is the right answer."""
    folder_label: MaskLabel | None = None
    """The crop set's own label where the review changed `label`, else None."""

    @property
    def label_in_folder(self) -> MaskLabel:
        """The label as the data set has it, before any review."""
        return self.folder_label or self.label


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
    fx1, fy1, fx2, fy2 = face
    x = int(rng.integers(int(-fx1), max(int(-fx1), int(fw - fx2)) + 1))
    y = int(rng.integers(int(-fy1), max(int(-fy1), int(fh - fy2)) + 1))
    return paste_at(frame, patch, x, y)


def paste_at(frame: BgrImage, patch: BgrImage, x: int, y: int) -> BgrImage:
    """A copy of `frame` with `patch`'s top-left corner at (x, y); whatever leaves the frame is cut."""
    fh, fw = frame.shape[:2]
    ph, pw = patch.shape[:2]
    sx1, sy1, sx2, sy2 = max(x, 0), max(y, 0), min(x + pw, fw), min(y + ph, fh)
    out = frame.copy()
    if sx1 < sx2 and sy1 < sy2:
        out[sy1:sy2, sx1:sx2] = patch[sy1 - y : sy2 - y, sx1 - x : sx2 - x]
    return out


def resized_by(image: BgrImage, factor: float) -> BgrImage:
    size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    return as_bgr(cv2.resize(image, size, interpolation=interp))


def _face_close_up(crop: BgrImage, face: Box) -> BgrImage:
    """The face scaled to the frame's height and centred on it: the face fills the frame, as when a
    person leans into the camera; where the photo ends, its edge is repeated."""
    x1, y1, x2, y2 = face
    factor = FRAME_SIZE[1] / (y2 - y1)
    half_w, half_h = FRAME_SIZE[0] / factor / 2, FRAME_SIZE[1] / factor / 2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = round(cx - half_w), round(cy - half_h)
    right, bottom = round(cx + half_w), round(cy + half_h)
    h, w = crop.shape[:2]
    window = cv2.copyMakeBorder(
        crop[max(top, 0) : min(bottom, h), max(left, 0) : min(right, w)],
        max(-top, 0),
        max(bottom - h, 0),
        max(-left, 0),
        max(right - w, 0),
        cv2.BORDER_REPLICATE,
    )
    return as_bgr(cv2.resize(window, FRAME_SIZE, interpolation=cv2.INTER_CUBIC))


def around_face(
    crop: BgrImage, face: Box, factor: float, reach_px: float = max(FRAME_SIZE)
) -> tuple[BgrImage, Box]:
    """The part of the crop within `reach_px` of the face once scaled by `factor` (by default all that
    can show in a frame), and the face's box in it: a small face in a large photo is not scaled whole."""
    reach = reach_px / factor
    x1, y1, x2, y2 = face
    left, top = max(0, int(x1 - reach)), max(0, int(y1 - reach))
    right, bottom = min(crop.shape[1], int(x2 + reach) + 1), min(crop.shape[0], int(y2 + reach) + 1)
    return crop[top:bottom, left:right], (x1 - left, y1 - top, x2 - left, y2 - top)


def crop_frames(items: list[CropFace], seed: int = 0) -> Iterator[GateFrame]:
    """Photo framings with the face at every width and one close-up per held-out crop."""
    for item in items:
        crop = read_bgr(item.path)
        if crop is None:
            continue
        face = item.face or (0.0, 0.0, float(crop.shape[1]), float(crop.shape[0]))
        rng = np.random.default_rng([seed, int(hashlib.sha1(item.path.name.encode()).digest()[0])])
        for width in FACE_WIDTHS:
            factor = width / (face[2] - face[0])
            if (face[3] - face[1]) * factor > FRAME_SIZE[1]:
                continue  # a face this tall at this width would not fit the frame
            part, box = around_face(crop, face, factor)
            patch = resized_by(part, factor)
            scaled_box = (box[0] * factor, box[1] * factor, box[2] * factor, box[3] * factor)
            frame = _paste(_background(rng), patch, rng, scaled_box)
            yield GateFrame(
                frame, item.label, str(width), "photo", item.path.name, folder_label=item.folder_label
            )
        yield GateFrame(
            _face_close_up(crop, face),
            item.label,
            CLOSE_UP,
            "close-up",
            item.path.name,
            folder_label=item.folder_label,
        )


def _paste_centred(frame: BgrImage, patch: BgrImage, face: Box, centre: tuple[float, float]) -> BgrImage:
    """`patch` placed so that its face's centre lands on `centre`; whatever leaves the frame is cut."""
    x = round(centre[0] - (face[0] + face[2]) / 2)
    y = round(centre[1] - (face[1] + face[3]) / 2)
    return paste_at(frame, patch, x, y)


def pair_frames(items: list[CropFace], seed: int = 0) -> Iterator[GateFrame]:
    """Two people at the gate: each held-out crop beside the next one, the nearer face at each of
    `PAIR_WIDTHS` and the other 0.5-1.0 times as wide (up to twice as far away), on either side. The
    right answer is "one person at a time"; this is what keeps the policy's tolerance of stray faces
    (`RuleSet.other_face_*`) honest."""
    for first, second in zip(items[0::2], items[1::2], strict=False):
        read = [read_bgr(first.path), read_bgr(second.path)]
        images = [image for image in read if image is not None]
        if len(images) < 2:
            continue
        faces = [
            item.face or (0.0, 0.0, float(image.shape[1]), float(image.shape[0]))
            for item, image in zip((first, second), images, strict=True)
        ]
        rng = np.random.default_rng([seed, int(hashlib.sha1(first.path.name.encode()).digest()[0])])
        for width in PAIR_WIDTHS:
            near_left = bool(rng.integers(2))
            widths = (width, width * rng.uniform(0.5, 1.0))
            frame = _background(rng)
            for index in (1, 0):  # the nearer person pasted last, in front
                face = faces[index]
                factor = widths[index] / (face[2] - face[0])
                # Hair and shoulders only: the rest of one photo would cover the other person.
                part, box = around_face(images[index], face, factor, reach_px=0.5 * widths[index])
                scaled_box = (box[0] * factor, box[1] * factor, box[2] * factor, box[3] * factor)
                left = (index == 0) == near_left
                centre = (FRAME_SIZE[0] * (0.27 if left else 0.73), FRAME_SIZE[1] * rng.uniform(0.4, 0.6))
                frame = _paste_centred(frame, resized_by(part, factor), scaled_box, centre)
            yield GateFrame(
                frame, first.label, str(width), "pair", f"{first.path.name}+{second.path.name}", people=2
            )


def _context_is_clear(box: LabelledBox, others: list[LabelledBox], margin: float) -> bool:
    """No other annotated face overlaps the square that `margin` cuts around `box`."""
    side = max(box.x2 - box.x1, box.y2 - box.y1) * margin / 2
    cx, cy = (box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2
    return not any(
        o.x1 < cx + side and o.x2 > cx - side and o.y1 < cy + side and o.y2 > cy - side for o in others
    )


def scene_frames(scenes: list[Scene], min_width: int = MIN_FACE_WIDTH, seed: int = 0) -> Iterator[GateFrame]:
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
                    scaled = resized_by(patch, factor)
                    face_w, face_h = box.width * factor, (box.y2 - box.y1) * factor
                    cx, cy = scaled.shape[1] / 2, scaled.shape[0] / 2
                    face = (cx - face_w / 2, cy - face_h / 2, cx + face_w / 2, cy + face_h / 2)
                    if face_h > FRAME_SIZE[1]:
                        continue
                    frame = _paste(_background(rng), scaled, rng, face)
                    yield GateFrame(frame, box.label, str(width), framing, f"{scene.image_path.name}#{index}")


def independent_faces(image: BgrImage, min_score: float) -> list[Box]:
    """Faces libfacedetection (not the model under test) finds, in the image's own pixels, largest
    first; small images are enlarged to 320 px wide first, where it finds faces best."""
    import yuface

    factor = 320 / image.shape[1] if image.shape[1] < 320 else 1.0
    if factor != 1.0:
        image = resized_by(image, factor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its note that large photos detect less well
        scores, boxes, _landmarks = yuface.detect(np.ascontiguousarray(image), conf=min_score)
    found = [
        (x / factor, y / factor, (x + w) / factor, (y + h) / factor)
        for x, y, w, h in np.asarray(boxes, dtype=float).reshape(-1, 4)[: len(np.asarray(scores).reshape(-1))]
    ]
    return sorted(found, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)


def crop_faces(
    items: list[tuple[Path, MaskLabel]],
    review: dict[str, MaskLabel] | None = None,
    other_people: Collection[str] = (),
) -> tuple[list[CropFace], Counter[str]]:
    """The crops that show one person, each with where its face is and its label (the reviewed one
    where `review`, keyed by `dataset.crop_key`, changes it); and how many were left out, by why.

    Some "crops" are group photos and collages, where "one person at a time" is the right answer: an
    independent detector seeing two faces at 0.7 leaves them out, and so does a review by eye naming
    another person (`other_people`, crop keys; training/crop_review.py). Others are wide photos with a small
    face: the face, not the photo, is scaled to each width, and a face under 32 px in the photo is
    left out, as scene faces are (it would be a smear at gate size). Where the independent detector
    finds no face even at 0.3 (most often a face filling the crop behind a mask), the whole crop is
    taken as the face.
    """
    kept: list[CropFace] = []
    left_out: Counter[str] = Counter()
    for path, label in items:
        image = read_bgr(path)
        if image is None:
            left_out["unreadable"] += 1
        elif crop_key(path) in other_people:
            left_out["another_person_by_review"] += 1
        elif len(independent_faces(image, SEVERAL_PEOPLE_SCORE)) >= 2:
            left_out["several_people"] += 1
        else:
            faces = independent_faces(image, FACE_SCORE)
            face = faces[0] if faces else None
            if face is not None and face[2] - face[0] < MIN_FACE_WIDTH:
                left_out["face_under_32_px"] += 1
            else:
                seen = (review or {}).get(crop_key(path), label)
                kept.append(CropFace(path, seen, face, folder_label=label if seen != label else None))
    return kept, left_out
