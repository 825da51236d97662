"""The inference worker's settings (`MASKWATCH_WORKER__*`)."""

from __future__ import annotations

from pydantic import Field

from maskwatch.consumer import ConsumerSettings


class WorkerSettings(ConsumerSettings):
    check_readers: int = Field(default=2, ge=1, le=8)
    """Consumers reading gate checks in this worker, sharing its one engine: with two, the next batch is
    read and decoded while the model runs on the current one. One reads, decodes and runs in turn."""
    frame_batch_size: int = Field(default=4, ge=1, le=1024)
    """Most camera frames analysed together (on a GPU, raise it with batch_size)."""
    frames_on_own_engine: bool = True
    """Analyse camera frames on a second engine in a lowest-priority thread (about 50 MB more memory), so
    a gate check preempts them; off, frames share the checks' engine at normal priority."""
    frame_nice: int = Field(default=19, ge=0, le=19)
    """The nice value of the frames' thread (19: the lowest priority)."""
    check_deadline_s: float = Field(default=2.0, gt=0, le=600)
    """A gate check whose verdict could not reach the gate within this long of its arrival is answered
    at once with "try again" (a `too_late` rejection), never analysed: a verdict after the person
    walked away is worth nothing, and under overload answering the oldest first would make every check
    late. Judged when a worker reads the check (what it waited plus what the worker's recent batches
    took) and again once the model is free for it (what it waited by then plus the model's time for
    the batch and the verdict's way to the gate). Offline records (the gate already decided) are
    always analysed."""
    instance: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    """This worker's name among several sharing the checks (`maskwatch up` numbers them); None: the
    host name and process id. Two workers under one name would take each other's pending checks."""
    frame_max_age_s: float = Field(default=3.0, gt=0, le=600)
    """A camera frame that waited longer than this is dropped and counted, not analysed: a newer one is
    already behind it. Gate checks are never dropped."""
    onnx_threads: int = Field(default=1, ge=1, le=256)
    """Intra-op threads of each CPU ONNX Runtime session in this worker. One, with one worker process
    per core (`inference_workers`): threads of several workers fight over the same cores, processes
    do not (bench/bench_pipeline.py measures 1, 2 and 4 workers). A GPU's sessions keep their own."""
    onnx_spin_wait: bool = False
    """Let this worker's ONNX Runtime threads busy-wait between kernels: slightly faster alone on a
    machine, but the spinning takes the core from the next worker and from ingest."""
