"""The indoor camera agent against the real Mosquitto: frames at its rate, status and will, pushed config,
and frames dropped (never queued) when the link is busy."""

from __future__ import annotations

import asyncio
import sys

import aiomqtt
import pytest

from devices.camera_agent.agent import CameraAgent
from devices.camera_agent.client import CameraClient
from devices.camera_agent.settings import CameraAgentSettings
from devices.hardware.camera import SyntheticCameraConfig
from maskwatch.contracts import CameraConfig, CameraFrame, CameraStatus, decode
from maskwatch.contracts.binary_frame import decode_device_payload
from maskwatch.mqtt import MqttSettings, mqtt_client
from maskwatch.topics import Topics
from services.api.commander import MqttGateCommander

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def mqtt(mosquitto, unique_id) -> MqttSettings:
    host, port = mosquitto
    return MqttSettings(host=host, port=port, embedded=False, topic_root=f"test/{unique_id}")


async def collect(mqtt: MqttSettings, topics: list[str], until: float) -> list[aiomqtt.Message]:
    got = []
    async with mqtt_client(mqtt, identifier=f"listener-{id(topics)}") as client:
        for topic in topics:
            await client.subscribe(topic, qos=1)
        try:
            async with asyncio.timeout(until):
                async for message in client.messages:
                    got.append(message)
        except TimeoutError:
            pass
    return got


async def test_the_agent_publishes_frames_at_its_rate_and_a_retained_status(mqtt):
    t = Topics(mqtt.topic_root)
    settings = CameraAgentSettings(camera_id="hall-1", mqtt=mqtt, camera=SyntheticCameraConfig(), fps=5.0)
    agent = CameraAgent(settings, SyntheticCameraConfig().build())
    listening = asyncio.create_task(
        collect(
            mqtt, [t.camera_frame.format(camera_id="hall-1"), t.camera_status.format(camera_id="hall-1")], 3.0
        )
    )
    await asyncio.sleep(0.3)
    stop = asyncio.Event()
    await agent.run(stop, max_frames=6)
    messages = await listening
    frames = [
        decode_device_payload(CameraFrame, m.payload) for m in messages if str(m.topic).endswith("/frame")
    ]
    statuses = [decode(CameraStatus, m.payload) for m in messages if str(m.topic).endswith("/status")]
    assert 1 <= len(frames) <= 6  # QoS 0 and never queued: a busy link may have cost some
    assert all(f.camera_id == "hall-1" for f in frames)
    assert statuses[0].state == "online"
    assert statuses[-1].state == "offline"  # said goodbye on the way out


async def test_the_last_will_says_offline_when_the_camera_process_dies(mqtt):
    t = Topics(mqtt.topic_root)
    status_topic = t.camera_status.format(camera_id="hall-2")
    script = (
        "import asyncio, sys\n"
        "from devices.camera_agent.client import CameraClient\n"
        "from maskwatch.mqtt import MqttSettings\n"
        f"mqtt = MqttSettings.model_validate_json({mqtt.model_dump_json()!r})\n"
        "async def main():\n"
        "    async with CameraClient(mqtt, 'hall-2'):\n"
        "        print('online', flush=True)\n"
        "        await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    assert (await asyncio.wait_for(process.stdout.readline(), 20)).strip() == b"online"
    async with mqtt_client(mqtt, identifier="will-reader") as reader:
        await reader.subscribe(status_topic, qos=1)
        states = []
        process.kill()  # no goodbye: the broker publishes the will when the connection drops
        await process.wait()
        async with asyncio.timeout(10):
            async for message in reader.messages:
                states.append(decode(CameraStatus, message.payload).state)
                if states[-1] == "offline":
                    break
    assert states[0] == "online"  # the retained status, then the will
    assert states[-1] == "offline"


async def test_pushed_config_changes_the_rate_and_is_reported(mqtt):
    # Pushed the way the admin API pushes it (PATCH /cameras/hall-3 with a new fps), before it connects.
    await MqttGateCommander(mqtt).configure_camera("hall-3", CameraConfig(version="v7", fps=10.0))
    settings = CameraAgentSettings(camera_id="hall-3", mqtt=mqtt, camera=SyntheticCameraConfig(), fps=1.0)
    agent = CameraAgent(settings, SyntheticCameraConfig().build())
    stop = asyncio.Event()
    running = asyncio.create_task(agent.run(stop))
    for _ in range(50):
        await asyncio.sleep(0.1)
        if agent.fps == 10.0:
            break
    assert agent.fps == 10.0
    assert agent.client is not None
    assert agent.client.config_version == "v7"
    stop.set()
    await running


async def test_a_frame_offered_while_the_last_is_still_sending_is_dropped(mqtt):
    async with CameraClient(mqtt, "hall-4") as camera:
        jpeg = SyntheticCameraConfig().build().capture_jpeg()
        accepted = [camera.offer_nowait(jpeg) for _ in range(5)]  # all at once: one goes, four drop
        await asyncio.sleep(0.3)
    assert accepted == [True, False, False, False, False]
    assert camera.sent == 1
    assert camera.dropped == 4
