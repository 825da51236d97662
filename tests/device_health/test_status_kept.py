"""The device health service keeps each device's latest status in the database for the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from maskwatch.contracts import (
    AlertTransition,
    CameraState,
    CameraStatus,
    GateState,
    GateStatus,
    SensorState,
    decode,
)
from maskwatch.database.device_status import load_health
from maskwatch.database.engine import create_engine
from maskwatch.mqtt import MqttSettings
from maskwatch.queue import WorkQueue, open_queue
from maskwatch.streams import Streams
from services.device_health.service import DeviceHealthService
from tests.api.databases import new_postgres, postgres_template

__all__ = ["new_postgres", "postgres_template"]  # fixtures
pytestmark = pytest.mark.timeout(60)


def _service(url: str, unique_id: str) -> tuple[DeviceHealthService, sa.Engine, WorkQueue, Streams]:
    """The service on its own database, announcing alerts on a queue and streams of its own."""
    engine = create_engine(url)
    mqtt = MqttSettings(embedded=False, topic_root=f"test/{unique_id}")
    queue, streams = open_queue("memory://"), Streams(f"t-{unique_id}")
    service = DeviceHealthService(mqtt, queue, engine, streams, offline_after_s=60, identifier="t")
    return service, engine, queue, streams


async def test_a_status_keeps_versions_and_sensors_and_a_last_will_keeps_when_it_was_last_seen(
    new_postgres, unique_id
):
    service, engine, _, _ = _service(new_postgres(), unique_id)
    root, gate, camera = f"test/{unique_id}", f"door-{unique_id[:8]}", f"hall-{unique_id[:8]}"
    seen = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    online = GateStatus(
        gate_id=gate,
        state=GateState.ONLINE,
        at=seen,
        software_version="1.4.0",
        config_version="c7",
        sensors={"camera": SensorState.OK, "thermometer": SensorState.FAILING},
    )
    await service.on_status(f"{root}/gates/{gate}/status", online.to_json(), seen.timestamp())
    cam = CameraStatus(camera_id=camera, state=CameraState.ONLINE, at=seen, software_version="0.9")
    await service.on_status(f"{root}/cameras/{camera}/status", cam.to_json(), seen.timestamp())
    with engine.connect() as conn:
        health = load_health(conn, [gate, camera, "nobody"])
    assert set(health) == {gate, camera}
    assert health[gate].online
    assert health[gate].last_seen_at == seen
    assert health[gate].sensors == {"camera": "ok", "thermometer": "failing"}
    assert (health[gate].software_version, health[gate].config_version) == ("1.4.0", "c7")
    assert health[camera].software_version == "0.9"

    will_heard = seen + timedelta(minutes=5)
    will = GateStatus(gate_id=gate, state=GateState.OFFLINE)  # no time, no versions
    await service.on_status(f"{root}/gates/{gate}/status", will.to_json(), will_heard.timestamp())
    with engine.connect() as conn:
        after = load_health(conn, [gate])[gate]
    assert not after.online
    assert after.status_at == will_heard
    assert after.last_seen_at == seen
    assert after.software_version == "1.4.0"
    assert after.sensors["thermometer"] == "failing"

    # The retained online copy heard again after a reconnect is older: it changes nothing.
    await service.on_status(f"{root}/gates/{gate}/status", online.to_json(), will_heard.timestamp())
    with engine.connect() as conn:
        assert not load_health(conn, [gate])[gate].online
    engine.dispose()


async def test_a_revoked_device_going_offline_raises_no_alert(new_postgres, unique_id):
    from datetime import UTC, datetime

    from maskwatch.database.schema import gates
    from maskwatch.streams import Group

    service, engine, queue, streams = _service(new_postgres(), unique_id)
    root = f"test/{unique_id}"
    revoked, kept = f"old-{unique_id[:8]}", f"new-{unique_id[:8]}"
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(gates),
            [
                {"gate_id": revoked, "site_id": "default", "name": "r", "created_at": now, "revoked_at": now},
                {"gate_id": kept, "site_id": "default", "name": "k", "created_at": now, "revoked_at": None},
            ],
        )
    for gate in (revoked, kept):  # both drop off: the broker publishes their last wills
        will = GateStatus(gate_id=gate, state=GateState.OFFLINE)
        await service.on_status(f"{root}/gates/{gate}/status", will.to_json(), 1000.0)
    await service.check(1000.0 + 61)
    entries = await queue.read(streams.alerts.read_by(Group.STATS), "t", 20, 50)
    assert [decode(AlertTransition, e.data).device_id for e in entries] == [kept]
    engine.dispose()
