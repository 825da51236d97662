"""The gate-framing validation judges frames through the real gate policy, and builds frames as documented."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from services.gate_controller.policy import RuleSet
from services.inference.model.interface import Face, FaceBox, FrameError, FrameResult, MaskLabel
from training.gate_framing import CLOSE_UP, FACE_WIDTHS, FRAME_SIZE, crop_frames, gate_part
from training.gate_validation import gate_table, outcome


def frame(*labels: MaskLabel, score: float = 0.9) -> FrameResult:
    faces = tuple(
        Face(FaceBox(100 + 200 * i, 100, 260 + 200 * i, 300, 0.9), label, score)
        for i, label in enumerate(labels)
    )
    return FrameResult(faces, 640, 480, 1.0, 1.0, 1.0, 120.0, 300.0)


def test_outcomes_follow_the_policys_decision():
    rules = RuleSet()
    assert outcome("mask", frame("mask"), rules) == "right"
    assert outcome("no_mask", frame("no_mask"), rules) == "right"
    assert outcome("incorrect", frame("incorrect"), rules) == "right"
    assert outcome("no_mask", frame("incorrect"), rules) == "right"  # refused for the mask either way
    assert outcome("mask", frame("no_mask"), rules) == "wrong_label"
    assert outcome("no_mask", frame("mask"), rules) == "wrong_label"
    assert outcome("mask", frame(), rules) == "no_face"
    assert outcome("mask", frame("mask", score=0.3), rules) == "no_face"
    assert outcome("no_mask", frame("no_mask", "mask"), rules) == "several_faces"
    assert outcome("mask", FrameError("not_an_image", "x"), rules) == "bad_image"


def test_crops_become_one_person_frames_at_every_width_and_a_close_up(tmp_path: Path, face_crop: np.ndarray):
    path = tmp_path / "with_mask" / "face.jpg"
    path.parent.mkdir()
    cv2.imwrite(str(path), cv2.resize(face_crop, (100, 120)))
    frames = list(crop_frames([(path, "mask")]))
    assert [f.size for f in frames] == [str(w) for w in FACE_WIDTHS] + [CLOSE_UP]
    assert all(f.image.shape[:2] == (FRAME_SIZE[1], FRAME_SIZE[0]) for f in frames)
    assert [f.image.tobytes() for f in crop_frames([(path, "mask")])] == [f.image.tobytes() for f in frames]


def test_the_two_parts_split_names_for_good():
    parts = [gate_part(f"with_mask/{i}.jpg") for i in range(200)]
    assert 60 < parts.count("report") < 140
    assert parts == [gate_part(f"with_mask/{i}.jpg") for i in range(200)]


def test_the_table_counts_rights_and_failures_per_class_and_size(tmp_path: Path, face_crop: np.ndarray):
    path = tmp_path / "face.jpg"
    cv2.imwrite(str(path), face_crop)
    [first, *_] = crop_frames([(path, "mask")])
    table = gate_table([(first, "right"), (first, "several_faces")])
    assert table["crops"]["mask"][first.size] == {"frames": 2, "right": 0.5, "failures": {"several_faces": 1}}
