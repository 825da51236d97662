"""The monitoring service: camera analyses in, alert transitions out, one monitor per registered camera.

It reads `camera_analyses` (what the inference worker found in each frame),
feeds each registered camera's monitor on the camera's own clock, and for every
alert event makes the snapshot (other faces blurred), stores it and publishes
an `AlertTransition` on the alerts stream, which the database writer records
and the notifier delivers. Frames of cameras nobody registered are counted and
ignored.

Monitors live in memory, so exactly one monitoring process runs per site. When
it starts, alerts it opened earlier and can no longer follow are resolved as
`left`: the person's track did not survive the restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from maskwatch import metrics
from maskwatch.consumer import ConsumerSettings, consume_messages
from maskwatch.contracts import AlertKind, AlertTransition, CameraAnalysis, Message, Transition
from maskwatch.database.cameras import CameraRecord, load_cameras, record_sightings
from maskwatch.database.schema import alerts
from maskwatch.queue import QueueSettings, WorkQueue
from maskwatch.snapshots import SnapshotStore
from maskwatch.streams import Group, Streams, append
from services.monitoring.alerting import AlertEvent
from services.monitoring.monitor import CameraMonitor
from services.monitoring.settings import CameraSettings
from services.monitoring.snapshot import SnapshotError, make_snapshot
from services.monitoring.track import Detection
from services.monitoring.track.association import iou_matrix

log = logging.getLogger(__name__)

REGISTRY_REFRESH_S = 15.0
PURGE_EVERY_S = 3600.0
SIGHTINGS_EVERY_S = 5.0
"""How often cameras' last-seen times are written (the API's status reads them)."""
ALERT_IDS = uuid.UUID("1d3c2a57-0c39-4e43-9d5e-6b1b1f8a2f10")
"""Namespace of alert ids: one alert is uuid5(camera, person, opening time), the same on a redelivery."""


class MonitoringService:
    def __init__(
        self,
        queue: WorkQueue,
        database: sa.Engine,
        snapshots: SnapshotStore,
        *,
        queue_settings: QueueSettings,
        consumer: ConsumerSettings,
        name: str = "monitoring-1",
    ) -> None:
        self._queue = queue
        self._database = database
        self._snapshots = snapshots
        self._queue_settings = queue_settings
        self._consumer = consumer
        self._streams = Streams(queue_settings.prefix)
        self.name = name
        self._cameras: dict[str, CameraRecord] = {}
        self._loaded_at = float("-inf")
        self._purged_at = float("-inf")
        self._monitors: dict[str, CameraMonitor] = {}
        self._clock: dict[str, float] = {}
        self._open: dict[tuple[str, int], uuid.UUID] = {}
        self._seen: dict[str, datetime] = {}
        self._sightings_at = float("-inf")

    async def run(self, stop: asyncio.Event, *, burst: bool = False) -> int:
        await self.resolve_orphaned_alerts()
        return await consume_messages(
            self._queue,
            self._streams.camera_analyses.read_by(Group.MONITORING),
            consumer=self.name,
            handle=self.handle_batch,
            settings=self._consumer,
            max_deliveries=self._queue_settings.max_deliveries,
            stop=stop,
            burst=burst,
        )

    async def handle_batch(self, messages: Sequence[Message]) -> None:
        now = time.monotonic()
        if now - self._loaded_at > REGISTRY_REFRESH_S:
            self._cameras = await asyncio.to_thread(self._load_cameras)
            self._loaded_at = now
        if now - self._purged_at > PURGE_EVERY_S:
            self._purged_at = now
            removed = await asyncio.to_thread(self._snapshots.purge)
            if removed:
                log.info("monitoring: purged %d snapshots past retention", removed)
        for analysis in messages:
            if isinstance(analysis, CameraAnalysis):
                await self._step(analysis)
        if self._seen and now - self._sightings_at > SIGHTINGS_EVERY_S:
            self._sightings_at = now
            seen, self._seen = self._seen, {}
            try:
                await asyncio.to_thread(record_sightings, self._database, seen)
            except sa.exc.SQLAlchemyError as exc:  # a status detail: never worth failing the batch
                log.warning("monitoring: camera sightings not recorded (%s)", exc)

    async def _step(self, analysis: CameraAnalysis) -> None:
        camera = self._cameras.get(analysis.camera_id)
        if camera is None:
            metrics.CAMERA_FRAMES.labels(analysis.camera_id, "unregistered").inc()
            log.debug("camera %s: not registered, frame ignored", analysis.camera_id)
            return
        t = analysis.captured_at.timestamp()
        if t <= self._clock.get(camera.camera_id, float("-inf")):
            return  # a redelivered or late frame: the camera's clock has moved past it
        self._clock[camera.camera_id] = t
        self._seen[camera.camera_id] = analysis.analyzed_at
        monitor = self._monitor(camera)
        detections = [
            Detection(tuple(float(v) for v in f.box), f.detector_score, f.label, f.score)  # type: ignore[arg-type]
            for f in analysis.faces
        ]
        for event in monitor.step(detections, t):
            await self._publish(camera, analysis, event)

    def _monitor(self, camera: CameraRecord) -> CameraMonitor:
        settings = CameraSettings.model_validate(camera.settings)
        monitor = self._monitors.get(camera.camera_id)
        if monitor is None:
            monitor = self._monitors[camera.camera_id] = CameraMonitor(settings)
        elif monitor.settings != settings:
            monitor.reconfigure(settings)
        return monitor

    async def _publish(self, camera: CameraRecord, analysis: CameraAnalysis, event: AlertEvent) -> None:
        key = (camera.camera_id, event.person)
        at = datetime.fromtimestamp(event.t, UTC)
        if event.event == "opened":
            alert_id = uuid.uuid5(ALERT_IDS, f"{camera.camera_id}:{event.person}:{event.t:.3f}")
            self._open[key] = alert_id
            box = tuple(round(v) for v in event.box) if event.box else None
            snapshot, crop = await asyncio.to_thread(self._store_snapshot, alert_id, analysis, box)
            transition = AlertTransition(
                alert_id=alert_id,
                transition=Transition.OPENED,
                at=at,
                kind=AlertKind.UNMASKED,
                site_id=camera.site_id,
                device_id=camera.camera_id,
                track=event.person,
                box=box,
                unmasked_since=datetime.fromtimestamp(event.unmasked_since, UTC)
                if event.unmasked_since is not None
                else None,
                snapshot=snapshot,
                crop=crop,
            )
        else:
            opened = self._open.pop(key, None)
            if opened is None:
                return
            transition = AlertTransition(
                alert_id=opened,
                transition=Transition.RESOLVED,
                at=at,
                kind=AlertKind.UNMASKED,
                site_id=camera.site_id,
                device_id=camera.camera_id,
                track=event.person,
                why=event.why,
            )
        await append(self._queue, self._streams.alerts, transition)
        metrics.ALERT_TRANSITIONS.labels(transition.kind.value, transition.transition.value).inc()
        log.info(
            "camera %s: alert %s %s (person %d%s)",
            camera.camera_id,
            transition.alert_id,
            transition.transition.value,
            event.person,
            f", {event.why}" if event.why else "",
        )

    def _store_snapshot(
        self, alert_id: uuid.UUID, analysis: CameraAnalysis, box: tuple[int, ...] | None
    ) -> tuple[str | None, str | None]:
        if box is None:
            return None, None
        person = (box[0], box[1], box[2], box[3])
        overlaps = iou_matrix([person], [f.box for f in analysis.faces])
        others = [f.box for f, overlap in zip(analysis.faces, overlaps[0], strict=True) if overlap < 0.5]
        try:
            whole, crop = make_snapshot(analysis.image_jpeg, person, others)
        except SnapshotError as exc:
            log.warning("camera %s: no snapshot for alert %s: %s", analysis.camera_id, alert_id, exc)
            return None, None
        return (
            self._snapshots.save(str(alert_id), "snapshot", whole),
            self._snapshots.save(str(alert_id), "crop", crop),
        )

    def _load_cameras(self) -> dict[str, CameraRecord]:
        with self._database.connect() as connection:
            return load_cameras(connection)

    async def resolve_orphaned_alerts(self) -> None:
        """Resolve (as `left`) the open unmasked alerts no monitor follows any more."""
        rows = await asyncio.to_thread(self._orphans)
        for row in rows:
            transition = AlertTransition(
                alert_id=uuid.UUID(row.alert_key),
                transition=Transition.RESOLVED,
                at=datetime.now(UTC),
                kind=AlertKind.UNMASKED,
                site_id=row.site_id,
                device_id=row.device_id,
                why="left",
            )
            await append(self._queue, self._streams.alerts, transition)
            log.info("camera %s: alert %s resolved at start: its track is gone", row.device_id, row.alert_key)

    def _orphans(self) -> list[sa.Row[tuple[str, str, str]]]:
        with self._database.connect() as connection:
            return list(
                connection.execute(
                    sa.select(alerts.c.alert_key, alerts.c.site_id, alerts.c.device_id).where(
                        alerts.c.kind == AlertKind.UNMASKED.value,
                        alerts.c.resolved_at.is_(None),
                        alerts.c.alert_key.is_not(None),
                    )
                )
            )
