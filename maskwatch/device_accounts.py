"""A device's broker account, managed as one step: write the password file, then have the broker reload.

Mosquitto reads its password file only at start and on a reload (SIGHUP), and
on a reload it also drops connected clients whose credentials no longer hold.
So revoking or rotating a device takes effect at once only if the broker is
told; `reload_command` is how this installation tells it (`systemctl reload
mosquitto`, `docker compose kill -s SIGHUP mosquitto`…). The HTTP check door
reads the same file on every request, so it closes for a removed account at
once without being told.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from maskwatch.broker_accounts import FileOwnership, has_account, new_password, remove_account, write_password

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """What one change did: the new password (when one was issued), and whether the broker applied it
    now (False: no reload command, or it failed, and the broker applies it at its next reload)."""

    password: str | None
    broker_reloaded: bool
    existed: bool = True


@dataclass(frozen=True)
class BrokerAddress:
    """The broker as a device on the venue's network reaches it (not as the server does)."""

    host: str
    port: int
    topic_root: str
    tls: bool = False


@dataclass(frozen=True)
class DeviceAccounts:
    passwd_file: Path
    ownership: FileOwnership = field(default_factory=FileOwnership)
    reload_command: tuple[str, ...] = ()
    """Run after each change so the broker applies it now; empty: the operator reloads it."""
    reload_timeout_s: float = 10.0

    def has(self, device_id: str) -> bool:
        return has_account(self.passwd_file, device_id)

    def issue(self, device_id: str) -> Change:
        """A new password for `device_id`, replacing any it had; returned once, stored only hashed."""
        password = new_password()
        write_password(self.passwd_file, device_id, password, self.ownership)
        return Change(password, self.reload_broker())

    def remove(self, device_id: str) -> Change:
        """Take the account away (`existed`: there was one)."""
        if not remove_account(self.passwd_file, device_id, self.ownership):
            return Change(None, broker_reloaded=False, existed=False)
        return Change(None, self.reload_broker())

    def reload_broker(self) -> bool:
        """Run the reload command; False when there is none or it failed (logged: the change is in the
        file, and the broker applies it at its next reload)."""
        if not self.reload_command:
            return False
        try:
            subprocess.run(
                self.reload_command, check=True, capture_output=True, timeout=self.reload_timeout_s
            )
        except (OSError, subprocess.SubprocessError) as exc:
            log.error("broker reload (%s) failed: %s", " ".join(self.reload_command), exc)
            return False
        return True
