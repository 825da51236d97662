"""Fine-tuning the face detector: the torch copy of the graph, anchor targets, the loss, writing back."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

import onnxruntime as ort  # noqa: E402

from services.inference.model.config import (  # noqa: E402
    STOCK_ULTRAFACE_PATH,
    UltraFaceConfig,
    with_stock_weights,
)
from services.inference.model.detectors.ultraface_backend import (  # noqa: E402
    decode_boxes,
    ultraface_priors,
)
from services.inference.model.onnx_torch_graph import (  # noqa: E402
    OnnxConvGraph,
    load_graph,
    write_trained_graph,
)
from tests.inference.conftest import face_frame, voc_scene_set  # noqa: E402
from training.dataset import LabelledBox, Scene, is_holdout  # noqa: E402
from training.detector.targets import anchor_targets, detection_loss  # noqa: E402
from training.detector.train import (  # noqa: E402
    _Image,
    augment,
    train_detector,
)
from training.settings import DetectorTrainSettings  # noqa: E402

SIZE = (160, 120)


def _ort(path: Path, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    scores, locations = session.run(None, {session.get_inputs()[0].name: x})
    return scores, locations


def test_the_torch_graph_computes_what_onnx_runtime_computes():
    x = np.random.default_rng(0).normal(size=(2, 3, SIZE[1], SIZE[0])).astype(np.float32)
    scores, locations = _ort(STOCK_ULTRAFACE_PATH, x)
    with torch.inference_mode():
        logits, offsets = load_graph(STOCK_ULTRAFACE_PATH)(torch.from_numpy(x))
    np.testing.assert_allclose(torch.softmax(logits, dim=2).numpy(), scores, atol=1e-5)
    np.testing.assert_allclose(offsets.numpy(), locations, atol=1e-4)


def test_an_unsupported_operator_is_refused_by_name():
    model = onnx.load(str(STOCK_ULTRAFACE_PATH))
    next(n for n in model.graph.node if n.op_type == "Relu").op_type = "LeakyRelu"
    with pytest.raises(ValueError, match="LeakyRelu"):
        OnnxConvGraph(model)


def test_written_weights_are_what_onnx_runtime_then_runs(tmp_path: Path):
    module = load_graph(STOCK_ULTRAFACE_PATH)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.mul_(0.9)
    out = tmp_path / "changed.onnx"
    write_trained_graph(STOCK_ULTRAFACE_PATH, module, out)
    x = np.random.default_rng(1).normal(size=(1, 3, SIZE[1], SIZE[0])).astype(np.float32)
    with torch.inference_mode():
        logits, offsets = module(torch.from_numpy(x))
    scores, locations = _ort(out, x)
    np.testing.assert_allclose(torch.softmax(logits, dim=2).numpy(), scores, atol=1e-5)
    np.testing.assert_allclose(offsets.numpy(), locations, atol=1e-4)
    assert not np.allclose(scores, _ort(STOCK_ULTRAFACE_PATH, x)[0], atol=1e-3)


def test_targets_decode_back_to_the_face_they_came_from():
    priors = ultraface_priors(*SIZE)
    face = np.array([[0.30, 0.25, 0.55, 0.70]], dtype=np.float32)
    labels, offsets = anchor_targets(face, priors)
    assert labels.sum() >= 1
    decoded = decode_boxes(offsets[labels == 1], priors[labels == 1])
    np.testing.assert_allclose(decoded, np.repeat(face, len(decoded), axis=0), atol=1e-5)


def test_every_face_claims_an_anchor_even_when_none_overlaps_well():
    priors = ultraface_priors(*SIZE)
    sliver = np.array([[0.50, 0.10, 0.51, 0.90]], dtype=np.float32)
    labels, _ = anchor_targets(sliver, priors)
    assert labels.sum() == 1


def test_an_image_without_faces_has_only_background_anchors():
    labels, _ = anchor_targets(np.zeros((0, 4), dtype=np.float32), ultraface_priors(*SIZE))
    assert labels.sum() == 0


def test_the_loss_counts_three_negatives_per_positive():
    labels = torch.zeros(1, 100, dtype=torch.int64)
    labels[0, :2] = 1
    logits = torch.zeros(1, 100, 2)
    logits[0, 2:10, 1] = 5.0  # eight confident false faces; only the six hardest count
    offsets = torch.zeros(1, 100, 4)
    classification, boxes = detection_loss(logits, offsets, labels, offsets)
    per_anchor = torch.nn.functional.cross_entropy(logits[0], labels[0], reduction="none")
    expected = (per_anchor[:2].sum() + per_anchor[2:8].sum()) / 2
    assert float(classification) == pytest.approx(float(expected), rel=1e-5)
    assert float(boxes) == 0.0


def test_augmented_faces_stay_on_the_same_pixels():
    image = np.zeros((200, 300, 3), dtype=np.uint8)
    image[50:100, 60:120] = 255
    source = _Image(image, np.array([[60, 50, 120, 100]], dtype=np.float32))
    rng = random.Random(3)
    for _ in range(20):
        out = augment(source, rng, min_crop=0.6)
        for x1, y1, x2, y2 in out.faces.round().astype(int):
            patch = out.pixels[y1:y2, x1:x2]
            assert patch.size > 0
            assert patch.mean() > out.pixels.mean()


def test_fine_tuning_lowers_the_loss_on_what_it_trains(tmp_path: Path, face_crop: np.ndarray):
    frame = face_frame(face_crop, width=320, height=240, at=(100, 60))
    image_path = tmp_path / "scene.jpg"
    cv2.imwrite(str(image_path), frame)
    h, w = face_crop.shape[:2]
    scene = Scene(image_path, (LabelledBox("no_mask", 100, 60, 100 + w, 60 + h),))
    settings = DetectorTrainSettings(epochs=3, batch_size=1, learning_rate=1e-3, input_size=SIZE)
    result = train_detector(load_graph(STOCK_ULTRAFACE_PATH), [scene], [scene], settings)
    losses = [entry["held_out_loss"] for entry in result.history]
    assert len(losses) == 4
    assert losses[-1] < losses[0]


def test_the_train_detector_command_writes_a_servable_graph(tmp_path: Path, face_crop: np.ndarray):
    import json

    from typer.testing import CliRunner

    from services.inference.model.detectors.ultraface_backend import UltraFaceDetector
    from stack.cli import app
    from training.average_precision import box_iou

    voc_scene_set(tmp_path / "data", face_crop, 6)
    crops = tmp_path / "data" / "crops" / "train" / "with_mask"
    crops.mkdir(parents=True)
    names = [f"{i}.jpg" for i in range(40) if not is_holdout(f"with_mask/{i}.jpg")][:3]
    for name in names:
        cv2.imwrite(str(crops / name), face_crop)
    wall = next(f"wall{i}.jpg" for i in range(40) if not is_holdout(f"with_mask/wall{i}.jpg"))
    cv2.imwrite(str(crops / wall), np.full((120, 120, 3), 90, np.uint8))  # no face: not used
    out = tmp_path / "models" / "detector.onnx"
    args = ["train-detector", "--data-dir", str(tmp_path / "data"), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--epochs", "1", "--batch-size", "2", "--fold", "1"])
    assert result.exit_code == 0, result.output
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["base"]["file"] == STOCK_ULTRAFACE_PATH.name
    assert record["data"]["fold"] == 1
    assert record["data"]["gate_crops"].startswith("crops/train training split: 3 boxed")
    assert "1 left out" in record["data"]["gate_crops"]
    assert [entry["epoch"] for entry in record["history"]] == [0, 1]
    frame = face_frame(face_crop)
    # The face the stock weights are surest of (weak candidates near the frame's edge may come too).
    stock = max(
        UltraFaceDetector(with_stock_weights(UltraFaceConfig(precision="fp32"))).detect(frame),
        key=lambda box: box.score,
    )
    found = UltraFaceDetector(UltraFaceConfig(model_path=out, precision="int8")).detect(frame)
    assert any(
        box_iou((f.x1, f.y1, f.x2, f.y2), (stock.x1, stock.y1, stock.x2, stock.y2)) > 0.5 for f in found
    )

    scenes = tmp_path / "data" / "scenes" / "dev"
    evaluate = ["evaluate", str(scenes), "--data-dir", str(tmp_path / "data"), "--split", "all"]
    evaluated = CliRunner().invoke(app, [*evaluate, "--detector-model", str(out)])
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.stdout)
    assert report["scenes:dev"]["images"] == 6
    assert "detector" not in report.get("trained_on_these_scenes", [])

    final = tmp_path / "models" / "final.onnx"
    result = CliRunner().invoke(
        app, [*args[:3], "--out", str(final), "--epochs", "1", "--batch-size", "2", "--all-scenes"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(final.with_suffix(".json").read_text())
    assert record["data"]["fold"] is None
    assert "held_out_loss" in record["history"][-1]
    assert record["history"][-1]["held_out_loss"] is None
    evaluated = CliRunner().invoke(app, [*evaluate, "--detector-model", str(final)])
    assert evaluated.exit_code == 0, evaluated.output
    assert "detector" in json.loads(evaluated.stdout)["trained_on_these_scenes"]

    same = CliRunner().invoke(app, [*args[:3], "--out", str(STOCK_ULTRAFACE_PATH)])
    assert same.exit_code != 0
    assert "--base" in same.output
    missing = CliRunner().invoke(app, ["train-detector", "--data-dir", str(tmp_path / "nowhere")])
    assert missing.exit_code != 0
    assert "scenes/dev" in missing.output


def test_the_served_detector_is_the_stock_graph_with_new_weights():
    import hashlib
    import json

    from services.inference.model.config import DEFAULT_ULTRAFACE_PATH, training_record_path

    record = json.loads(training_record_path(DEFAULT_ULTRAFACE_PATH).read_text())
    assert record["base"]["sha256"] == hashlib.sha256(STOCK_ULTRAFACE_PATH.read_bytes()).hexdigest()
    stock, tuned = onnx.load(str(STOCK_ULTRAFACE_PATH)), onnx.load(str(DEFAULT_ULTRAFACE_PATH))
    assert [n.op_type for n in tuned.graph.node] == [n.op_type for n in stock.graph.node]
    assert [i.name for i in tuned.graph.initializer] == [i.name for i in stock.graph.initializer]
    pairs = zip(tuned.graph.initializer, stock.graph.initializer, strict=True)
    assert any(a.raw_data != b.raw_data for a, b in pairs)
