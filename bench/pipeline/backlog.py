"""Inference workers alone, draining a backlog of gate checks, with the cores free of every other service.

In the end-to-end runs the workers share the machine's cores with ingest, the gate controller, the
database writer, the broker and Redis, so on two cores a second worker can only take what those leave
(about a quarter of the machine at saturation). Here the checks are already in the stream and only the
workers run: the figure is how the worker itself scales by process, beside the ceiling the hardware
sets (the bare model in as many processes, `bare_in_processes`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from redis import Redis

from maskwatch.queue import open_queue
from maskwatch.streams import Streams, append_many

from .gate_load import queued_check
from .model_stages import bare_frames_per_s, worker_engine
from .world import REDIS_URL, World

NO_DEADLINE_S = "600"
"""The workers' check deadline here: the backlog is old on purpose and must be analysed, not refused."""
FILL_CHUNK = 100


async def fill(world: World, jpeg: bytes, count: int) -> None:
    """`count` gate checks in the run's checks stream, as ingest writes them (the backlog)."""
    queue = open_queue(REDIS_URL)
    stream = Streams(world.prefix).checks
    try:
        for start in range(0, count, FILL_CHUNK):
            batch = [
                queued_check(jpeg, f"backlog-{n % 16}") for n in range(start, min(start + FILL_CHUNK, count))
            ]
            await append_many(queue, stream, batch)
    finally:
        await queue.close()


def _analysed(redis: Redis, streams: Streams) -> int:
    """Analyses the workers wrote (nothing reads them here, so none is trimmed)."""
    return int(redis.xlen(streams.analyses.key))


def pin_to_core(pid: int, core: int) -> None:
    """Every thread of process `pid` onto one core; threads it starts later inherit it."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), {core})


def drain_per_s(
    world: World, jpeg: bytes, workers: int, count: int, timeout_s: float, *, a_core_each: bool = False
) -> float:
    """Checks/s that `workers` worker processes analyse from a backlog of `count`, measured from the
    moment the last of them is ready until 90% of the backlog is analysed (start-up is not counted).
    With `a_core_each`, worker n runs on core n alone (its reader and its model on the same core)."""
    streams = Streams(world.prefix)
    redis = Redis.from_url(REDIS_URL)
    try:
        redis.delete(streams.checks.key, streams.analyses.key)
        asyncio.run(fill(world, jpeg, count))
        started = world.start(
            ["inference"], workers=workers, extra_env={"MASKWATCH_WORKER__CHECK_DEADLINE_S": NO_DEADLINE_S}
        )
        if a_core_each:
            cores = sorted(os.sched_getaffinity(0))
            for n, service in enumerate(started):
                pin_to_core(service.pid, cores[n % len(cores)])
        try:
            t0, a0 = time.monotonic(), _analysed(redis, streams)
            t1, a1 = t0, a0
            deadline = t0 + timeout_s
            while a1 < 0.9 * count and time.monotonic() < deadline:
                time.sleep(0.2)
                t1, a1 = time.monotonic(), _analysed(redis, streams)
        finally:
            world.stop(started)
        redis.delete(streams.checks.key, streams.analyses.key)
    finally:
        redis.close()
    if a0 > 0.5 * count:
        raise RuntimeError(f"{a0} of {count} checks were analysed before the workers were all ready")
    return (a1 - a0) / (t1 - t0) if t1 > t0 else 0.0


def _bare_in_process(
    jpeg: bytes, seconds: float, ready: Barrier, results: multiprocessing.Queue[float]
) -> None:
    engine = worker_engine()
    engine.analyze_batch([jpeg])
    ready.wait()
    results.put(bare_frames_per_s(engine, jpeg, seconds))


def bare_in_processes(jpeg: bytes, processes: int, seconds: float) -> float:
    """Frames/s of the bare model (one thread) in `processes` processes at once, summed: what the cores
    allow, and so the most any number of workers could reach."""
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(processes)
    results: multiprocessing.Queue[float] = context.Queue()
    running = [
        context.Process(target=_bare_in_process, args=(jpeg, seconds, ready, results))
        for _ in range(processes)
    ]
    for p in running:
        p.start()
    try:
        total = 0.0
        for _ in running:
            total += _result_of(results, running, timeout_s=seconds + 120)
    finally:
        for p in running:
            p.join(30)
            if p.is_alive():
                p.kill()
    return total


def _result_of(results: multiprocessing.Queue[float], running: list[Any], timeout_s: float) -> float:
    """The next process's figure, failing at once (not after the timeout) when one of them died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            return results.get(timeout=1.0)
        except queue.Empty:
            if dead := [p.exitcode for p in running if p.exitcode not in (None, 0)]:
                raise RuntimeError(f"a bare-model process failed (exit codes {dead})") from None
    raise RuntimeError(f"the bare-model processes gave no figure within {timeout_s:.0f} s")
