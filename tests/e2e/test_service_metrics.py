"""Every service reports to Prometheus: a check through the stack moves each of its metrics."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client import REGISTRY

from devices.gate_agent.client import GateClient
from maskwatch.contracts import TemperatureReading, Verdict
from stack.demo.sample_faces import sample_jpeg
from stack.in_process import Stack
from stack.service_table import GATE_PATH
from tests.ports import free_port

pytestmark = pytest.mark.timeout(120)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_check_moves_every_service_metric(stack_settings, backend):
    if backend != "embedded":
        pytest.skip("the metrics are the same code on either backend")
    settings = stack_settings.model_copy(update={"metrics_port": free_port()})
    streams_prefix = settings.queue.prefix
    before = {
        "accepted": sample("maskwatch_checks_received_total", outcome="accepted"),
        "rejected": sample("maskwatch_checks_received_total", outcome="rejected"),
        "latency": sample("maskwatch_verdict_latency_seconds_count", decision="open"),
        "batches": sample("maskwatch_batch_size_count", service="inference"),
        "detect": sample("maskwatch_model_seconds_count", stage="detect"),
        "rows": sample("maskwatch_stats_rows_written_total", table="checks"),
    }
    stack = Stack(settings, GATE_PATH)
    await stack.start(timeout=60)
    try:
        async with GateClient(settings.mqtt, "metered") as gate:
            answer = await gate.check(sample_jpeg("mask"), TemperatureReading(corrected_c=36.6), timeout=20)
            await gate.send_raw(b"not json", None, timeout=20)
        assert isinstance(answer, Verdict)
        for _ in range(50):  # the stats writer records a moment after the verdict goes out
            if sample("maskwatch_stats_rows_written_total", table="checks") > before["rows"]:
                break
            await asyncio.sleep(0.1)
        async with httpx.AsyncClient() as http:
            exposed = (await http.get(f"http://127.0.0.1:{settings.metrics_port}/metrics")).text
    finally:
        await stack.close()
    assert sample("maskwatch_checks_received_total", outcome="accepted") == before["accepted"] + 1
    assert sample("maskwatch_checks_received_total", outcome="rejected") == before["rejected"] + 1
    assert sample("maskwatch_verdict_latency_seconds_count", decision="open") == before["latency"] + 1
    assert sample("maskwatch_batch_size_count", service="inference") > before["batches"]
    assert sample("maskwatch_model_seconds_count", stage="detect") > before["detect"]
    assert sample("maskwatch_stats_rows_written_total", table="checks") == before["rows"] + 1
    assert f'maskwatch_queue_depth{{stream="{streams_prefix}:checks"}}' in exposed
    assert "maskwatch_verdict_latency_seconds_bucket" in exposed
