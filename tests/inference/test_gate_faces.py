"""One person at gate distance is one face, found up to the whole frame (skipped without the dataset).

The frames are cut from held-out dev data in the test: close-ups of held-out crops (the face fills the
frame, where the detector used to split a face in halves or box an eye inside it), and held-out scene
faces scaled to fill the frame. Small faces must not pay for it: on held-out scenes the coarse pass
leaves every main-pass box below its size untouched.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from services.gate_controller.policy import RuleSet
from services.inference.engine import MaskEngine
from services.inference.model.config import UltraFaceConfig
from services.inference.model.crops import square_crop
from services.inference.model.detectors.ultraface_backend import UltraFaceDetector
from services.inference.model.interface import FaceBox, FrameError, FrameResult
from training.average_precision import box_iou
from training.dataset import load_crop_folder, load_voc_scenes, split_crops, split_scenes
from training.gate_framing import CLOSE_UP, crop_faces, crop_frames, scene_frames
from training.gate_validation import outcome

pytestmark = pytest.mark.needs_data
OPERATING_POINT = 0.5


def analysed(engine: MaskEngine, image: np.ndarray) -> FrameResult | FrameError:
    """The frame as a gate sends it (JPEG, quality 90), through the engine."""
    data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    return engine.analyze_batch([data])[0]


def faces_at_operating_point(
    engine: MaskEngine, image: np.ndarray
) -> list[tuple[float, float, float, float]]:
    result = analysed(engine, image)
    return [
        (f.box.x1, f.box.y1, f.box.x2, f.box.y2)
        for f in getattr(result, "faces", ())
        if f.score >= OPERATING_POINT
    ]


def inside_share(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box's area: 1 when one box lies inside the other."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / smaller if smaller > 0 else 0.0


def test_masked_close_ups_are_one_face_each(engine: MaskEngine, data_dir: Path):
    """No second box on the face (an eye, a half, the face at another scale); a stray box elsewhere (a
    product on a shelf behind) is left to the policy, which must still see one person."""
    held_out = split_crops(load_crop_folder(data_dir / "crops" / "train"))[1]
    masked, _ = crop_faces([item for item in held_out if item[1] == "mask"][:30])
    close_ups = [f for f in crop_frames(masked) if f.size == CLOSE_UP]
    assert len(close_ups) >= 25
    found = [faces_at_operating_point(engine, f.image) for f in close_ups]
    assert sum(len(faces) == 1 for faces in found) >= len(found) - 2, found
    for faces in found:
        if not faces:
            continue
        face = max(faces, key=lambda b: b[2] - b[0])
        assert not [b for b in faces if b is not face and inside_share(b, face) > 0.3], faces
        strays = [b for b in faces if b is not face]
        assert all(b[2] - b[0] < RuleSet().other_face_width_share * (face[2] - face[0]) for b in strays)


def test_a_scene_face_filling_the_frame_is_found_whole(engine: MaskEngine, data_dir: Path):
    """The face's square scaled to the frame's height: before the coarse pass, 8 of these 12 were found
    as one face (the others split or missed); now all 12."""
    held_out = split_scenes(load_voc_scenes(data_dir / "scenes" / "dev"))[1]
    large = [(s, b) for s in held_out for b in s.boxes if b.width >= 64][:12]
    found = 0
    for scene, box in large:
        image = cv2.imread(str(scene.image_path))
        assert image is not None
        patch = cv2.resize(square_crop(image, (box.x1, box.y1, box.x2, box.y2), 1.0), (480, 480))
        frame = cv2.copyMakeBorder(patch, 0, 0, 80, 80, cv2.BORDER_REPLICATE)  # 640 x 480
        scale = 480 / max(box.x2 - box.x1, box.y2 - box.y1)
        half_w, half_h = (box.x2 - box.x1) * scale / 2, (box.y2 - box.y1) * scale / 2
        truth = (320 - half_w, 240 - half_h, 320 + half_w, 240 + half_h)
        faces = faces_at_operating_point(engine, frame)
        if len(faces) == 1 and box_iou(faces[0], truth) >= 0.5:
            found += 1
    assert len(large) == 12
    assert found >= 11


HELD_UP = {("maksssksksss736.jpg#1", "220"), ("maksssksksss90.jpg#4", "280")}
"""Scene faces of the held-out split in their context framing, each beside something held up at face height (a
phone with a picture on its case, a sheet of paper) that the detector half-believes is a face."""


def test_a_thing_held_up_beside_a_masked_face_is_no_second_person(engine: MaskEngine, data_dir: Path):
    """The classifier takes the held-up thing for a masked face; the policy, counting only faces the
    detector itself is sure of, still sees one person and lets them in (both were refused as "one
    person at a time" at the line the policy drew before, a detector score of 0.3)."""
    scenes = [
        s
        for s in load_voc_scenes(data_dir / "scenes" / "dev")
        if s.image_path.name in {source.split("#")[0] for source, _ in HELD_UP}
    ]
    frames = [f for f in scene_frames(scenes) if f.framing == "context" and (f.source, f.size) in HELD_UP]
    assert len(frames) == len(HELD_UP)
    for frame in frames:
        result = analysed(engine, frame.image)
        faces = sorted(getattr(result, "faces", ()), key=lambda f: f.box.x2 - f.box.x1, reverse=True)
        assert frame.label == "mask"
        assert len([f for f in faces if f.score >= OPERATING_POINT]) >= 2, (frame.source, faces)
        assert outcome(frame.label, result, RuleSet()) == "right", (frame.source, faces)


def test_the_coarse_pass_costs_no_small_face(data_dir: Path):
    held_out = split_scenes(load_voc_scenes(data_dir / "scenes" / "dev"))[1][:20]
    with_coarse = UltraFaceDetector(UltraFaceConfig())
    without = UltraFaceDetector(UltraFaceConfig(coarse_input_size=None))
    for scene in held_out:
        image = cv2.imread(str(scene.image_path))
        assert image is not None
        small = [(b.x1, b.y1, b.x2, b.y2) for b in scene.boxes if b.y2 - b.y1 < 0.2 * image.shape[0]]
        assert found(small, with_coarse.detect(image)) == found(small, without.detect(image))


def found(truths: list[tuple[int, int, int, int]], boxes: list[FaceBox]) -> list[bool]:
    corners = [(b.x1, b.y1, b.x2, b.y2) for b in boxes]
    return [any(box_iou(t, c) >= 0.3 for c in corners) for t in truths]
