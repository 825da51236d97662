"""The worker's ONNX Runtime sessions tuned for scaling by process, from its settings.

On a CPU server the pipeline scales by running one worker process per core: a
worker whose intra-op threads spin between kernels keeps its cores busy while
it waits, so two such workers on two cores slow each other down (measured:
0.83x one worker). One thread without spinning per worker lets N workers share
N cores. On a GPU the batch is where the speed is, and the device's settings
(batch size, threads for the CPU side) are left as configured.
"""

from __future__ import annotations

from services.inference.model.config import ModelConfig, UltraFaceConfig
from services.inference.settings import WorkerSettings


def worker_model_config(model: ModelConfig, worker: WorkerSettings) -> ModelConfig:
    """`model` with the worker's intra-op threads and spin-wait on every CPU ONNX Runtime session."""
    detector = model.detector
    if isinstance(detector, UltraFaceConfig) and detector.device == "cpu":
        detector = detector.model_copy(
            update={"threads": worker.onnx_threads, "spin_wait": worker.onnx_spin_wait}
        )
    classifier = model.classifier
    if classifier.device == "cpu":
        classifier = classifier.model_copy(update={"threads": worker.onnx_threads})
    return model.model_copy(update={"detector": detector, "classifier": classifier})
