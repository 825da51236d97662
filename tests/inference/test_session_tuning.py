"""The worker's settings reach every CPU ONNX Runtime session it opens: intra-op threads and spin-wait
(one thread, no spinning by default, so workers scale by process); a GPU detector keeps its own."""

from __future__ import annotations

from typing import Any

import onnxruntime as ort
import pytest

from services.inference.engine import build_engine
from services.inference.model import onnx_session as onnx_session_module
from services.inference.model.config import ModelConfig, UltraFaceConfig
from services.inference.session_tuning import worker_model_config
from services.inference.settings import WorkerSettings


@pytest.fixture
def opened(monkeypatch) -> list[ort.SessionOptions]:
    """The options of every ONNX Runtime session opened meanwhile."""
    seen: list[ort.SessionOptions] = []
    real = ort.InferenceSession

    def recording(path: str, options: ort.SessionOptions, **kwargs: Any) -> ort.InferenceSession:
        seen.append(options)
        return real(path, options, **kwargs)

    monkeypatch.setattr(onnx_session_module.ort, "InferenceSession", recording)
    return seen


def spinning(options: ort.SessionOptions) -> str:
    return options.get_session_config_entry("session.intra_op.allow_spinning")


def test_the_default_worker_opens_one_thread_sessions_that_do_not_spin(opened) -> None:
    build_engine(worker_model_config(ModelConfig(), WorkerSettings()))
    assert len(opened) == 2  # the detector and the classifier
    assert [o.intra_op_num_threads for o in opened] == [1, 1]
    assert [spinning(o) for o in opened] == ["0", "0"]


def test_settings_choose_threads_and_spinning(opened) -> None:
    build_engine(worker_model_config(ModelConfig(), WorkerSettings(onnx_threads=2, onnx_spin_wait=True)))
    classifier, detector = opened  # build_engine opens the classifier first
    assert (detector.intra_op_num_threads, spinning(detector)) == (2, "1")
    assert (classifier.intra_op_num_threads, spinning(classifier)) == (2, "0")  # it follows the detector


def test_a_gpu_detector_keeps_its_threads_and_batching() -> None:
    gpu = ModelConfig(detector=UltraFaceConfig(device="cuda", precision="fp32", threads=4, batch_frames=32))
    tuned = worker_model_config(gpu, WorkerSettings())
    assert tuned.detector == gpu.detector
