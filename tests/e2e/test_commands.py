"""The commands an operator types: `maskwatch simulate gate` and `maskwatch up` (processes, real services)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stack.demo.sample_faces import sample_image
from stack.service_table import SERVICE_NAMES
from tests.ports import free_port

pytestmark = pytest.mark.timeout(240)


def real_env(unique_id: str, postgres_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = os.environ.copy()
    env.update(
        {
            "MASKWATCH_MQTT__EMBEDDED": "false",
            "MASKWATCH_MQTT__PORT": "1883",
            "MASKWATCH_MQTT__TOPIC_ROOT": f"test/{unique_id}",
            "MASKWATCH_MQTT__PERSISTENT_SESSIONS": "false",
            "MASKWATCH_QUEUE__URL": redis_url,
            "MASKWATCH_QUEUE__PREFIX": f"test-{unique_id}",
            "MASKWATCH_DATABASE__URL": postgres_url,
            "MASKWATCH_INGEST__HTTP_PORT": "null",
            "MASKWATCH_API__PORT": str(free_port()),
            "MASKWATCH_ALLOW_UNREGISTERED_GATES": "true",  # a test bench: gates with made-up ids
        }
    )
    env.update(extra)
    return env


def simulate(env: dict[str, str], image: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "stack",
            "simulate",
            "gate",
            "--gate-id",
            "cli-gate",
            "--image",
            str(image),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_simulate_reports_a_timeout_clearly(tmp_path, mosquitto, redis_url, postgres_url, unique_id):
    image = tmp_path / "face.png"
    sample_image("mask").save(image)
    result = simulate(
        real_env(unique_id, postgres_url, redis_url), image, "--temperature", "36.6", "--timeout", "1"
    )
    assert result.returncode == 4
    assert "no verdict within 1s" in result.stderr
    assert "maskwatch up" in result.stderr


def test_up_runs_each_service_as_a_process(tmp_path, mosquitto, redis_url, postgres_url, unique_id):
    env = real_env(unique_id, postgres_url, redis_url) | {"MASKWATCH_INFERENCE_WORKERS": "2"}
    up = subprocess.Popen(
        [sys.executable, "-m", "stack", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        image = tmp_path / "face.jpg"
        sample_image("no_mask").save(image)
        deadline = time.monotonic() + 150
        result = None
        while time.monotonic() < deadline:  # the services take a while to import and connect
            result = simulate(env, image, "--temperature", "36.6", "--timeout", "5")
            if result.returncode == 0:
                break
        assert result is not None
        assert result.returncode == 0, result.stderr
        verdict = json.loads(result.stdout)
        assert verdict["gate_id"] == "cli-gate"
        assert verdict["decision"] == "deny"
        assert verdict["reasons"] == ["no_mask"]
        children = subprocess.run(["pgrep", "-P", str(up.pid)], capture_output=True, text=True).stdout.split()
        # One process per service in the table, and the inference workers asked for: two, not one.
        assert len(children) == len(SERVICE_NAMES) + 1
    finally:
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=60)
    assert up.returncode == 0, output
    for name in SERVICE_NAMES:
        labels = ("inference-1", "inference-2") if name == "inference" else (name,)
        for label in labels:
            assert f"{label} started" in output
