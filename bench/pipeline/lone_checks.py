"""One check at a time on an otherwise idle pipeline: the floor under every latency, and where it goes.

Below saturation a check's latency is this floor plus the queueing the load adds, so the floor is what
a synchronous server has to be compared with at low rates. The split needs nothing but what a gate
sees (the gate, the services and this generator share one clock here, on loopback):

- `to_ingest_ms`: the gate's publish to ingest receiving the check (broker hop in);
- `services_ms`: ingest receiving it to the controller deciding, less the model: ingest's write to
  Redis, the worker's read and its own work beside the model, its write of the analysis, the
  controller's read, claim and policy (`timings.total_ms - model`);
- `model_ms`: decode, detect and classify, as the worker timed them;
- `back_ms`: the controller's decision to the verdict at the gate (broker hop out).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from datetime import datetime
from uuid import uuid4

from maskwatch.mqtt import MqttSettings, mqtt_client
from maskwatch.topics import Topics
from pipeline.gate_load import PayloadMaker
from pipeline.http_load import post

PARTS = ("total_ms", "to_ingest_ms", "services_ms", "model_ms", "back_ms")
ANSWER_WAIT_S = 10.0


def split(sent_s: float, answered_s: float, verdict: dict[str, object]) -> dict[str, float]:
    """A verdict's time cut into `PARTS`, from the gate's send and answer times (epoch seconds)."""
    timings = verdict["timings"]
    assert isinstance(timings, dict)
    model = float(timings["decode_ms"]) + float(timings["detect_ms"]) + float(timings["classify_ms"])
    decided_s = datetime.fromisoformat(str(verdict["decided_at"])).timestamp()
    received_s = decided_s - float(timings["total_ms"]) / 1000
    return {
        "total_ms": (answered_s - sent_s) * 1000,
        "to_ingest_ms": (received_s - sent_s) * 1000,
        "services_ms": float(timings["total_ms"]) - model,
        "model_ms": model,
        "back_ms": (answered_s - decided_s) * 1000,
    }


async def pipeline_lone_checks(
    mqtt: MqttSettings, jpeg: bytes, *, count: int, gap_s: float
) -> list[dict[str, float]]:
    """`count` checks from one gate, each sent `gap_s` after the previous one's verdict."""
    topics = Topics(mqtt.topic_root)
    gate_id = f"bench-lone-{uuid4().hex[:6]}"
    maker = PayloadMaker(jpeg)
    found: list[dict[str, float]] = []
    async with (
        mqtt_client(mqtt, identifier=f"{gate_id}-listener") as listener,
        mqtt_client(mqtt, identifier=gate_id) as gate,
    ):
        await listener.subscribe(topics.gate_verdict.format(gate_id=gate_id), qos=1)
        answers = listener.messages
        for _ in range(count):
            check_id, payload = maker.check(gate_id)
            sent_s = time.time()
            await gate.publish(topics.gate_check.format(gate_id=gate_id), payload, qos=1)
            while True:
                message = await asyncio.wait_for(anext(answers), ANSWER_WAIT_S)
                verdict = json.loads(bytes(message.payload))
                if verdict.get("check_id") == str(check_id):
                    found.append(split(sent_s, time.time(), verdict))
                    break
            await asyncio.sleep(gap_s)
    return found


async def server_lone_checks(host: str, port: int, jpeg: bytes, *, count: int, gap_s: float) -> list[float]:
    """The same for the synchronous server: each request's time to its answer, one at a time."""
    found = []
    for _ in range(count):
        started = time.perf_counter()
        await asyncio.wait_for(post(host, port, "/check", jpeg), ANSWER_WAIT_S)
        found.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(gap_s)
    return found


def medians(checks: list[dict[str, float]]) -> dict[str, float]:
    """Each part's median, and the total's p90 (the parts' medians need not add up to the total's)."""
    if not checks:
        return {}
    parts = {part: round(statistics.median(c[part] for c in checks), 2) for part in PARTS}
    return parts | totals([c["total_ms"] for c in checks])


def totals(latencies_ms: list[float]) -> dict[str, float]:
    """The median and p90 of whole checks, and how many there were."""
    if not latencies_ms:
        return {}
    ordered = sorted(latencies_ms)
    return {
        "total_ms": round(statistics.median(ordered), 2),
        "total_p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 2),
        "checks": len(ordered),
    }
