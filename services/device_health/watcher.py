"""Which devices are offline since when, and when that becomes an alert: pure, on an injected clock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["gate", "camera"]
ALERT_IDS = uuid.UUID("7b0d4f0e-9a57-4c39-8d7e-1f8e2c3a5b61")
"""Namespace of device-offline alert ids: uuid5(device, offline since), the same after a restart."""


@dataclass(frozen=True)
class HealthEvent:
    event: Literal["opened", "resolved"]
    device_id: str
    kind: Kind
    alert_id: uuid.UUID
    offline_since: float
    at: float


@dataclass
class _Device:
    kind: Kind
    offline_since: float | None = None
    alert_id: uuid.UUID | None = None


@dataclass
class DeviceWatcher:
    offline_after_s: float
    _devices: dict[str, _Device] = field(default_factory=dict)

    def adopt(self, device_id: str, kind: Kind, alert_id: uuid.UUID, offline_since: float) -> None:
        """An alert opened before a restart: resolve it when the device is seen online."""
        self._devices[device_id] = _Device(kind, offline_since, alert_id)

    def status(self, device_id: str, kind: Kind, online: bool, now: float) -> list[HealthEvent]:
        device = self._devices.setdefault(device_id, _Device(kind))
        if not online:
            if device.offline_since is None:
                device.offline_since = now
            return []
        events = []
        if device.alert_id is not None and device.offline_since is not None:
            events.append(
                HealthEvent("resolved", device_id, device.kind, device.alert_id, device.offline_since, now)
            )
        device.offline_since, device.alert_id = None, None
        return events

    def tick(self, now: float) -> list[HealthEvent]:
        """Alerts for devices offline longer than allowed (each once)."""
        events = []
        for device_id, device in self._devices.items():
            since = device.offline_since
            if since is not None and device.alert_id is None and now - since >= self.offline_after_s:
                device.alert_id = uuid.uuid5(ALERT_IDS, f"{device_id}:{since:.3f}")
                events.append(HealthEvent("opened", device_id, device.kind, device.alert_id, since, now))
        return events
