"""The indoor camera program: capture at the configured rate, publish, keep the server informed.

Capturing runs on its own clock whatever the network does: a frame the link
cannot take is dropped (and counted in the status), never queued. The status is
retained with a last will `offline` and refreshed every heartbeat; the broker
connection is re-established with capped backoff; pushed config changes the rate
without a restart.
"""

from __future__ import annotations

import asyncio
import logging

from devices.camera_agent.client import CameraClient
from devices.camera_agent.settings import CameraAgentSettings
from devices.hardware.camera import Camera, CameraError
from maskwatch.contracts import CameraConfig, SensorState
from maskwatch.mqtt import run_connected

log = logging.getLogger(__name__)


class CameraAgent:
    def __init__(self, settings: CameraAgentSettings, camera: Camera) -> None:
        self.settings = settings
        self.camera = camera
        self.fps = settings.fps
        self.heartbeat_s = settings.heartbeat_s
        self.connected = asyncio.Event()
        self.client: CameraClient | None = None
        self.capture_failures = 0

    async def run(self, stop: asyncio.Event, *, max_frames: int | None = None) -> None:
        """Publish until `stop` (or `max_frames` captures, for commissioning)."""
        done = asyncio.Event()

        async def session() -> None:
            async with CameraClient(
                self.settings.mqtt, self.settings.camera_id, on_config=self._apply_config
            ) as client:
                client.fps = self.fps
                self.client = client
                self.connected.set()
                try:
                    await self._capture_loop(client, stop, done, max_frames)
                finally:
                    self.client = None

        stopping = asyncio.create_task(self._stop_when(stop, done))
        try:
            await run_connected(
                f"camera {self.settings.camera_id}",
                session,
                stop,
                connected=self.connected,
                cap_s=self.settings.reconnect_cap_s,
            )
        finally:
            stopping.cancel()

    @staticmethod
    async def _stop_when(stop: asyncio.Event, done: asyncio.Event) -> None:
        await done.wait()
        stop.set()

    async def _capture_loop(
        self, client: CameraClient, stop: asyncio.Event, done: asyncio.Event, max_frames: int | None
    ) -> None:
        loop = asyncio.get_running_loop()
        next_frame = loop.time()
        next_heartbeat = loop.time() + self.heartbeat_s
        frames = 0
        while not stop.is_set():
            try:
                jpeg = await asyncio.to_thread(self.camera.capture_jpeg)
            except CameraError as exc:
                self.capture_failures += 1
                client.sensors["camera"] = SensorState.FAILING
                log.warning("camera %s: capture failed: %s", self.settings.camera_id, exc)
            else:
                client.sensors["camera"] = SensorState.OK
                client.offer_nowait(jpeg)
                frames += 1
                if max_frames is not None and frames >= max_frames:
                    await asyncio.sleep(0.2)  # let the last frame go out
                    done.set()
                    return
            now = loop.time()
            if now >= next_heartbeat:
                next_heartbeat = now + self.heartbeat_s
                await client.publish_status()
            next_frame = max(next_frame + 1.0 / self.fps, now)  # late captures are not caught up
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_frame - loop.time()))
            except TimeoutError:
                pass

    async def _apply_config(self, config: CameraConfig) -> None:
        if config.fps is not None:
            self.fps = config.fps
            if self.client is not None:
                self.client.fps = config.fps
        if config.heartbeat_s is not None:
            self.heartbeat_s = config.heartbeat_s
        log.info("camera %s: config %s applied (%.1f fps)", self.settings.camera_id, config.version, self.fps)
