"""Indoor cameras on one inference worker: how many it keeps up with, and what they cost a gate check.

    python bench/bench_cameras.py            # embedded stand-ins (amqtt, in-process queue, SQLite)
    python bench/bench_cameras.py --real     # Mosquitto :1883, Redis :6379, PostgreSQL :5432

1. Capacity: cameras flood the worker with 640x480 frames (two faces each) for a while; the frames it
   analysed per second, divided by 2 and by 5, is how many cameras at 2 and at 5 fps it keeps up with.
2. Gate latency: sequential gate checks with the worker idle, then with cameras offering about 80% of
   that capacity at 2 fps. Gate checks are read before camera frames; the ratio is what cameras cost.

Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time

from bench_gate_path import percentile, settings_for

from devices.camera_agent.client import CameraClient
from devices.gate_agent.client import GateClient
from maskwatch import metrics
from maskwatch.contracts import TemperatureReading, Verdict
from maskwatch.mqtt import MqttSettings
from stack.demo.indoor_scene import Actor, jpeg_frames, portrait_face
from stack.demo.sample_faces import sample_jpeg
from stack.in_process import Stack
from stack.service_table import GATE_PATH


def analysed() -> float:
    """Camera frames analysed so far in this process, over every camera."""
    total = 0.0
    for family in metrics.CAMERA_FRAMES.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("outcome") == "analysed":
                total += sample.value
    return total


def room_frames(count: int) -> list[bytes]:
    faces = {"mask": portrait_face("mask"), "no_mask": portrait_face("no_mask")}
    actors = [
        Actor(faces, lambda t: (200 + 10 * t, 220), unmasked=[(0.0, 99.0)]),
        Actor(faces, lambda t: (470, 230 - 5 * t)),
    ]
    return [jpeg for _, jpeg in jpeg_frames(actors, count / 5.0, 5.0)]


async def run_cameras(
    mqtt: MqttSettings, count: int, fps: float, frames: list[bytes], stop: asyncio.Event
) -> None:
    async def one(index: int) -> None:
        async with CameraClient(mqtt, f"bench-cam-{index}") as camera:
            loop = asyncio.get_running_loop()
            start = loop.time() + index / (count * fps)  # spread the cameras over the frame interval
            n = 0
            while not stop.is_set():
                delay = start + n / fps - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                camera.offer_nowait(frames[n % len(frames)])
                n += 1

    await asyncio.gather(*(one(i) for i in range(count)))


async def gate_latency(mqtt: MqttSettings, checks: int) -> list[float]:
    image, reading = sample_jpeg("mask"), TemperatureReading(corrected_c=36.6)
    latencies = []
    async with GateClient(mqtt, "bench-gate") as gate:
        await gate.check(image, reading, timeout=30)
        for _ in range(checks):
            start = time.perf_counter()
            answer = await gate.check(image, reading, timeout=30)
            latencies.append((time.perf_counter() - start) * 1000)
            assert isinstance(answer, Verdict)
            await asyncio.sleep(0.05)
    return latencies


async def bench(real: bool, flood_s: float, checks: int, mqtt_port: int) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        settings = settings_for(real, workdir, mqtt_port)
        settings = settings.model_copy(
            update={"ingest": settings.ingest.model_copy(update={"http_port": None})}
        )
        stack = Stack(settings, (*GATE_PATH, "monitoring"))
        await stack.start(timeout=120)
        frames = room_frames(40)
        try:
            idle = await gate_latency(settings.mqtt, checks)

            stop = asyncio.Event()
            flood = asyncio.create_task(run_cameras(settings.mqtt, 12, 10.0, frames, stop))
            await asyncio.sleep(2.0)  # connected and flowing
            before, started = analysed(), time.perf_counter()
            await asyncio.sleep(flood_s)
            capacity = (analysed() - before) / (time.perf_counter() - started)
            stop.set()
            await flood
            await asyncio.sleep(2.0)  # the backlog drains (stale frames are dropped)

            busy_cameras = max(1, int(0.8 * capacity / 2.0))
            stop = asyncio.Event()
            load = asyncio.create_task(run_cameras(settings.mqtt, busy_cameras, 2.0, frames, stop))
            await asyncio.sleep(2.0)
            before, started = analysed(), time.perf_counter()
            loaded = await gate_latency(settings.mqtt, checks)
            served = (analysed() - before) / (time.perf_counter() - started)
            stop.set()
            await load
        finally:
            await stack.close()
    label = "real Mosquitto/Redis/PostgreSQL" if real else "embedded amqtt/in-process queue/SQLite"
    print(f"indoor cameras on one inference worker ({label}), 640x480 frames with two faces")
    print(
        f"  capacity: {capacity:.1f} frames/s analysed -> {int(capacity / 2)} cameras at 2 fps, "
        f"{int(capacity / 5)} at 5 fps"
    )
    idle_median, loaded_median = statistics.median(idle), statistics.median(loaded)
    print(
        f"  gate check, worker idle: median {idle_median:.1f} ms, p95 {percentile(idle, 0.95):.1f} ms "
        f"({checks} checks)"
    )
    print(
        f"  gate check, {busy_cameras} cameras at 2 fps ({served:.1f} frames/s analysed meanwhile): "
        f"median {loaded_median:.1f} ms, p95 {percentile(loaded, 0.95):.1f} ms, "
        f"{loaded_median / idle_median:.2f}x the idle median"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--real", action="store_true")
    parser.add_argument("--mqtt-port", type=int, default=1883, help="with --real: the Mosquitto port")
    parser.add_argument("--flood-s", type=float, default=10.0)
    parser.add_argument("--checks", type=int, default=40)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(bench(args.real, args.flood_s, args.checks, args.mqtt_port))


if __name__ == "__main__":
    main()
