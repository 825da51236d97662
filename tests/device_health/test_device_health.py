"""A device that stays offline raises one alert, resolved when it comes back; a short blip raises none."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

import pytest

from devices.camera_agent.client import CameraClient
from devices.gate_agent.client import GateClient
from maskwatch.contracts import AlertTransition, GateStatus, decode
from maskwatch.database.cameras import register_camera
from maskwatch.database.engine import create_engine, migrate
from maskwatch.database.gates import register_gate
from maskwatch.mqtt import MqttSettings
from maskwatch.queue import open_queue
from maskwatch.streams import Group, Streams
from services.device_health.service import DeviceHealthService
from services.device_health.watcher import DeviceWatcher

pytestmark = pytest.mark.timeout(60)


def test_only_an_outage_longer_than_allowed_is_an_alert_and_coming_back_resolves_it():
    watcher = DeviceWatcher(offline_after_s=60)
    assert watcher.status("door-1", "gate", online=False, now=0) == []
    assert watcher.tick(59) == []
    (opened,) = watcher.tick(60)
    assert (opened.event, opened.device_id, opened.offline_since) == ("opened", "door-1", 0)
    assert watcher.tick(120) == []  # once
    (resolved,) = watcher.status("door-1", "gate", online=True, now=200)
    assert (resolved.event, resolved.alert_id) == ("resolved", opened.alert_id)

    assert watcher.status("door-1", "gate", online=False, now=300) == []
    assert watcher.status("door-1", "gate", online=True, now=330) == []  # a 30 s blip
    assert watcher.tick(1000) == []


async def test_a_gates_last_will_and_a_cameras_goodbye_raise_and_resolve_alerts(
    mosquitto, tmp_path, unique_id
):
    host, port = mosquitto
    mqtt = MqttSettings(host=host, port=port, embedded=False, topic_root=f"test/{unique_id}")
    url = f"sqlite:///{tmp_path}/db.sqlite"
    migrate(url)
    database = create_engine(url)
    door, hall = f"door-{unique_id[:8]}", f"hall-{unique_id[:8]}"  # client ids are global on the broker
    register_camera(database, hall, site_id="default")
    register_gate(database, door, site_id="default")
    queue = open_queue("memory://")
    streams = Streams(f"test-{unique_id}")
    service = DeviceHealthService(
        mqtt, queue, database, streams, offline_after_s=0.5, identifier=f"health-{unique_id}"
    )
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    await asyncio.wait_for(service.ready.wait(), 10)

    script = (
        "import asyncio\n"
        "from devices.gate_agent.client import GateClient\n"
        "from maskwatch.mqtt import MqttSettings\n"
        f"mqtt = MqttSettings.model_validate_json({mqtt.model_dump_json()!r})\n"
        "async def main():\n"
        f"    async with GateClient(mqtt, {door!r}):\n"
        "        print('online', flush=True)\n"
        "        await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    gate = await asyncio.create_subprocess_exec(sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE)
    assert gate.stdout is not None
    assert (await asyncio.wait_for(gate.stdout.readline(), 20)).strip() == b"online"
    gate.kill()  # dropped off without a goodbye: the broker publishes its last will
    await gate.wait()
    async with CameraClient(mqtt, hall):
        pass  # online, then a clean goodbye (offline)
    await asyncio.sleep(2.0)
    async with GateClient(mqtt, door):  # the gate is back
        await asyncio.sleep(0.5)
    stop.set()
    await running
    database.dispose()

    entries = await queue.read(streams.alerts.read_by(Group.STATS), "t", 20, 50)
    seen = [decode(AlertTransition, e.data) for e in entries]
    summary = sorted((t.device_id, t.transition.value, t.device_kind) for t in seen)
    assert (door, "opened", "gate") in summary
    assert (hall, "opened", "camera") in summary
    doors = [t for t in seen if t.device_id == door]
    assert [t.transition.value for t in doors][-1] == "resolved"
    assert doors[-1].why == "back_online"
    assert all(t.site_id == "default" for t in seen)
    assert all(t.at <= datetime.now(UTC) for t in seen)


@pytest.mark.parametrize(("allowed", "told"), [(False, []), (True, ["default"])])
async def test_an_unregistered_gate_going_offline_tells_only_where_such_gates_may_check(
    tmp_path, unique_id, allowed, told
):
    """A gate an admin deleted drops off the broker (its account went with it): nobody is told, unless
    unregistered gates may check, where an unknown gate counts for the default site."""
    url = f"sqlite:///{tmp_path}/db.sqlite"
    migrate(url)
    database = create_engine(url)
    queue = open_queue("memory://")
    streams = Streams(f"test-{unique_id}")
    mqtt = MqttSettings(embedded=False, topic_root=f"test/{unique_id}")
    service = DeviceHealthService(
        mqtt, queue, database, streams, offline_after_s=60, identifier="t", allow_unregistered=allowed
    )
    topic = f"test/{unique_id}/gates/gone-1/status"
    await service.on_status(topic, GateStatus(gate_id="gone-1", state="offline").to_json(), now=1000.0)
    await service.check(now=1061.0)
    database.dispose()
    entries = await queue.read(streams.alerts.read_by(Group.STATS), "t", 20, 50)
    assert [decode(AlertTransition, e.data).site_id for e in entries] == told
