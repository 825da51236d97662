"""An indoor camera through the whole stack: frames over MQTT, the shared inference worker, the monitor,
one stored alert whose snapshot blurs everyone else, resolved when the person masks up."""

from __future__ import annotations

import asyncio
import os
import sys

import cv2
import numpy as np
import pytest
import sqlalchemy as sa

from maskwatch.database.cameras import register_camera
from maskwatch.database.engine import create_engine, migrate
from maskwatch.database.schema import alerts, cameras
from maskwatch.snapshots import SnapshotStore
from services.monitoring.settings import CameraSettings
from stack.demo.indoor_scene import Actor, jpeg_frames, portrait_face, render
from stack.demo.simulate import simulate_camera

pytestmark = pytest.mark.timeout(240)
FPS = 5.0
UNMASKED = (lambda t: (200.0, 220.0), [(0.0, 4.0)])  # unmasked for the first 4 s, then masked
OTHER = (470.0, 230.0)  # a masked bystander: blurred in the snapshot


def clip(duration: float):
    faces = {"mask": portrait_face("mask"), "no_mask": portrait_face("no_mask")}
    actors = [Actor(faces, UNMASKED[0], unmasked=UNMASKED[1]), Actor(faces, lambda t: OTHER)]
    return jpeg_frames(actors, duration, FPS)


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


async def wait_for_resolution(url: str, camera_id: str, timeout: float = 30.0) -> list[sa.Row]:
    engine = create_engine(url)
    try:
        for _ in range(int(timeout / 0.25)):
            with engine.connect() as c:
                rows = c.execute(sa.select(alerts).where(alerts.c.device_id == camera_id)).all()
            if rows and all(r.resolved_at is not None for r in rows):
                await asyncio.sleep(1.0)  # and nothing more arrives
                with engine.connect() as c:
                    return list(c.execute(sa.select(alerts).where(alerts.c.device_id == camera_id)).all())
            await asyncio.sleep(0.25)
        return list(rows)
    finally:
        engine.dispose()


async def test_an_unmasked_person_raises_one_alert_with_a_private_snapshot(stack, stack_settings, unique_id):
    camera_id = f"hall-{unique_id[:8]}"
    url = stack_settings.database.url
    await asyncio.to_thread(migrate, url)
    engine = create_engine(url)
    settings = CameraSettings(fps=FPS, unmasked_after_s=2.0, grace_s=1.0, cooldown_s=600)
    register_camera(engine, camera_id, site_id="default", settings=settings.model_dump(mode="json"))
    engine.dispose()

    sent, dropped = await simulate_camera(stack_settings.mqtt, camera_id, clip(7.0), fps=FPS)
    assert sent + dropped == 35

    rows = await wait_for_resolution(url, camera_id)
    assert len(rows) == 1, rows
    alert = rows[0]
    assert alert.kind == "unmasked"
    assert alert.resolution == "masked"
    assert alert.site_id == "default"
    assert 1.5 <= (alert.resolved_at - alert.opened_at).total_seconds() <= 5.0
    box = alert.details["box"]
    assert box[0] < UNMASKED[0](0)[0] < box[2]  # the unmasked person, not the bystander

    engine = create_engine(url)
    with engine.connect() as c:
        seen = c.execute(sa.select(cameras.c.last_seen_at).where(cameras.c.camera_id == camera_id)).scalar()
    engine.dispose()
    assert seen is not None  # the camera's status: when its latest frame was analysed

    store = SnapshotStore(stack_settings.snapshots)
    snapshot_path = store.path(alert.snapshot)
    assert snapshot_path is not None
    assert store.path(alert.crop) is not None
    snapshot = cv2.imread(str(snapshot_path))
    original = render([Actor({"mask": portrait_face("mask")}, lambda t: OTHER)], 0.0)
    x, y = int(OTHER[0]), int(OTHER[1])
    region = (slice(y - 40, y + 40), slice(x - 30, x + 30))
    assert sharpness(snapshot[region]) < sharpness(original[region]) / 10  # the bystander's face is gone


async def test_the_simulate_camera_command_drives_the_same_alert(stack, stack_settings, unique_id, tmp_path):
    """`maskwatch simulate camera --images DIR`, as an operator types it, against the running stack."""
    camera_id = f"foyer-{unique_id[:8]}"
    url = stack_settings.database.url
    engine = create_engine(url)
    settings = CameraSettings(fps=FPS, unmasked_after_s=2.0, grace_s=1.0, cooldown_s=600)
    register_camera(engine, camera_id, site_id="default", settings=settings.model_dump(mode="json"))
    engine.dispose()
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, (_, jpeg) in enumerate(clip(7.0)):
        (folder / f"{index:04d}.jpg").write_bytes(jpeg)
    mqtt = stack_settings.mqtt
    env = os.environ | {
        "MASKWATCH_MQTT__EMBEDDED": "false",
        "MASKWATCH_MQTT__HOST": mqtt.host,
        "MASKWATCH_MQTT__PORT": str(mqtt.port),
        "MASKWATCH_MQTT__TOPIC_ROOT": mqtt.topic_root,
        **({"MASKWATCH_MQTT__USERNAME": mqtt.username} if mqtt.username else {}),
        **({"MASKWATCH_MQTT__PASSWORD": mqtt.password.get_secret_value()} if mqtt.password else {}),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stack", "simulate", "camera", "--camera-id", camera_id,
        "--images", str(folder), "--fps", str(FPS),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert f"camera {camera_id}: " in out.decode()

    rows = await wait_for_resolution(url, camera_id)
    assert [(r.kind, r.resolution) for r in rows] == [("unmasked", "masked")]
