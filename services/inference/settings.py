"""The inference worker's settings (`MASKWATCH_WORKER__*`)."""

from __future__ import annotations

from pydantic import Field

from maskwatch.consumer import ConsumerSettings


class WorkerSettings(ConsumerSettings):
    frame_batch_size: int = Field(default=4, ge=1, le=1024)
    """Most camera frames in one batch. A gate check arriving meanwhile waits for the batch in the model:
    on a CPU, where batching adds no throughput, keep it small; on a GPU raise it."""
    frame_max_age_s: float = Field(default=3.0, gt=0, le=600)
    """A camera frame that waited longer than this is dropped and counted, not analysed: a newer one is
    already behind it. Gate checks are never dropped."""
