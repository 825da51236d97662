"""The worker's settings reach every CPU ONNX Runtime session it opens: intra-op threads and spin-wait
(one thread, no spinning by default, so workers scale by process); a GPU detector keeps its own."""

from __future__ import annotations

from typing import Any

import onnxruntime as ort
import pytest

from services.inference.engine import build_engine
from services.inference.model import onnx_session as onnx_session_module
from services.inference.model.config import ModelConfig, UltraFaceConfig
from services.inference.session_tuning import worker_model_config, worker_settings_for
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


def test_a_cpu_worker_takes_few_checks_at_once_and_detects_them_one_by_one() -> None:
    tuned = worker_model_config(ModelConfig(), WorkerSettings())
    assert isinstance(tuned.detector, UltraFaceConfig)
    assert tuned.detector.batch_frames == 1
    assert worker_settings_for(ModelConfig(), WorkerSettings()).batch_size == 4


def test_a_batch_size_that_was_set_is_kept() -> None:
    assert worker_settings_for(ModelConfig(), WorkerSettings(batch_size=16)).batch_size == 16
    assert (
        worker_settings_for(ModelConfig(), WorkerSettings.model_validate({"batch_size": 2})).batch_size == 2
    )


def test_a_gpu_worker_keeps_its_batches() -> None:
    gpu = ModelConfig(detector=UltraFaceConfig(device="cuda", precision="fp32", batch_frames=32))
    assert worker_settings_for(gpu, WorkerSettings()).batch_size == WorkerSettings().batch_size
