"""The operations dashboard reads only metrics the services really export, from the jobs Prometheus scrapes.

`maskwatch up` starts every service as its own process on the real
Mosquitto, Redis and PostgreSQL, each with its own metrics port (base + its
place in the service table), as compose runs one container per service. A
gate check goes through and an alert reaches a webhook; then each process's
/metrics is scraped and every metric of every PromQL expression of the
dashboard must be exported by the job the expression names
(tests/deploy/promql_names.py). deploy/prometheus/prometheus.yml must scrape
exactly compose's services, on their metrics port.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import yaml

from maskwatch.contracts import AlertKind, AlertTransition, Transition
from maskwatch.database.engine import create_engine
from maskwatch.database.notifications import add_recipient
from maskwatch.queue import open_queue
from maskwatch.streams import Streams, append
from stack.demo.sample_faces import sample_image
from stack.service_table import SERVICE_NAMES
from tests.conftest import MOSQUITTO, REDIS_URL, require_service
from tests.deploy.promql_names import Exposition, dashboard_expressions, read_exposition, selectors
from tests.deploy.scratch_database import scratch_database
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/grafana/dashboards/maskwatch-operations.json"
PROMETHEUS_OWN = {"up"}
"""Series Prometheus makes itself for each target: no service exports them."""
TRAFFIC_MOVES = {
    ("maskwatch_checks_received_total", "ingest"),
    ("maskwatch_model_seconds_bucket", "inference"),
    ("maskwatch_batch_size_bucket", "inference"),
    ("maskwatch_verdict_latency_seconds_bucket", "gate-controller"),
    ("maskwatch_verdict_latency_seconds_count", "gate-controller"),
    ("maskwatch_notifications_sent_total", "notifier-worker"),
    ("maskwatch_notification_latency_seconds_bucket", "notifier-worker"),
}
"""What one gate check and one alert must bring to life, in the job the dashboard reads it from: every
process declares every metric of maskwatch/metrics.py, so only samples show which job really counts."""
GPU_METRICS = {"maskwatch_gpu_memory_bytes", "maskwatch_gpu_utilization_ratio"}
STARTUP_S = 240

pytestmark = pytest.mark.timeout(420)


def _yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def _free_block(n: int) -> int:
    """The first of `n` consecutive free ports: `maskwatch up` gives its children base + index."""
    while True:
        base = free_port()
        if base + n >= 65535:
            continue
        try:
            for port in range(base, base + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None


def _answers(url: str) -> bool:
    response = _get(url)
    return response is not None and response.status_code == 200


def _scrape(port: int) -> str:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    response.raise_for_status()
    return response.text


def _wait_until(ready: Any, what: str, up: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if ready():
            return
        if up.poll() is not None:
            pytest.fail(f"maskwatch up exited with {up.returncode} while waiting for {what}")
        time.sleep(0.5)
    pytest.fail(f"{what} did not happen while the stack was starting")


def _stack_env(database: str, base: int) -> dict[str, str]:
    unique = f"prom-{os.getpid()}-{time.monotonic_ns() % 10**8}"
    return os.environ | {
        "PYTHONPATH": str(ROOT),
        "MASKWATCH_MQTT__EMBEDDED": "false",
        "MASKWATCH_MQTT__PORT": str(MOSQUITTO[1]),
        "MASKWATCH_MQTT__TOPIC_ROOT": f"test/{unique}",
        "MASKWATCH_MQTT__PERSISTENT_SESSIONS": "false",
        "MASKWATCH_QUEUE__URL": REDIS_URL,
        "MASKWATCH_QUEUE__PREFIX": f"test-{unique}",
        "MASKWATCH_DATABASE__URL": database,
        "MASKWATCH_INGEST__HTTP_PORT": "null",
        "MASKWATCH_API__PORT": str(free_port()),
        "MASKWATCH_METRICS_PORT": str(base),
        "MASKWATCH_ALLOW_UNREGISTERED_GATES": "true",  # a test bench: a gate with a made-up id
        # One process per service, so each has the metrics port base + its place in the service table.
        "MASKWATCH_INFERENCE_WORKERS": "1",
    }


def _send_a_check(env: dict[str, str], workdir: Path) -> None:
    image = workdir / "face.jpg"
    sample_image("mask").save(image)
    check = ["-m", "stack", "simulate", "gate", "--gate-id", "metered", "--image", str(image)]
    result = subprocess.run(
        [sys.executable, *check, "--temperature", "36.6", "--timeout", "30"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@contextmanager
def _webhook() -> Iterator[str]:
    """A loopback webhook that takes every delivery (204), so the notifier-worker counts one sent."""

    class Accept(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _raise_an_alert(database: str, prefix: str, hook: str) -> None:
    """An alert opened at the default site, whose webhook recipient the notifier then delivers to."""
    engine = create_engine(database)
    add_recipient(
        engine, site_id="default", channel="webhook", address=hook, secrets={"webhook_secret": "s" * 32}
    )
    engine.dispose()
    now = datetime.now(UTC)
    opened = AlertTransition(
        alert_id=uuid4(),
        transition=Transition.OPENED,
        at=now,
        kind=AlertKind.UNMASKED,
        site_id="default",
        device_id="hall-1",
        track=1,
        unmasked_since=now - timedelta(seconds=70),
    )

    async def publish() -> None:
        queue = open_queue(REDIS_URL)
        try:
            await append(queue, Streams(prefix).alerts, opened)
        finally:
            await queue.close()

    asyncio.run(publish())


def _has_sample(port: int, series: str) -> bool:
    response = _get(f"http://127.0.0.1:{port}/metrics")
    return response is not None and any(line.startswith(series) for line in response.text.splitlines())


@pytest.fixture(scope="module")
def scrapes(tmp_path_factory, postgres_url) -> Iterator[dict[str, Exposition]]:
    """Every service's /metrics after a gate check and an alert, by compose service name (= scrape job)."""
    require_service("Mosquitto", *MOSQUITTO)
    require_service("Redis", "127.0.0.1", 6379)
    base = _free_block(len(SERVICE_NAMES))
    ports = {name: base + i for i, name in enumerate(SERVICE_NAMES)}
    workdir = tmp_path_factory.mktemp("stack")
    log = workdir / "up.log"
    with (
        scratch_database(postgres_url, "mw_prometheus") as database,
        _webhook() as hook,
        log.open("w") as out,
    ):
        env = _stack_env(database, base)
        up = subprocess.Popen(
            [sys.executable, "-m", "stack", "up"], cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            for name, port in ports.items():
                _wait_until(lambda p=port: _answers(f"http://127.0.0.1:{p}/readyz"), f"{name} ready", up)
            _send_a_check(env, workdir)
            _raise_an_alert(database, env["MASKWATCH_QUEUE__PREFIX"], hook)
            recorded = 'maskwatch_stats_rows_written_total{table="checks"} 1.0'
            _wait_until(lambda: _has_sample(ports["stats"], recorded), "the check recorded by stats", up)
            delivered = 'maskwatch_notifications_sent_total{channel="webhook"} 1.0'
            _wait_until(lambda: _has_sample(ports["notifier-worker"], delivered), "the alert delivered", up)
            yield {name: read_exposition(_scrape(port)) for name, port in ports.items()}
        finally:
            up.send_signal(signal.SIGTERM)
            try:
                up.wait(timeout=90)
            except subprocess.TimeoutExpired:
                up.kill()
                up.wait()
    assert up.returncode == 0, log.read_text()[-4000:]


def _prometheus_jobs() -> dict[str, dict[str, Any]]:
    config = _yaml(ROOT / "deploy/prometheus/prometheus.yml")
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_prometheus_scrapes_every_service_of_compose_on_its_metrics_port():
    compose = _yaml(ROOT / "compose.yaml")
    base_env = compose["x-maskwatch"]["environment"]
    expected = {}
    for name, service in compose["services"].items():
        if service.get("command", [None])[0] == "run":
            assert service["command"] == ["run", name]  # the job, the container and the service share a name
            expected[name] = int({**base_env, **service.get("environment", {})}["MASKWATCH_METRICS_PORT"])
    assert set(expected) == set(SERVICE_NAMES)
    found = {}
    for name, job in _prometheus_jobs().items():
        (discovery,) = job["dns_sd_configs"]
        assert discovery["names"] == [name]
        assert discovery["type"] == "A"
        found[name] = discovery["port"]
        assert job.get("metrics_path", "/metrics") == "/metrics"
    assert found == expected


def test_every_dashboard_expression_parses_and_names_a_scraped_job():
    jobs = set(_prometheus_jobs())
    for title, expression in dashboard_expressions(DASHBOARD):
        found = selectors(expression)
        assert found, (title, expression)
        for selector in found:
            assert selector.job is None or selector.job in jobs, (title, selector)


def test_every_metric_the_dashboard_reads_is_exported_by_its_job(scrapes):
    exported_anywhere = frozenset().union(*(s.declared for s in scrapes.values()))
    read: set[tuple[str, str | None]] = set()
    for title, expression in dashboard_expressions(DASHBOARD):
        for selector in selectors(expression):
            read.add((selector.metric, selector.job))
            if selector.metric in PROMETHEUS_OWN:
                continue
            exported = scrapes[selector.job].declared if selector.job else exported_anywhere
            assert selector.metric in exported, (title, selector)
    for metric, job in TRAFFIC_MOVES:
        # on the dashboard, read from the job that measures it (or from every job), and moved by the traffic
        assert (metric, job) in read or (metric, None) in read, metric
        assert metric in scrapes[job].sampled, (metric, job)


def test_gpu_gauges_are_declared_by_the_inference_worker_and_absent_without_a_gpu(scrapes):
    inference = scrapes["inference"]
    assert inference.declared >= GPU_METRICS
    assert not inference.sampled & GPU_METRICS  # the ONNX Runtime worker on a CPU: no samples, no zeros
