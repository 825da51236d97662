"""The model alone, as a worker runs it (one intra-op thread, no spinning): ms per stage and frames/s
for batch sizes 1 to 32, and the bare throughput the pipeline is compared with."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from services.inference.engine import MaskEngine, build_engine
from services.inference.model.config import ModelConfig
from services.inference.model.interface import FrameResult
from services.inference.session_tuning import worker_model_config
from services.inference.settings import WorkerSettings

BATCHES = (1, 2, 4, 8, 16, 32)


@dataclass
class BatchFigures:
    batch: int
    frames_per_s: float
    decode_ms: float
    detect_ms: float
    classify_ms: float


def worker_engine() -> MaskEngine:
    return build_engine(worker_model_config(ModelConfig(), WorkerSettings()))


def bare_frames_per_s(engine: MaskEngine, jpeg: bytes, seconds: float) -> float:
    """One frame at a time in a tight loop, for `seconds` (at least 5 frames)."""
    engine.analyze_batch([jpeg])  # warm
    done, started = 0, time.perf_counter()
    while done < 5 or time.perf_counter() - started < seconds:
        engine.analyze_batch([jpeg])
        done += 1
    return done / (time.perf_counter() - started)


def batch_figures(engine: MaskEngine, jpeg: bytes, seconds: float) -> list[BatchFigures]:
    figures = []
    for batch in BATCHES:
        frames = [jpeg] * batch
        engine.analyze_batch(frames)
        stages: dict[str, list[float]] = {"decode": [], "detect": [], "classify": []}
        done, started = 0, time.perf_counter()
        while done < batch * 2 or time.perf_counter() - started < seconds:
            for r in engine.analyze_batch(frames):
                if isinstance(r, FrameResult):
                    stages["decode"].append(r.decode_ms)
                    stages["detect"].append(r.detect_ms)
                    stages["classify"].append(r.classify_ms)
            done += batch
        rate = done / (time.perf_counter() - started)
        figures.append(
            BatchFigures(
                batch,
                round(rate, 2),
                *(round(statistics.median(stages[s]), 2) if stages[s] else 0.0 for s in stages),
            )
        )
    return figures
