"""Open-loop gates over MQTT: checks leave on a fixed schedule whatever the answers do, as people walk up.

A closed loop (send, wait, send) slows down with the server and hides its queueing; here each of N gates
publishes at rate/N checks per second on average (at random or evenly spaced: pipeline/arrivals.py), for
a bounded time and count, and the latency of each check is taken at the gate, from just before its
publish to its answer (a verdict, or a rejection: `too_late` is a shed check). The generator says how
much CPU it used itself.
"""

from __future__ import annotations

import asyncio
import json
import resource
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

from maskwatch.contracts import GateCheck, ReceivedGateCheck, TemperatureReading
from maskwatch.contracts.binary_frame import pack, split_image
from maskwatch.mqtt import MqttSettings, mqtt_client
from maskwatch.topics import Topics
from pipeline.arrivals import Arrivals, send_times


@dataclass
class LoadResult:
    offered_per_s: float
    duration_s: float
    sent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    """Publish to verdict, for checks answered with a verdict."""
    shed: int = 0
    """Answered `too_late`: the server was too busy to answer within the deadline."""
    rejected: int = 0
    """Any other rejection (none expected)."""
    unanswered: int = 0
    cpu_s: float = 0.0
    """The generator's own CPU time."""
    span_s: float = 0.0
    """From the first check sent to the last answer: a backlog answered after the load stopped
    stretches it, so draining one never passes for throughput."""

    @property
    def answered_per_s(self) -> float:
        return len(self.latencies_ms) / max(self.duration_s, self.span_s)

    def percentile(self, p: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def gate_check(jpeg: bytes, gate_id: str) -> GateCheck:
    """What a simulated gate sends now: a new check of `jpeg` with a normal temperature."""
    return GateCheck(
        gate_id=gate_id,
        check_id=uuid4(),
        captured_at=datetime.now(UTC),
        image_jpeg=jpeg,
        temperature=TemperatureReading(corrected_c=36.6),
    )


def queued_check(jpeg: bytes, gate_id: str) -> ReceivedGateCheck:
    """The same check as ingest writes it to the checks stream, received as it was taken."""
    check = gate_check(jpeg, gate_id)
    return ReceivedGateCheck(check=check, received_at=check.captured_at)


class PayloadMaker:
    """Checks as a gate sends them, without re-serialising the image per check: the metadata is
    rendered from a template with a fresh check id and time, then framed with the same JPEG."""

    def __init__(self, jpeg: bytes, *, binary: bool = True) -> None:
        self._jpeg = jpeg
        self._binary = binary

    def check(self, gate_id: str) -> tuple[UUID, bytes]:
        check = gate_check(self._jpeg, gate_id)
        if not self._binary:
            return check.check_id, check.to_json()
        metadata, _ = split_image(check)
        return check.check_id, pack(metadata, self._jpeg)


async def run_gates(
    mqtt: MqttSettings,
    jpeg: bytes,
    *,
    gates: int,
    rate_per_s: float,
    duration_s: float,
    settle_s: float = 3.0,
    binary: bool = True,
    prefix: str = "bench-gate",
    arrivals: Arrivals = "even",
) -> LoadResult:
    """Offer `rate_per_s` checks per second from `gates` gates for `duration_s`, then wait `settle_s`
    for the last answers."""
    topics = Topics(mqtt.topic_root)
    maker = PayloadMaker(jpeg, binary=binary)
    result = LoadResult(offered_per_s=rate_per_s, duration_s=duration_s)
    sent_at: dict[UUID, float] = {}
    schedule = send_times(gates, rate_per_s, duration_s, arrivals)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    async with mqtt_client(mqtt, identifier=f"{prefix}-listener-{uuid4().hex[:6]}") as listener:
        await listener.subscribe(topics.gate_verdict.filter(), qos=1)
        await listener.subscribe(topics.gate_rejected.filter(), qos=1)
        pending = sum(map(len, schedule))

        async def listen() -> None:
            nonlocal pending
            async for message in listener.messages:
                now = time.perf_counter()
                body = json.loads(bytes(message.payload))
                started = sent_at.pop(UUID(body["check_id"]), None) if body.get("check_id") else None
                if started is None:
                    continue
                if topics.gate_verdict.match(str(message.topic)):
                    result.latencies_ms.append((now - started) * 1000)
                    result.span_s = now - first_send
                elif body.get("code") == "too_late":
                    result.shed += 1
                else:
                    result.rejected += 1
                pending -= 1
                if pending == 0:
                    return

        async def gate(index: int, times: list[float]) -> None:
            gate_id = f"{prefix}-{index}"
            topic = topics.gate_check.format(gate_id=gate_id)
            async with mqtt_client(mqtt, identifier=f"{gate_id}-{uuid4().hex[:6]}") as client:
                start = loop.time()  # once connected: the schedule is the gate's own
                for at in times:
                    delay = start + at - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    check_id, payload = maker.check(gate_id)
                    sent_at[check_id] = time.perf_counter()
                    await client.publish(topic, payload, qos=1)
                    result.sent += 1

        loop = asyncio.get_running_loop()
        first_send = time.perf_counter()
        listening = asyncio.create_task(listen())
        await asyncio.gather(*(gate(g, times) for g, times in enumerate(schedule)))
        try:
            await asyncio.wait_for(listening, timeout=settle_s)
        except TimeoutError:
            pass
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    result.unanswered = len(sent_at)
    return result
