"""A device's account taken away, or the device forgotten: the same steps whether an admin does it in
the console (the API) or on the command line, so the two cannot drift apart."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from maskwatch.database.devices import DeviceRecord, delete_device, set_revoked
from maskwatch.device_accounts import Change, DeviceAccounts


def revoke(connection: sa.Connection, accounts: DeviceAccounts, device: DeviceRecord) -> Change:
    """Remove the broker account (the broker reloads it at once where it can) and mark the device
    revoked; it stays registered, so rotating its password lets it back."""
    change = accounts.remove(device.device_id)
    if device.revoked_at is None:
        set_revoked(connection, device, datetime.now(UTC))
    return change


def forget(connection: sa.Connection, accounts: DeviceAccounts, device: DeviceRecord) -> None:
    """Remove the broker account and the device; a gate's past checks stay in the figures."""
    accounts.remove(device.device_id)
    delete_device(connection, device)
