"""`maskwatch train` end to end on a tiny data folder: weights, int8 copy, sidecar, and the final fit."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from typer.testing import CliRunner

from services.inference.model.config import int8_path
from services.inference.model.sidecar import read_sidecar
from stack.cli import app
from tests.inference.conftest import voc_scene_set

SCENES = 4


def _crop_set(root: Path, face: np.ndarray, per_class: int) -> None:
    masked = face.copy()
    masked[face.shape[0] // 2 :] = (200, 160, 90)  # a flat light-blue band over mouth and chin
    for folder, image in (("with_mask", masked), ("without_mask", face)):
        (root / folder).mkdir(parents=True)
        for i in range(per_class):
            cv2.imwrite(str(root / folder / f"{folder}{i}.jpg"), np.roll(image, i, axis=1))


def test_a_final_fit_trains_on_every_scene_and_evaluate_says_so(tmp_path: Path, face_crop: np.ndarray):
    data = tmp_path / "data"
    voc_scene_set(data, face_crop, SCENES)
    _crop_set(data / "crops" / "train", face_crop, 10)
    out = tmp_path / "model"
    args = ["train", "--data-dir", str(data), "--out", str(out), "--epochs", "1"]
    result = CliRunner().invoke(
        app, [*args, "--samples-per-epoch", "64", "--batch-size", "16", "--all-scenes"]
    )
    assert result.exit_code == 0, result.output

    onnx_path = out / "mask_classifier.onnx"
    assert int8_path(onnx_path).is_file()
    sidecar = read_sidecar(onnx_path)
    record = sidecar.training["data"]
    assert record["scene_fold"] is None
    assert record["samples"]["scene_boxes"] == {"no_mask": SCENES}
    assert "nothing held out" in record["scenes"]
    # Only the crop set still has a held-out split, so only crop metrics are recorded.
    assert [key for key in sidecar.metrics if ":" in key] == ["crops:train"]

    scenes = data / "scenes" / "dev"
    evaluate = ["evaluate", str(scenes), "--data-dir", str(data), "--model", str(onnx_path)]
    evaluated = CliRunner().invoke(app, [*evaluate, "--split", "all"])
    assert evaluated.exit_code == 0, evaluated.output
    assert "not held out" in evaluated.output
    report = json.loads(evaluated.stdout)
    assert "classifier" in report["trained_on_these_scenes"]
    assert report["scenes:dev"]["images"] == SCENES
