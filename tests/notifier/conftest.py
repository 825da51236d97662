"""Shared fixtures for the channel tests: a notification about one alert, and a loopback receiver."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.notifier.channels.base import Notification, Rendered
from tests.notifier.receiver import Receiver

AT = datetime(2025, 3, 3, 5, 5, 30, tzinfo=UTC)


@pytest.fixture
def notification() -> Notification:
    return Notification(
        alert_id="3f1c2a9e-8b7d-4c55-9a10-2f6e4d3b1a77",
        transition="opened",
        kind="unmasked",
        site_id="hq",
        site_name="Hall",
        device_id="hall-1",
        at=AT,
        unmasked_since=AT - timedelta(seconds=150),
        link="https://maskwatch.example/alerts/3f1c2a9e-8b7d-4c55-9a10-2f6e4d3b1a77",
    )


@pytest.fixture
def rendered() -> Rendered:
    return Rendered(title="Person unmasked for 2 min at Hall camera hall-1", body="Mask missing.\nSee it.")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """Ignores proxy settings from the environment: the receivers are on loopback."""
    with httpx.Client(trust_env=False, timeout=5) as client:
        yield client
