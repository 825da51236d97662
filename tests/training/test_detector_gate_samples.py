"""Gate-sized detector training frames: the teacher boxes a crop's face, and every sample puts that box on
the face's own pixels, whole in a photo frame or reaching past a close-up's edge on the coarse canvas."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from services.inference.model.config import UltraFaceConfig
from services.inference.model.detectors.coarse_pass import PAD_VALUE
from services.inference.model.detectors.ultraface_backend import UltraFaceDetector
from training.average_precision import box_iou
from training.detector.gate_samples import (
    COARSE_FRAME,
    TEACHER_DETECTOR,
    BoxedCrop,
    Teacher,
    boxed_crops,
    coarse_sample,
    photo_sample,
)
from training.gate_framing import FRAME_SIZE, independent_faces

CANVAS = (512, 384)


@pytest.fixture(scope="module")
def teacher() -> Teacher:
    return Teacher(UltraFaceDetector(UltraFaceConfig(model_path=TEACHER_DETECTOR, precision="fp32")))


def white_face() -> BoxedCrop:
    """A dark photo whose "face" is a white rectangle at a known place."""
    pixels = np.full((200, 160, 3), 20, np.uint8)
    pixels[40:150, 30:120] = 255
    return BoxedCrop(pixels, (30.0, 40.0, 120.0, 150.0))


def white_box(image: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(image.min(axis=2) > 240)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def test_the_teacher_boxes_the_face_the_independent_detector_sees(teacher: Teacher, face_crop: np.ndarray):
    box = teacher.box(face_crop)
    assert box is not None
    [independent, *_] = independent_faces(face_crop, 0.5)
    assert box_iou(box, independent) > 0.5
    x1, y1, x2, y2 = box
    assert -5 < x1 < x2 < face_crop.shape[1] + 5
    assert -5 < y1 < y2 < face_crop.shape[0] + 5


def test_a_crop_without_a_sure_face_is_left_out(teacher: Teacher, face_crop: np.ndarray, tmp_path: Path):
    face, wall = tmp_path / "face.jpg", tmp_path / "wall.jpg"
    cv2.imwrite(str(face), face_crop)
    cv2.imwrite(str(wall), np.full((200, 200, 3), 90, np.uint8))
    kept, left_out = boxed_crops([face, wall], teacher)
    assert len(kept) == 1
    assert left_out == 1


def test_a_photo_sample_boxes_the_face_whole_at_a_gate_size():
    rng = random.Random(0)
    for _ in range(20):
        frame, boxes = photo_sample(white_face(), rng)
        assert frame.shape[:2] == (FRAME_SIZE[1], FRAME_SIZE[0])
        [(x1, y1, x2, y2)] = boxes
        assert min(x1, y1) >= 0
        assert x2 <= FRAME_SIZE[0]
        assert y2 <= FRAME_SIZE[1]
        assert 55 <= x2 - x1 <= 335
        assert box_iou((x1, y1, x2, y2), white_box(frame)) > 0.9


def test_a_coarse_sample_is_a_close_up_shrunk_onto_the_grey_canvas():
    rng = random.Random(1)
    for _ in range(20):
        canvas, boxes = coarse_sample(white_face(), rng, CANVAS)
        assert canvas.shape[:2] == (CANVAS[1], CANVAS[0])
        assert (canvas == PAD_VALUE).all(axis=2).mean() > 0.5  # the border the coarse pass pads with
        [(x1, y1, x2, y2)] = boxes
        assert 0.65 * COARSE_FRAME[1] <= y2 - y1 <= 1.35 * COARSE_FRAME[1]
        wx1, wy1, wx2, wy2 = white_box(canvas)
        # What shows of the face lies inside its box; the box may reach past the frame into the border.
        assert x1 - 2 <= wx1
        assert y1 - 2 <= wy1
        assert wx2 <= x2 + 2
        assert wy2 <= y2 + 2
