"""The server reads an IP camera's RTSP stream itself: on loopback, through to a stored alert."""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

import pytest
import sqlalchemy as sa

from maskwatch.database.cameras import register_camera
from maskwatch.database.engine import create_engine, migrate
from maskwatch.database.schema import alerts
from maskwatch.mqtt import MqttSettings
from maskwatch.queue import QueueSettings
from maskwatch.snapshots import SnapshotSettings
from services.camera_reader.latest_frame import LatestFrameReader, _redacted
from services.monitoring.settings import CameraSettings
from stack.in_process import Stack
from stack.settings import DatabaseSettings, IngestSettings, Settings, WorkerSettings
from tests.ports import free_port

pytestmark = pytest.mark.timeout(180)


def test_the_reader_keeps_the_newest_frame_and_reopens_an_ended_stream(unmasked_clip):
    reader = LatestFrameReader("file-cam", str(unmasked_clip), backoff_cap_s=0.5)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while reader.connections < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        latest = reader.latest()
    finally:
        reader.stop()
    assert reader.connections >= 2  # the 8 s file ended (decoded fast) and was opened again
    assert latest is not None
    assert latest.image.shape == (480, 640, 3)
    assert latest.sequence >= 80


def test_a_url_that_never_answers_is_retried_with_growing_capped_waits():
    class Recording(LatestFrameReader):
        waits: ClassVar[list[float]] = []

        def _sleep(self, delay: float, why: str) -> None:  # the clock is the test's: no real waiting
            self.waits.append(delay)
            if len(self.waits) == 6:
                self._stop.set()

    reader = Recording("dead-cam", f"rtsp://127.0.0.1:{free_port()}/none", backoff_cap_s=8.0)
    reader.start()
    reader._thread.join(30)
    assert reader.latest() is None
    assert reader.failures == 6
    assert reader.waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_logs_never_show_the_stream_password():
    assert _redacted("rtsp://admin:s3cret@10.0.0.7:554/stream1") == "rtsp://admin:***@10.0.0.7:554/stream1"
    assert _redacted("rtsp://10.0.0.7/stream1") == "rtsp://10.0.0.7/stream1"


async def test_an_rtsp_camera_is_read_by_the_server_and_raises_its_alert(rtsp_camera, tmp_path, unique_id):
    settings = Settings(
        mqtt=MqttSettings(port=free_port(), embedded=True, topic_root=f"test/{unique_id}"),
        queue=QueueSettings(url="memory://", prefix=f"test-{unique_id}", claim_idle_ms=3000),
        database=DatabaseSettings(url=f"sqlite:///{tmp_path}/db.sqlite"),
        worker=WorkerSettings(block_ms=50, check_deadline_s=30),  # a loaded test machine is not "too late"
        ingest=IngestSettings(http_port=None),
        snapshots=SnapshotSettings(directory=tmp_path / "snapshots"),
    )
    migrate(settings.database.url)
    engine = create_engine(settings.database.url)
    camera = CameraSettings(fps=4, unmasked_after_s=2, grace_s=1)
    register_camera(
        engine, "lobby-ip", site_id="default", rtsp_url=rtsp_camera, settings=camera.model_dump(mode="json")
    )
    stack = Stack(settings, ("camera-reader", "inference", "monitoring", "stats"))
    await stack.start(timeout=120)
    try:
        opened = []
        for _ in range(120):
            with engine.connect() as connection:
                opened = connection.execute(sa.select(alerts).where(alerts.c.device_id == "lobby-ip")).all()
            if opened:
                break
            await asyncio.sleep(0.25)
    finally:
        await stack.close()
        engine.dispose()
    assert len(opened) == 1
    assert opened[0].kind == "unmasked"
    assert opened[0].snapshot is not None
