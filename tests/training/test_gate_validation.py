"""The gate-framing validation judges frames through the real gate policy and builds frames as documented;
`maskwatch evaluate` reports it."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from typer.testing import CliRunner

from services.gate_controller.policy import RuleSet
from services.inference.model.interface import Face, FaceBox, FrameError, FrameResult, MaskLabel
from stack.cli import app
from tests.inference.conftest import voc_scene_set
from training.dataset import is_holdout
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


def held_out_report_names(count: int) -> list[str]:
    """Crop names that fall in the held-out fifth and its report half."""
    names = (f"face{i}.jpg" for i in range(10_000))
    return [n for n in names if is_holdout(n) and gate_part(n) == "report"][:count]


def test_evaluate_reports_the_gate_framing_of_the_data_dir(tmp_path: Path, face_crop: np.ndarray):
    data = tmp_path / "data"
    voc_scene_set(data, face_crop, 3)
    crops = data / "crops" / "train" / "without_mask"
    crops.mkdir(parents=True)
    for name in held_out_report_names(2):
        cv2.imwrite(str(crops / name), face_crop)
    result = CliRunner().invoke(app, ["evaluate", "--data-dir", str(data), "--split", "all"])
    assert result.exit_code == 0, result.output
    gate = json.loads(result.stdout)["gate_framing"]
    assert (gate["part"], gate["crops"], gate["crops_left_out_as_several_people"]) == ("report", 2, 0)
    sizes = gate["table"]["crops"]["no_mask"]
    assert set(sizes) == {*map(str, FACE_WIDTHS), CLOSE_UP, "all"}
    assert sizes["all"]["frames"] == 2 * (len(FACE_WIDTHS) + 1)
