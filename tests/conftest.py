"""Shared fixtures: the real Mosquitto, Redis and PostgreSQL on this machine, isolated per test.

Every test gets its own MQTT topic root and Redis key prefix (a random id plus
the test's name), so runs never see each other's messages; PostgreSQL tests
share one scratch database created for the session.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.webhook_receiver import receiver  # noqa: F401 - a fixture, for every test folder

MOSQUITTO = ("127.0.0.1", int(os.environ.get("MASKWATCH_TEST_MQTT_PORT", "1883")))
REDIS_URL = os.environ.get("MASKWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_ADMIN_URL = os.environ.get(
    "MASKWATCH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
DATA_DIR = Path(
    os.environ.get("MASKWATCH_DATA_DIR", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    if not _reachable(host, port):
        pytest.fail(
            f"{name} is not reachable at {host}:{port}; start it (see .ci/run) and re-run", pytrace=False
        )


@pytest.fixture
def unique_id(request: pytest.FixtureRequest) -> str:
    """A random id with the test's name in it, for topics, prefixes and consumer names."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:40].strip("-")
    return f"{uuid.uuid4().hex[:8]}-{name}"


@pytest.fixture
def redis_url() -> str:
    require_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
def mosquitto() -> tuple[str, int]:
    require_service("Mosquitto", *MOSQUITTO)
    return MOSQUITTO


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A scratch database for this test session, dropped afterwards."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    import psycopg

    name = f"maskwatch_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def data_dir() -> Path:
    if not (DATA_DIR / "README.md").is_file():
        pytest.skip(f"dataset not present at {DATA_DIR}")
    return DATA_DIR
