"""The GPU configuration of deploy/compose.gpu.yaml, run on a CUDA device (skipped where there is none).

fp16 changes the numbers a little, never the verdicts: each frame of a mixed batch must come back with the
faces and labels the CPU engine gives, and bad frames with the same per-frame errors.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

from services.inference.engine import MaskEngine, build_engine  # noqa: E402
from services.inference.model.config import (  # noqa: E402
    ClassifierConfig,
    ModelConfig,
    UltraFaceConfig,
)
from services.inference.model.interface import Face, FrameError, FrameResult  # noqa: E402

from .conftest import encode, face_frame, grey  # noqa: E402


def gpu_model_config() -> ModelConfig:
    """What deploy/compose.gpu.yaml sets (tests/deploy/test_compose.py checks the overlay says this)."""
    return ModelConfig(
        detector=UltraFaceConfig(
            runtime="torch", device="cuda", precision="fp32", half=True, batch_frames=32
        ),
        classifier=ClassifierConfig(runtime="torch", device="cuda", half=True),
        frame_threads=8,
    )


@pytest.fixture(scope="module")
def gpu_engine() -> MaskEngine:
    return build_engine(gpu_model_config())


@pytest.fixture(scope="module")
def fp32_engine() -> MaskEngine:
    """The CPU engine on the fp32 graphs that the GPU runs (the CPU default is their int8 copies)."""
    return build_engine(
        ModelConfig(detector=UltraFaceConfig(precision="fp32"), classifier=ClassifierConfig(precision="fp32"))
    )


def _iou(a: Face, b: Face) -> float:
    ax1, ay1, ax2, ay2 = a.box.x1, a.box.y1, a.box.x2, a.box.y2
    bx1, by1, bx2, by2 = b.box.x1, b.box.y1, b.box.x2, b.box.y2
    inter = max(0, min(ax2, bx2) - max(ax1, bx1)) * max(0, min(ay2, by2) - max(ay1, by1))
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union


def _batch(face: np.ndarray) -> list[bytes]:
    """40 frames (more than one network batch): the face at many places and sizes, and bad bytes."""
    frames: list[bytes] = []
    for i in range(36):
        scale = 0.6 + 0.1 * (i % 8)
        sized = cv2.resize(face, (round(face.shape[1] * scale), round(face.shape[0] * scale)))
        frames.append(encode(face_frame(sized, at=(20 + 13 * i, 10 + 7 * i))))
    good = frames[0]
    frames += [b"", good[: len(good) // 3], b"not an image", encode(grey(640, 480))]
    return frames


def test_the_gpu_engine_gives_the_cpu_engines_verdicts_on_a_mixed_batch(
    gpu_engine: MaskEngine, fp32_engine: MaskEngine, face_crop: np.ndarray
):
    frames = _batch(face_crop)
    on_gpu = gpu_engine.analyze_batch(frames)
    on_cpu = fp32_engine.analyze_batch(frames)
    assert len(on_gpu) == len(frames)
    confident = 0
    for gpu, cpu in zip(on_gpu, on_cpu, strict=True):
        if isinstance(cpu, FrameError):
            assert isinstance(gpu, FrameError)
            assert gpu.code == cpu.code
            continue
        assert isinstance(gpu, FrameResult)
        want = [f for f in cpu.faces if f.score >= 0.5]
        got = [f for f in gpu.faces if f.score >= 0.5]
        assert [f.label for f in got] == [f.label for f in want]
        assert all(_iou(a, b) > 0.9 for a, b in zip(got, want, strict=True))
        confident += len(got)
    assert confident >= 30


def test_replayed_graphs_give_what_launching_kernels_one_by_one_gives(
    gpu_engine: MaskEngine, face_crop: np.ndarray
):
    config = gpu_model_config()
    eager = build_engine(
        config.model_copy(
            update={
                "detector": config.detector.model_copy(update={"cuda_graphs": False}),
                "classifier": config.classifier.model_copy(update={"cuda_graphs": False}),
            }
        )
    )
    frames = _batch(face_crop)
    # Batch sizes 40 (a full 32-frame graph plus an 8-frame one), 3 (padded to 4) and 1.
    for batch in (frames, frames[5:8], frames[:1]):
        for graphed, launched in zip(
            gpu_engine.analyze_batch(batch), eager.analyze_batch(batch), strict=True
        ):
            if isinstance(launched, FrameError):
                assert graphed == launched
                continue
            assert isinstance(graphed, FrameResult)
            assert [f.label for f in graphed.faces] == [f.label for f in launched.faces]
            for a, b in zip(graphed.faces, launched.faces, strict=True):
                assert _iou(a, b) > 0.98
                assert a.score == pytest.approx(b.score, abs=0.01)


def test_a_batch_larger_than_the_largest_graph_runs_in_chunks():
    from services.inference.model.cuda_graph import GraphedForward

    conv = torch.nn.Conv2d(3, 4, 3).cuda().eval()

    def forward(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (conv(x).mean(dim=(2, 3)),)

    x = torch.randn(11, 3, 16, 16, device="cuda")
    with torch.inference_mode():
        (graphed,) = GraphedForward(forward, largest=4)(x)
        (launched,) = forward(x)
    assert graphed.shape == (11, 4)
    torch.testing.assert_close(graphed, launched)


def test_the_gpu_detector_and_classifier_run_in_fp16_on_the_device(gpu_engine: MaskEngine):
    network = gpu_engine.detector._network  # type: ignore[attr-defined]
    assert next(network._graph.parameters()).dtype == torch.float16
    assert next(network._graph.parameters()).device.type == "cuda"
    model = gpu_engine.classifier._model  # type: ignore[attr-defined]
    assert next(model.parameters()).dtype == torch.float16
