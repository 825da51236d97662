"""`maskwatch detect` and `maskwatch evaluate` as a user runs them: files in, JSON out."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from stack.cli import app
from tests.inference.conftest import face_frame, voc_scene_set
from training.average_precision import box_iou

AT = (240, 150)


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.fixture
def images(tmp_path: Path, face_crop: np.ndarray) -> Path:
    folder = tmp_path / "images"
    (folder / "nested").mkdir(parents=True)
    cv2.imwrite(str(folder / "frame.jpg"), face_frame(face_crop, at=AT))
    cv2.imwrite(str(folder / "nested" / "crop.png"), face_crop)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    return folder


@pytest.mark.parametrize("detector", ["ultraface", "ultraface-stock"])
def test_detect_prints_one_line_per_image_with_boxes_in_pixels(images: Path, face_crop, detector: str):
    result = CliRunner().invoke(app, ["detect", "--detector", detector, str(images)])
    assert result.exit_code == 0, result.output
    by_name = {Path(str(line["image"])).name: line for line in _lines(result.output)}
    assert set(by_name) == {"frame.jpg", "crop.png", "broken.jpg"}
    assert by_name["broken.jpg"]["faces"] == []
    assert by_name["broken.jpg"]["error"] == "not_an_image"
    faces = [f for f in by_name["frame.jpg"]["faces"] if f["score"] >= 0.5]  # type: ignore[union-attr]
    (face,) = faces
    h, w = face_crop.shape[:2]
    assert box_iou(tuple(face["box"]), (AT[0], AT[1], AT[0] + w, AT[1] + h)) > 0.3
    assert face["label"] == "no_mask"
    assert 0.5 <= face["score"] <= 1.0


def test_detect_crops_classifies_each_image_whole(images: Path, face_crop):
    result = CliRunner().invoke(app, ["detect", "--crops", str(images / "nested" / "crop.png")])
    assert result.exit_code == 0, result.output
    ((line),) = _lines(result.output)
    (face,) = line["faces"]  # type: ignore[misc]
    h, w = face_crop.shape[:2]
    assert face["box"] == [0, 0, w, h]
    assert face["label"] == "no_mask"


def test_an_unknown_detector_is_refused():
    result = CliRunner().invoke(app, ["detect", "--detector", "nope", "x.jpg"])
    assert result.exit_code != 0
    assert "unknown detector" in result.output


def test_evaluate_prints_scene_and_crop_metrics(tmp_path: Path, face_crop: np.ndarray):
    voc_scene_set(tmp_path / "data", face_crop, 3)
    crops = tmp_path / "crops" / "without_mask"
    crops.mkdir(parents=True)
    cv2.imwrite(str(crops / "a.jpg"), face_crop)
    scenes = tmp_path / "data" / "scenes" / "dev"
    for target in (scenes, tmp_path / "crops"):
        result = CliRunner().invoke(app, ["evaluate", str(target)])
        assert result.exit_code == 0, result.output
        report = json.loads(result.output[result.output.index("{") :])
        if target == scenes:
            metrics = report["scenes:dev"]
            assert metrics["images"] == 3
            assert metrics["faces_32px"] == 3
            assert metrics["recall_32px_at_0.5"] == 1.0
        else:
            assert report["crops:crops"]["recall"]["no_mask"] == 1.0


def test_a_cuda_device_puts_both_stages_on_the_gpu_as_the_overlay_does():
    from services.inference.model.config import DEFAULT_CLASSIFIER_PATH, UltraFaceConfig
    from training.cli import _model_config

    config = _model_config(DEFAULT_CLASSIFIER_PATH, "ultraface", "onnx", "cuda:1", half=True)
    detector = config.detector
    assert isinstance(detector, UltraFaceConfig)
    assert (detector.runtime, detector.device, detector.precision, detector.half) == (
        "torch",
        "cuda:1",
        "fp32",
        True,
    )
    classifier = config.classifier
    assert (classifier.runtime, classifier.device, classifier.half) == ("torch", "cuda:1", True)
    on_cpu = _model_config(DEFAULT_CLASSIFIER_PATH, "ultraface", "onnx", "cpu")
    assert isinstance(on_cpu.detector, UltraFaceConfig)
    assert (on_cpu.detector.runtime, on_cpu.classifier.runtime) == ("onnx", "onnx")


def test_half_without_a_gpu_is_refused():
    result = CliRunner().invoke(app, ["detect", "--half", "nowhere.jpg"])
    assert result.exit_code != 0
    assert "--half needs a cuda --device" in result.output


def test_a_detector_without_its_int8_copy_is_a_usage_error(
    tmp_path: Path, face_crop: np.ndarray, monkeypatch: pytest.MonkeyPatch
):
    import shutil

    from services.inference.model import int8_support
    from services.inference.model.config import DEFAULT_ULTRAFACE_PATH

    vnni = tmp_path / "cpuinfo"
    vnni.write_text("processor\t: 0\nflags\t\t: avx2 avx512_vnni\n")  # a CPU that serves int8 by default
    monkeypatch.setattr(int8_support, "CPUINFO", vnni)
    int8_support.default_precision.cache_clear()

    voc_scene_set(tmp_path / "data", face_crop, 2)
    shutil.copy(DEFAULT_ULTRAFACE_PATH, tmp_path / "detector.onnx")  # no detector.int8.onnx beside it
    args = ["evaluate", str(tmp_path / "data" / "scenes" / "dev"), "--data-dir", str(tmp_path / "data")]
    try:
        result = CliRunner().invoke(app, [*args, "--detector-model", str(tmp_path / "detector.onnx")])
    finally:
        int8_support.default_precision.cache_clear()  # the next test reads this machine's own CPU
    assert result.exit_code == 2  # a usage error, not a traceback
    message = " ".join(result.output.replace("│", " ").split())
    assert "is missing: make it with `maskwatch quantize`" in message
