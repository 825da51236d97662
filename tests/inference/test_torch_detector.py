"""The detector's torch runtime (the GPU path) computes what ONNX Runtime computes, checked on the CPU.

The same checks run on a CUDA device in test_gpu_path.py when one is present.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from services.inference.model.config import (  # noqa: E402
    DEFAULT_ULTRAFACE_PATH,
    UltraFaceConfig,
    with_stock_weights,
)
from services.inference.model.cuda_graph import padded_size  # noqa: E402
from services.inference.model.detectors.ultraface_backend import UltraFaceDetector  # noqa: E402
from services.inference.model.interface import FaceBox  # noqa: E402
from services.inference.model.onnx_torch_graph import load_graph  # noqa: E402

from .conftest import face_frame  # noqa: E402


def _count(graph: object, op_type: str) -> int:
    return sum(1 for node in graph._nodes if node[0] == op_type)  # type: ignore[attr-defined]


def test_folding_the_batch_norms_removes_them_and_keeps_the_outputs():
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(2, 3, 120, 160)).astype(np.float32))
    graph = load_graph(DEFAULT_ULTRAFACE_PATH).eval()
    assert _count(graph, "BatchNormalization") == 35
    with torch.inference_mode():
        logits, offsets = graph(x)
        graph.fold_batch_norms()
        folded_logits, folded_offsets = graph(x)
    assert _count(graph, "BatchNormalization") == 0
    assert _count(graph, "Conv") == 52
    np.testing.assert_allclose(folded_logits.numpy(), logits.numpy(), atol=1e-4)
    np.testing.assert_allclose(folded_offsets.numpy(), offsets.numpy(), atol=1e-4)


def _corners(box: FaceBox) -> tuple[int, int, int, int]:
    return (box.x1, box.y1, box.x2, box.y2)


def _frames(face: np.ndarray) -> list[np.ndarray]:
    """Frames of three sizes, the face at several places and scales, and one frame with no face."""
    small = cv2.resize(face, (face.shape[1] // 2, face.shape[0] // 2))
    return [
        face_frame(face),
        face_frame(face, at=(20, 30)),
        face_frame(small, width=320, height=240, at=(100, 60)),
        face_frame(face, width=1280, height=720, at=(900, 400)),
        np.full((480, 640, 3), 90, np.uint8),
    ]


@pytest.mark.parametrize("stock", [False, True], ids=["fine-tuned", "stock"])
def test_the_torch_runtime_finds_the_faces_onnx_runtime_finds(face_crop: np.ndarray, stock: bool):
    onnx_config = UltraFaceConfig(precision="fp32", batch_frames=2)
    if stock:
        onnx_config = with_stock_weights(onnx_config)
    torch_config = onnx_config.model_copy(update={"runtime": "torch"})
    frames = _frames(face_crop)
    expected = UltraFaceDetector(onnx_config).detect_batch(frames)
    found = UltraFaceDetector(torch_config).detect_batch(frames)
    assert sum(len(faces) for faces in expected) >= 4
    for want, got in zip(expected, found, strict=True):
        assert len(got) == len(want)
        for a, b in zip(sorted(want, key=_corners), sorted(got, key=_corners), strict=True):
            assert abs(a.score - b.score) < 1e-3
            assert max(abs(p - q) for p, q in zip(_corners(a), _corners(b), strict=True)) <= 1


def test_the_torch_runtime_is_configured_explicitly():
    with pytest.raises(ValueError, match="fp32"):
        UltraFaceConfig(runtime="torch", precision="int8")
    assert UltraFaceConfig(runtime="torch").precision == "fp32"
    with pytest.raises(ValueError, match="runtime 'torch'"):
        UltraFaceConfig(precision="fp32", half=True)
    config = UltraFaceConfig(runtime="torch", precision="fp32", device="cuda", half=True)
    assert (config.runtime, config.device, config.half) == ("torch", "cuda", True)


def test_batches_are_padded_to_a_power_of_two_up_to_the_largest_graph():
    assert [padded_size(n, 32) for n in (1, 2, 3, 5, 8, 9, 31, 32)] == [1, 2, 4, 8, 8, 16, 32, 32]
    assert padded_size(100, 32) == 32  # larger batches run in chunks of the largest
