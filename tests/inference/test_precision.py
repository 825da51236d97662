"""The int8 copies that serve on CPU: where they live, that they agree with fp32, and how they are made."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from services.inference.allocator import keep_frame_buffers
from services.inference.engine import MaskEngine, build_engine
from services.inference.model.config import (
    DEFAULT_CLASSIFIER_PATH,
    DEFAULT_ULTRAFACE_PATH,
    ClassifierConfig,
    ModelConfig,
    UltraFaceConfig,
    int8_path,
    onnx_file,
)
from services.inference.model.detectors.ultraface_backend import UltraFaceDetector
from services.inference.model.interface import FrameError, FrameResult
from training.average_precision import box_iou
from training.dataset import LabelledBox, Scene

from .conftest import encode, face_frame, grey, voc_scene_set


def _only_face(engine: MaskEngine, frame: np.ndarray) -> tuple[tuple[int, int, int, int], str, float]:
    (result,) = engine.analyze_batch([encode(frame)])
    assert isinstance(result, FrameResult)
    (face,) = [f for f in result.faces if f.score >= 0.5]
    return (face.box.x1, face.box.y1, face.box.x2, face.box.y2), face.label, face.score


def test_the_committed_int8_copies_sit_beside_the_fp32_graphs():
    """Which one serves by default follows the CPU (tests/inference/test_int8_support.py)."""
    assert onnx_file(DEFAULT_ULTRAFACE_PATH, "int8") == DEFAULT_ULTRAFACE_PATH.with_name(
        "ultraface_rfb_640_finetuned.int8.onnx"
    )
    assert onnx_file(DEFAULT_CLASSIFIER_PATH, "int8").is_file()
    assert onnx_file(DEFAULT_CLASSIFIER_PATH, "fp32") == DEFAULT_CLASSIFIER_PATH


def test_a_missing_int8_copy_is_named_with_the_command_that_makes_it(tmp_path: Path):
    model = tmp_path / "mask_classifier.onnx"
    shutil.copy(DEFAULT_CLASSIFIER_PATH, model)
    shutil.copy(DEFAULT_CLASSIFIER_PATH.with_suffix(".json"), model.with_suffix(".json"))
    with pytest.raises(FileNotFoundError, match="maskwatch quantize"):
        build_engine(ModelConfig(classifier=ClassifierConfig(model_path=model, precision="int8")))
    fp32 = build_engine(ModelConfig(classifier=ClassifierConfig(model_path=model, precision="fp32")))
    assert fp32.classifier.labels[:3] == ["mask", "no_mask", "incorrect"]


def test_int8_and_fp32_agree_on_a_real_face(engine: MaskEngine, face_crop: np.ndarray):
    fp32 = build_engine(
        ModelConfig(detector=UltraFaceConfig(precision="fp32"), classifier=ClassifierConfig(precision="fp32"))
    )
    for at in ((240, 150), (40, 300), (460, 20)):
        frame = face_frame(face_crop, at=at)
        box8, label8, score8 = _only_face(engine, frame)
        box32, label32, score32 = _only_face(fp32, frame)
        assert label8 == label32 == "no_mask"
        assert box_iou(box8, box32) > 0.85
        assert score8 == pytest.approx(score32, abs=0.1)


def test_noise_cannot_flood_non_maximum_suppression():
    detector = UltraFaceDetector(UltraFaceConfig(min_score=0.0, max_candidates=25))
    noise = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert len(detector.detect(noise)) <= 25


def test_frame_buffers_stay_in_the_heap():
    assert keep_frame_buffers() is True  # glibc on Linux: the thresholds were accepted
    assert keep_frame_buffers() is True  # and applying twice is harmless


def test_quantizing_writes_copies_that_still_find_and_label_the_face(tmp_path: Path, face_crop: np.ndarray):
    pytest.importorskip("onnx")
    from training.quantize import quantize_classifier, quantize_detector

    scenes = []
    for i, (x, y) in enumerate([(240, 150), (40, 300), (460, 20), (300, 290)]):
        path = tmp_path / f"scene{i}.jpg"
        cv2.imwrite(str(path), face_frame(face_crop, at=(x, y)))
        h, w = face_crop.shape[:2]
        scenes.append(Scene(path, (LabelledBox("no_mask", x, y, x + w, y + h),)))
    cv2.imwrite(str(tmp_path / "blank.jpg"), grey(640, 480))
    scenes.append(Scene(tmp_path / "blank.jpg", ()))

    detector_src = tmp_path / "detector.onnx"
    classifier_src = tmp_path / "classifier.onnx"
    shutil.copy(DEFAULT_ULTRAFACE_PATH, detector_src)
    shutil.copy(DEFAULT_CLASSIFIER_PATH, classifier_src)
    shutil.copy(DEFAULT_CLASSIFIER_PATH.with_suffix(".json"), classifier_src.with_suffix(".json"))

    kept = quantize_detector(detector_src, int8_path(detector_src), scenes, (512, 384))
    assert len(kept) == 9  # the first convolution and eight heads stay in fp32
    quantize_classifier(classifier_src, int8_path(classifier_src), scenes)
    assert int8_path(detector_src).stat().st_size < detector_src.stat().st_size * 0.6
    assert int8_path(classifier_src).stat().st_size < classifier_src.stat().st_size * 0.4

    made = build_engine(
        ModelConfig(
            detector=UltraFaceConfig(model_path=detector_src),
            classifier=ClassifierConfig(model_path=classifier_src),
        )
    )
    box, label, _ = _only_face(made, face_frame(face_crop, at=(100, 100)))
    h, w = face_crop.shape[:2]
    assert label == "no_mask"
    assert box_iou(box, (100, 100, 100 + w, 100 + h)) > 0.3


def test_a_batch_of_frames_of_any_sizes_finds_what_each_frame_alone_finds(face_crop: np.ndarray):
    detector = UltraFaceDetector(UltraFaceConfig(batch_frames=2))
    frames = [
        face_frame(face_crop, at=(240, 150)),
        grey(320, 240),
        face_frame(face_crop, 800, 600, at=(600, 400)),
        face_frame(face_crop, 400, 280, at=(10, 10)),
        grey(64, 48),
    ]
    batched = detector.detect_batch(frames)  # three network calls: 2 + 2 + 1 frames
    assert batched == [detector.detect(frame) for frame in frames]
    assert [len(faces) > 0 for faces in batched] == [True, False, True, True, False]


class _FlakyDetector:
    """A detector whose batch call fails and whose single call fails on one frame only."""

    def __init__(self, real: UltraFaceDetector, poison_width: int) -> None:
        self.real = real
        self.poison_width = poison_width

    def detect(self, image: np.ndarray) -> list[object]:
        if image.shape[1] == self.poison_width:
            raise RuntimeError("kernel failure")
        return self.real.detect(image)

    def detect_batch(self, images: list[np.ndarray]) -> list[object]:
        raise RuntimeError("batch kernel failure")


def test_a_failed_detector_batch_costs_only_the_frame_that_fails_alone(engine: MaskEngine, face_crop):
    flaky = MaskEngine(
        _FlakyDetector(UltraFaceDetector(UltraFaceConfig()), poison_width=333),
        engine.classifier,
        engine.max_pixels,
        engine.min_face_score,
        engine.crop_margin,
        engine.fusion,
    )
    results = flaky.analyze_batch([encode(face_frame(face_crop)), encode(grey(333, 200)), b""])
    assert isinstance(results[0], FrameResult)
    assert [f.label for f in results[0].faces if f.score >= 0.5] == ["no_mask"]
    assert isinstance(results[1], FrameError)
    assert results[1].code == "internal"
    assert isinstance(results[2], FrameError)
    assert results[2].code == "empty"


def test_a_gpu_detector_needs_fp32_and_an_onnxruntime_with_cuda():
    with pytest.raises(ValueError, match="fp32"):
        UltraFaceConfig(device="cuda", precision="int8")
    assert UltraFaceConfig(device="cuda").precision == "fp32"  # told nothing, a GPU gets what it needs
    with pytest.raises(ValueError, match="device"):
        UltraFaceConfig(device="tpu", precision="fp32")
    config = UltraFaceConfig(device="cuda:1", precision="fp32")
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA; the refusal is for builds without it")
    with pytest.raises(RuntimeError, match="onnxruntime-gpu"):
        UltraFaceDetector(config)


def test_the_quantize_command_writes_both_copies_from_a_data_folder(tmp_path: Path, face_crop: np.ndarray):
    pytest.importorskip("onnx")
    from typer.testing import CliRunner

    from stack.cli import app

    voc_scene_set(tmp_path / "data", face_crop, 6)
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(DEFAULT_ULTRAFACE_PATH, models / "detector.onnx")
    shutil.copy(DEFAULT_CLASSIFIER_PATH, models / "classifier.onnx")
    shutil.copy(DEFAULT_CLASSIFIER_PATH.with_suffix(".json"), models / "classifier.json")
    args = ["quantize", "--data-dir", str(tmp_path / "data"), "--scenes", "3"]
    args += ["--model", str(models / "classifier.onnx"), "--detector-model", str(models / "detector.onnx")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (models / "detector.int8.onnx").is_file()
    assert (models / "classifier.int8.onnx").is_file()

    missing = CliRunner().invoke(app, ["quantize", "--data-dir", str(tmp_path / "nowhere")])
    assert missing.exit_code != 0
    assert "scenes/dev" in missing.output


class _ShortDetector(_FlakyDetector):
    """A batch call that loses a frame's answer: treated as a failed batch, not trusted."""

    def detect_batch(self, images: list[np.ndarray]) -> list[object]:
        return [self.real.detect(image) for image in images][:-1]


def test_a_batch_answer_of_the_wrong_length_is_retried_frame_by_frame(engine: MaskEngine, face_crop):
    short = MaskEngine(
        _ShortDetector(UltraFaceDetector(UltraFaceConfig()), poison_width=-1),
        engine.classifier,
        engine.max_pixels,
        engine.min_face_score,
        engine.crop_margin,
        engine.fusion,
    )
    results = short.analyze_batch([encode(face_frame(face_crop)), encode(face_frame(face_crop))])
    assert [len([f for f in r.faces if f.score >= 0.5]) for r in results if isinstance(r, FrameResult)] == [
        1,
        1,
    ]
