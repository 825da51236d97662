"""The camera reader service: registered stream cameras → sampled frames on the frames stream.

Every `REGISTRY_REFRESH_S` it looks at the registered cameras: a camera with a
stream URL gets a reader (a changed URL, a new reader; a removed camera, none),
and each reader's newest frame is sampled at the camera's rate, JPEG-encoded and
appended to the frames stream, where the inference worker takes it as it takes a
camera agent's frames.
"""

from __future__ import annotations

import asyncio
import logging
import time
from uuid import uuid4

import cv2
import sqlalchemy as sa

from maskwatch import metrics
from maskwatch.contracts import CameraFrame, ReceivedCameraFrame
from maskwatch.contracts.common import utc_now
from maskwatch.database.cameras import CameraRecord, load_cameras
from maskwatch.queue import QueueUnavailable, WorkQueue
from maskwatch.streams import Streams, append
from services.camera_reader.latest_frame import LatestFrameReader

log = logging.getLogger(__name__)

REGISTRY_REFRESH_S = 15.0
DEFAULT_FPS = 2.0
JPEG_QUALITY = 85
TICK_S = 0.05


class CameraReaderService:
    def __init__(self, queue: WorkQueue, database: sa.Engine, streams: Streams) -> None:
        self._queue = queue
        self._database = database
        self._streams = streams
        self._readers: dict[str, LatestFrameReader] = {}
        self._rates: dict[str, float] = {}
        self._taken: dict[str, int] = {}
        self._due: dict[str, float] = {}
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        refreshed = float("-inf")
        try:
            while not stop.is_set():
                now = time.monotonic()
                if now - refreshed > REGISTRY_REFRESH_S:
                    refreshed = now
                    await self._refresh()
                    self.ready.set()
                await self._sample(now)
                try:
                    await asyncio.wait_for(stop.wait(), TICK_S)
                except TimeoutError:
                    pass
        finally:
            for reader in self._readers.values():
                await asyncio.to_thread(reader.stop)
            self._readers.clear()

    async def _refresh(self) -> None:
        try:
            cameras = await asyncio.to_thread(self._streamed_cameras)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("camera reader: cannot read the camera registry (%s); keeping the readers", exc)
            return
        for camera_id in list(self._readers):
            camera = cameras.get(camera_id)
            if camera is None or camera.rtsp_url != self._readers[camera_id].url:
                await asyncio.to_thread(self._readers.pop(camera_id).stop)
        for camera_id, camera in cameras.items():
            fps = float(camera.settings.get("fps", DEFAULT_FPS))
            self._rates[camera_id] = min(max(fps, 0.1), 10.0)
            if camera_id not in self._readers and camera.rtsp_url:
                reader = LatestFrameReader(camera_id, camera.rtsp_url)
                reader.start()
                self._readers[camera_id] = reader

    def _streamed_cameras(self) -> dict[str, CameraRecord]:
        with self._database.connect() as connection:
            return {k: v for k, v in load_cameras(connection).items() if v.rtsp_url}

    async def _sample(self, now: float) -> None:
        for camera_id, reader in self._readers.items():
            if now < self._due.get(camera_id, 0.0):
                continue
            latest = reader.latest()
            if latest is None or latest.sequence == self._taken.get(camera_id):
                continue
            self._taken[camera_id] = latest.sequence
            self._due[camera_id] = now + 1.0 / self._rates.get(camera_id, DEFAULT_FPS)
            ok, encoded = await asyncio.to_thread(
                cv2.imencode, ".jpg", latest.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
            )
            if not ok:
                continue
            frame = CameraFrame(
                camera_id=camera_id, frame_id=uuid4(), captured_at=utc_now(), image_jpeg=encoded.tobytes()
            )
            try:
                await append(
                    self._queue, self._streams.frames, ReceivedCameraFrame(frame=frame, received_at=utc_now())
                )
            except (QueueUnavailable, OSError) as exc:
                log.warning("camera %s: frame not queued (%s)", camera_id, exc)
                continue
            metrics.CAMERA_FRAMES.labels(camera_id, "read").inc()
