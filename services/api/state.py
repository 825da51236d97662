"""What the routes share for the life of the app: database, settings, gate commander, limiter, queue."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from pydantic import SecretStr

from maskwatch.device_accounts import BrokerAddress, DeviceAccounts
from maskwatch.entry_rules import PolicyConfig
from maskwatch.face_crops import FaceCropSettings, FaceCropStore
from maskwatch.queue import WorkQueue
from maskwatch.snapshots import SnapshotSettings, SnapshotStore
from maskwatch.streams import Streams
from services.api.commander import GateCommander
from services.api.config import ApiSettings
from services.api.ratelimit import SignInLimiter


@dataclass
class AppState:
    api: ApiSettings
    secret: SecretStr
    engine: sa.Engine
    commander: GateCommander
    login_limiter: SignInLimiter
    """Failed sign-ins per client address and per account (services/api/ratelimit.py)."""
    broker_address: BrokerAddress
    """The broker as a device's Pi reaches it, written into the configuration a new device is given."""
    queue: WorkQueue | None = None
    """Where alert transitions made by hand are announced (the notifier reads them); None: nowhere."""
    queue_prefix: str = "maskwatch"
    snapshots: SnapshotSettings = field(default_factory=SnapshotSettings)
    """Where the monitoring service keeps alert snapshots, which the API serves."""
    notification_channels: frozenset[str] = frozenset({"webhook", "webpush"})
    """The channels the notifier has settings for (webhooks and Web Push need none)."""
    vapid_private_key: SecretStr | None = None
    """The VAPID key the notifier's settings name, if any; otherwise both use the one stored in the
    database (`server_keys`)."""
    device_accounts: DeviceAccounts | None = None
    """The broker's password file (and how to reload the broker); None: devices cannot be provisioned
    through the API, only listed."""
    face_crops: FaceCropSettings = field(default_factory=FaceCropSettings)
    """Where the inference worker keeps the face thumbnails of gate checks, and for how long."""
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    """The entry rules in the installation's settings, under what admins set per site and gate."""

    @property
    def secret_key(self) -> bytes:
        return self.secret.get_secret_value().encode()

    @property
    def streams(self) -> Streams:
        return Streams(self.queue_prefix)

    @property
    def face_crop_store(self) -> FaceCropStore:
        return FaceCropStore(self.face_crops)

    @property
    def snapshot_store(self) -> SnapshotStore:
        return SnapshotStore(self.snapshots)
