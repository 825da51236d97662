"""The worker's ONNX Runtime sessions tuned for scaling by process, from its settings.

On a CPU server the pipeline scales by running one worker process per core: a
worker whose intra-op threads spin between kernels keeps its cores busy while
it waits, so two such workers on two cores slow each other down (measured:
0.83x one worker). One thread without spinning per worker lets N workers share
N cores. On a GPU the batch is where the speed is, and the device's settings
(batch size, threads for the CPU side) are left as configured.

On the CPU, batching buys no speed but costs memory: the model alone ran 52, 46
and 50 frames/s at batches of 1, 4 and 16 frames, holding 174, 259 and 401 MiB
(ONNX Runtime keeps buffers for the largest batch it has seen). So a CPU
worker takes at most 4 checks at a time and its detector runs them one by one:
193 MiB at 4 checks a batch, the same frames/s.
"""

from __future__ import annotations

from services.inference.model.config import ModelConfig, UltraFaceConfig
from services.inference.settings import WorkerSettings

CPU_BATCH_SIZE = 4
"""Most checks a CPU worker takes at once, unless `batch_size` is set."""


def worker_model_config(model: ModelConfig, worker: WorkerSettings) -> ModelConfig:
    """`model` with the worker's intra-op threads and spin-wait on every CPU ONNX Runtime session, and a
    CPU detector running frames one at a time."""
    detector = model.detector
    if isinstance(detector, UltraFaceConfig) and detector.device == "cpu":
        detector = detector.model_copy(
            update={"threads": worker.onnx_threads, "spin_wait": worker.onnx_spin_wait, "batch_frames": 1}
        )
    classifier = model.classifier
    if classifier.device == "cpu":
        classifier = classifier.model_copy(update={"threads": worker.onnx_threads})
    return model.model_copy(update={"detector": detector, "classifier": classifier})


def worker_settings_for(model: ModelConfig, worker: WorkerSettings) -> WorkerSettings:
    """`worker` taking at most `CPU_BATCH_SIZE` checks at once where the whole model runs on the CPU,
    unless its batch size was set; a GPU worker keeps its batches."""
    on_cpu = getattr(model.detector, "device", "cpu") == "cpu" and model.classifier.device == "cpu"
    if not on_cpu or "batch_size" in worker.model_fields_set:
        return worker
    return worker.model_copy(update={"batch_size": min(worker.batch_size, CPU_BATCH_SIZE)})
