"""compose.yaml and its GPU overlay stay in step with the code: no Docker engine needed to check that."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.inference.model.config import UltraFaceConfig
from stack.service_table import SERVICE_NAMES
from stack.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / name).read_text())
    assert isinstance(data, dict)
    return data


def _resolved(environment: dict[str, str]) -> dict[str, str]:
    """${VAR:?message} and ${VAR:-default} as compose would fill them from a filled-in .env."""

    def fill(value: str) -> str:
        return re.sub(
            r"\$\{(\w+)(?::([?-])([^}]*))?\}",
            lambda m: m.group(3) if m.group(2) == "-" else f"test-{m.group(1).lower()}-value-0123456789",
            value,
        )

    return {key: fill(str(value)) for key, value in environment.items()}


def _apply(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> Settings:
    for key in list(os.environ):
        if key.startswith("MASKWATCH_"):
            monkeypatch.delenv(key)
    for key, value in _resolved(environment).items():
        monkeypatch.setenv(key, value)
    return Settings()


def test_every_server_service_of_the_launcher_is_in_compose():
    services = _load("compose.yaml")["services"]
    commands = {tuple(s["command"]) for s in services.values() if "command" in s}
    for name in SERVICE_NAMES:
        assert ("run", name) in commands, name


def test_compose_environments_are_valid_settings(monkeypatch: pytest.MonkeyPatch):
    services = _load("compose.yaml")["services"]
    for name, service in services.items():
        if service.get("command", [None])[0] != "run":
            continue
        settings = _apply(monkeypatch, service.get("environment", {}))
        assert settings.environment == "production", name
        assert settings.queue.url.startswith("redis://"), name


def test_the_gpu_overlay_builds_an_image_that_can_run_it_and_configures_both_stages(
    monkeypatch: pytest.MonkeyPatch,
):
    base = _load("compose.yaml")["services"]["inference"]
    overlay = _load("deploy/compose.gpu.yaml")["services"]["inference"]
    assert overlay["build"]["target"] == "gpu"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM base AS gpu$", dockerfile, re.MULTILINE)
    gpu_stage = dockerfile.split("AS gpu", 1)[1]
    assert "torch==" in gpu_stage
    assert '"onnx' in gpu_stage  # the torch runtime reads the detector's ONNX graph

    settings = _apply(monkeypatch, base["environment"] | overlay["environment"])
    detector = settings.inference_model.detector
    assert isinstance(detector, UltraFaceConfig)
    assert (detector.runtime, detector.device, detector.precision) == ("torch", "cuda", "fp32")
    assert (detector.half, detector.cuda_graphs, detector.batch_frames) == (True, True, 32)
    classifier = settings.inference_model.classifier
    assert (classifier.runtime, classifier.device, classifier.half) == ("torch", "cuda", True)
    assert settings.worker.batch_size == 32
    assert settings.inference_model.frame_threads == 8


def test_the_image_holds_every_serving_package_and_no_training_code():
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    assert copied == {"maskwatch", "services", "devices", "stack"}


def test_every_service_container_is_checked_for_readiness_on_its_metrics_port():
    data = _load("compose.yaml")
    for name, service in data["services"].items():
        if service.get("command", [None])[0] != "run":
            continue
        environment = {**data["x-maskwatch"]["environment"], **service.get("environment", {})}
        check = " ".join(service["healthcheck"]["test"])
        assert f"127.0.0.1:{environment['MASKWATCH_METRICS_PORT']}/readyz" in check, name
        assert environment["MASKWATCH_METRICS_HOST"] == "0.0.0.0", name
    assert data["services"]["migrate"]["healthcheck"] == {"disable": True}


def test_people_reach_the_api_through_the_tls_proxy_only():
    services = _load("compose.yaml")["services"]
    assert services["api"]["ports"] == ["127.0.0.1:8000:8000"]
    proxy = services["proxy"]
    assert "443:443" in proxy["ports"]
    assert "./deploy/caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    caddyfile = (ROOT / "deploy/caddy/Caddyfile").read_text()
    assert "reverse_proxy api:8000" in caddyfile
    assert "include_dir /mosquitto/config/conf.d" in (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
    assert "8883:8883" in services["mosquitto"]["ports"]


def test_the_api_registers_devices_in_the_password_file_the_broker_reads_and_reloads() -> None:
    services = _load("compose.yaml")["services"]
    environment = _load("compose.yaml")["x-maskwatch"]["environment"]
    passwd = Path(environment["MASKWATCH_PROVISIONING__MOSQUITTO_PASSWD_FILE"])
    host_dir = "./deploy/mosquitto/accounts"
    # The API writes it (read-write), the HTTP door reads it, both at the path the settings name.
    assert f"{host_dir}:{passwd.parent}" in services["api"]["volumes"]
    assert f"{host_dir}:{passwd.parent}:ro" in services["ingest"]["volumes"]
    # Mosquitto reads the same file, as its configuration says.
    broker_mount = next(v for v in services["mosquitto"]["volumes"] if v.startswith(f"{host_dir}:"))
    broker_dir = broker_mount.split(":")[1]
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
    assert f"password_file {broker_dir}/{passwd.name}" in conf.splitlines()
    # Each change reaches the running broker: the reloader shares its PID namespace and watches the file.
    reloader = services["broker-reloader"]
    assert reloader["pid"] == "service:mosquitto"
    assert f"{host_dir}:{broker_dir}:ro" in reloader["volumes"]
    script = reloader["command"][0]
    assert f"{broker_dir}/{passwd.name}" in script
    assert "kill -HUP 1" in script
    # The image's user may hand the file to the broker's group (1883, the eclipse-mosquitto user's).
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "groupadd --system --gid 1883 mosquitto" in dockerfile
    assert "--groups mosquitto maskwatch" in dockerfile


def test_face_thumbnails_are_shared_by_the_worker_that_cuts_them_and_the_api_that_serves_them() -> None:
    services = _load("compose.yaml")["services"]
    written = services["inference"]["environment"]["MASKWATCH_FACE_CROPS__DIRECTORY"]
    served = services["api"]["environment"]["MASKWATCH_FACE_CROPS__DIRECTORY"]
    assert written == served
    assert f"faces:{written}" in services["inference"]["volumes"]
    assert f"faces:{served}:ro" in services["api"]["volumes"]
    assert "faces" in _load("compose.yaml")["volumes"]
