"""End-to-end gate path benchmark: a simulated gate's check to its verdict, through every service.

    python bench/bench_gate_path.py            # embedded stand-ins (amqtt, in-process queue, SQLite)
    python bench/bench_gate_path.py --real     # Mosquitto :1883, Redis :6379, PostgreSQL :5432

Prints latency (sequential checks) and throughput (many gates at once). Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
import uuid

from devices.gate_agent.client import GateClient
from maskwatch.contracts import TemperatureReading, Verdict
from maskwatch.mqtt import MqttSettings
from stack.demo.sample_faces import sample_jpeg
from stack.in_process import Stack
from stack.service_table import GATE_PATH
from stack.settings import DatabaseSettings, QueueSettings, Settings


def settings_for(real: bool, workdir: str, mqtt_port: int = 1883) -> Settings:
    run = uuid.uuid4().hex[:8]
    if real:
        return Settings(
            mqtt=MqttSettings(
                port=mqtt_port, embedded=False, topic_root=f"bench/{run}", persistent_sessions=False
            ),
            queue=QueueSettings(url="redis://127.0.0.1:6379/0", prefix=f"bench-{run}"),
            database=DatabaseSettings(url="postgresql://postgres@127.0.0.1:5432/test"),
            allow_unregistered_gates=True,  # simulated gates with made-up ids
        )
    return Settings(
        mqtt=MqttSettings(port=18839, topic_root=f"bench/{run}"),
        database=DatabaseSettings(url=f"sqlite:///{workdir}/bench.db"),
        allow_unregistered_gates=True,
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bench(real: bool, sequential: int, gates: int, per_gate: int, mqtt_port: int = 1883) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        settings = settings_for(real, workdir, mqtt_port)
        stack = Stack(
            settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"http_port": None})}),
            GATE_PATH,
        )
        await stack.start(timeout=120)
        image = sample_jpeg("mask")
        reading = TemperatureReading(corrected_c=36.6)
        try:
            async with GateClient(settings.mqtt, "bench-seq") as gate:
                await gate.check(image, reading, timeout=30)  # warm-up
                latencies, model = [], []
                for _ in range(sequential):
                    start = time.perf_counter()
                    answer = await gate.check(image, reading, timeout=30)
                    latencies.append((time.perf_counter() - start) * 1000)
                    assert isinstance(answer, Verdict)
                    t = answer.timings
                    model.append(t.decode_ms + t.detect_ms + t.classify_ms)
            clients = [GateClient(settings.mqtt, f"bench-{i}") for i in range(gates)]
            for c in clients:
                await c.__aenter__()

            async def run_gate(client: GateClient) -> None:
                for _ in range(per_gate):
                    await client.check(image, reading, timeout=60)

            start = time.perf_counter()
            await asyncio.gather(*(run_gate(c) for c in clients))
            elapsed = time.perf_counter() - start
            for c in clients:
                await c.__aexit__(None, None, None)
        finally:
            await stack.close()
    label = "real Mosquitto/Redis/PostgreSQL" if real else "embedded amqtt/in-process queue/SQLite"
    print(f"gate path ({label}), 512x512 JPEG with one masked face")
    print(
        f"  sequential, {sequential} checks: round trip median {statistics.median(latencies):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f} ms; model time median {statistics.median(model):.1f} ms"
    )
    total = gates * per_gate
    print(f"  {gates} gates at once, {total} checks: {total / elapsed:.1f} checks/s ({elapsed:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--real", action="store_true")
    parser.add_argument("--mqtt-port", type=int, default=1883, help="with --real: the Mosquitto port")
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--gates", type=int, default=16)
    parser.add_argument("--per-gate", type=int, default=10)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(bench(args.real, args.sequential, args.gates, args.per_gate, args.mqtt_port))


if __name__ == "__main__":
    main()
