"""The device health service: retained device statuses in (MQTT), device-offline alert transitions out.

It subscribes to every gate's and camera's status topic; the broker hands it
each device's retained status on connecting, and each last will as it fires.
Each status is also kept in the database (`device_status`), where the admin API
reads a device's health: online, last seen, software version, sensors.
Alerts go on the alerts stream (the database writer records them, the notifier
delivers them), under the device's site: a camera's or gate's registered one;
a gate nobody registered (or one just deleted) tells nobody, unless unregistered
gates are allowed (`allow_unregistered_gates`), where it counts for the `default`
site as its checks do.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from pydantic import ValidationError

from maskwatch.contracts import AlertKind, AlertTransition, CameraStatus, GateStatus, Transition, decode
from maskwatch.contracts.common import ContractError
from maskwatch.database.device_status import StatusReport, record_status
from maskwatch.database.schema import DEFAULT_SITE, alerts, cameras, gates
from maskwatch.mqtt import MqttSettings, mqtt_client, run_connected
from maskwatch.queue import WorkQueue
from maskwatch.streams import Streams, append
from maskwatch.topics import Topics
from services.device_health.watcher import DeviceWatcher, HealthEvent, Kind

log = logging.getLogger(__name__)

TICK_S = 1.0


class DeviceHealthService:
    def __init__(
        self,
        mqtt: MqttSettings,
        queue: WorkQueue,
        database: sa.Engine,
        streams: Streams,
        *,
        offline_after_s: float,
        identifier: str,
        allow_unregistered: bool = False,
    ) -> None:
        self._mqtt = mqtt
        self._queue = queue
        self._database = database
        self._streams = streams
        self._topics = Topics(mqtt.topic_root)
        self._identifier = identifier
        self._allow_unregistered = allow_unregistered
        self.watcher = DeviceWatcher(offline_after_s)
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        for row in await asyncio.to_thread(self._open_alerts):
            kind: Kind = "camera" if row.details.get("device_kind") == "camera" else "gate"
            recorded = row.details.get("offline_since")
            since = (
                datetime.fromisoformat(str(recorded)).timestamp() if recorded else row.opened_at.timestamp()
            )
            self.watcher.adopt(row.device_id, kind, uuid.UUID(row.alert_key), since)
        ticker = asyncio.create_task(self._tick(stop))
        try:
            await run_connected("device health", self._session, stop, connected=self.ready)
        finally:
            ticker.cancel()

    async def _session(self) -> None:
        async with mqtt_client(self._mqtt, identifier=self._identifier) as client:
            await client.subscribe(self._topics.gate_status.filter(), qos=1)
            await client.subscribe(self._topics.camera_status.filter(), qos=1)
            self.ready.set()
            async for message in client.messages:
                payload = message.payload if isinstance(message.payload, bytes | str) else b""
                await self.on_status(str(message.topic), payload, time.time())

    async def on_status(self, topic: str, payload: bytes | str, now: float) -> None:
        """One status message; unreadable ones are logged and ignored."""
        gate = self._topics.gate_status.match(topic)
        camera = self._topics.camera_status.match(topic)
        status: GateStatus | CameraStatus
        kind: Kind
        try:
            if gate is not None:
                status = decode(GateStatus, payload)
                device_id, kind = gate["gate_id"], "gate"
            elif camera is not None:
                status = decode(CameraStatus, payload)
                device_id, kind = camera["camera_id"], "camera"
            else:
                return
        except (ContractError, ValidationError) as exc:
            log.warning("device health: unreadable status on %s: %s", topic, exc)
            return
        online = status.state == "online"
        await self._remember(device_id, kind, status, now)
        for event in self.watcher.status(device_id, kind, online, now):
            await self._publish(event)

    async def _remember(
        self, device_id: str, kind: Kind, status: GateStatus | CameraStatus, now: float
    ) -> None:
        """Keep the status for the API; a database outage costs only this copy (the next heartbeat
        brings another), never the offline alerts."""
        report = StatusReport(
            device_id=device_id,
            kind=kind,
            online=status.state == "online",
            at=status.at or datetime.fromtimestamp(now, UTC),
            software_version=status.software_version,
            config_version=status.config_version,
            sensors=status.sensors,
        )
        try:
            await asyncio.to_thread(record_status, self._database, report)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("device health: could not record %s %s's status: %s", kind, device_id, exc)

    async def _tick(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.check(time.time())
            try:
                await asyncio.wait_for(stop.wait(), TICK_S)
            except TimeoutError:
                pass

    async def check(self, now: float) -> None:
        for event in self.watcher.tick(now):
            await self._publish(event)

    async def _publish(self, event: HealthEvent) -> None:
        site = await asyncio.to_thread(self._site_of, event.device_id, event.kind)
        if site is None:
            return  # a camera nobody registered: nobody to tell
        transition = AlertTransition(
            alert_id=event.alert_id,
            transition=Transition.OPENED if event.event == "opened" else Transition.RESOLVED,
            at=datetime.fromtimestamp(event.at, UTC),
            kind=AlertKind.DEVICE_OFFLINE,
            site_id=site,
            device_id=event.device_id,
            why="back_online" if event.event == "resolved" else None,
            offline_since=datetime.fromtimestamp(event.offline_since, UTC),
            device_kind=event.kind,
        )
        await append(self._queue, self._streams.alerts, transition)
        log.info("%s %s: offline alert %s", event.kind, event.device_id, event.event)

    def _site_of(self, device_id: str, kind: Kind) -> str | None:
        """Whom to tell: the device's site; nobody for a device whose account an admin revoked or that an
        admin deleted (it went offline because it was told to, not because something broke)."""
        table, key = (cameras, cameras.c.camera_id) if kind == "camera" else (gates, gates.c.gate_id)
        with self._database.connect() as connection:
            row = connection.execute(
                sa.select(table.c.site_id, table.c.revoked_at).where(key == device_id)
            ).first()
        if row is None:  # an unregistered gate counts for the default site where such gates may check
            return DEFAULT_SITE if kind == "gate" and self._allow_unregistered else None
        return None if row.revoked_at is not None else str(row.site_id)

    def _open_alerts(self) -> list[sa.Row[tuple[str, str, datetime, dict[str, object]]]]:
        with self._database.connect() as connection:
            return list(
                connection.execute(
                    sa.select(
                        alerts.c.alert_key, alerts.c.device_id, alerts.c.opened_at, alerts.c.details
                    ).where(
                        alerts.c.kind == AlertKind.DEVICE_OFFLINE.value,
                        alerts.c.resolved_at.is_(None),
                        alerts.c.alert_key.is_not(None),
                    )
                )
            )
