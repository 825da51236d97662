"""A service that fails is never left dead behind a running process: a one-service process ends (for its
supervisor to restart), and the all-in-one embedded setup restarts it in place."""

from __future__ import annotations

import asyncio

import pytest

from stack import in_process
from stack.in_process import Stack
from stack.service_table import ServiceContext, ServiceSpec
from stack.settings import DatabaseSettings, QueueSettings, Settings

pytestmark = pytest.mark.timeout(30)


class Flaky:
    """A service that becomes ready, then fails its first `failures` runs."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.runs = 0

    async def run(self, ctx: ServiceContext) -> None:
        self.runs += 1
        ctx.ready.set()
        if self.runs <= self.failures:
            await asyncio.sleep(0.01)
            raise ConnectionRefusedError("the database went away for good")
        await ctx.stop.wait()


@pytest.fixture
def flaky(monkeypatch) -> Flaky:
    service = Flaky(failures=2)
    spec = ServiceSpec("flaky", service.run, "fails, then works", False)
    monkeypatch.setattr(in_process, "service", lambda name: spec)
    monkeypatch.setattr(in_process, "RESTART_START_S", 0.01)
    return service


def settings(tmp_path) -> Settings:
    base = Settings(
        queue=QueueSettings(url="memory://"), database=DatabaseSettings(url=f"sqlite:///{tmp_path}/db.sqlite")
    )
    return base.model_copy(update={"mqtt": base.mqtt.model_copy(update={"embedded": False})})


async def test_a_failed_service_ends_the_wait_so_its_process_exits(flaky, tmp_path):
    stack = Stack(
        settings(tmp_path).model_copy(
            update={"mqtt": settings(tmp_path).mqtt.model_copy(update={"embedded": False})}
        ),
        services=("flaky",),
    )
    await stack.start(timeout=10)
    failed = await asyncio.wait_for(stack.wait(), 10)
    await stack.close()
    assert failed == ["flaky"]
    assert flaky.runs == 1


async def test_the_embedded_setup_restarts_a_failed_service_in_place(flaky, tmp_path):
    stack = Stack(settings(tmp_path), services=("flaky",), restart=True)
    await stack.start(timeout=10)
    for _ in range(200):
        if flaky.runs >= 3:
            break
        await asyncio.sleep(0.01)
    waiting = asyncio.create_task(stack.wait())
    await asyncio.sleep(0.1)
    assert not waiting.done()  # restarted, running: nothing for a supervisor to do
    stack.stop.set()
    assert await asyncio.wait_for(waiting, 5) == []
    await stack.close()
    assert flaky.runs == 3


async def test_health_says_live_and_ready_and_then_that_a_service_failed(monkeypatch, tmp_path):
    import httpx

    from tests.ports import free_port

    release = asyncio.Event()

    async def fails_when_released(ctx: ServiceContext) -> None:
        ctx.ready.set()
        await release.wait()
        raise ConnectionRefusedError("gone for good")

    spec = ServiceSpec("flaky", fails_when_released, "fails on cue", False)
    monkeypatch.setattr(in_process, "service", lambda name: spec)
    port = free_port()
    stack = Stack(settings(tmp_path).model_copy(update={"metrics_port": port}), services=("flaky",))
    await stack.start(timeout=10)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/readyz")).status_code == 200
            metrics = await http.get("/metrics")
            assert "maskwatch_" in metrics.text
            release.set()
            await asyncio.wait_for(stack.wait(), 5)
            assert (await http.get("/healthz")).status_code == 503
            assert (await http.get("/readyz")).status_code == 503
            assert (await http.get("/nowhere")).status_code == 404
            assert (await http.post("/healthz")).status_code == 405
    finally:
        await stack.close()


def test_up_starts_each_inference_worker_under_its_own_name_and_metrics_port(tmp_path):
    from stack.launcher import _child_env, _processes

    base = settings(tmp_path).model_copy(update={"inference_workers": 3, "metrics_port": 9300})
    children = _processes(base)
    workers = [(label, extra) for label, name, extra in children if name == "inference"]
    assert [label for label, _ in workers] == ["inference-1", "inference-2", "inference-3"]
    instances = {extra["MASKWATCH_WORKER__INSTANCE"] for _, extra in workers}
    assert len(instances) == 3
    ports = {_child_env(base, i, extra)["MASKWATCH_METRICS_PORT"] for i, (_, _, extra) in enumerate(children)}
    assert len(ports) == len(children)
    one = settings(tmp_path).model_copy(update={"inference_workers": 1})
    assert [name for _, name, _ in _processes(one)].count("inference") == 1


def test_up_starts_one_worker_per_core_on_the_cpu_and_one_on_a_gpu(tmp_path):
    import os

    from services.inference.model.config import ModelConfig, UltraFaceConfig
    from stack.launcher import inference_workers

    assert inference_workers(settings(tmp_path)) == len(os.sched_getaffinity(0))
    gpu = ModelConfig(detector=UltraFaceConfig(device="cuda", precision="fp32"))
    assert inference_workers(settings(tmp_path).model_copy(update={"inference_model": gpu})) == 1
