"""Where alert snapshots live on disk: the monitoring service writes them, the API serves them.

Only images already made safe are stored (every face but the alert's blurred,
by `services.monitoring.snapshot`); frames themselves are never stored. Files
older than the retention period are deleted by `purge`, which the monitoring
service runs every hour.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field

from maskwatch.retention import purge_older_than

NAME = re.compile(r"^[0-9a-f-]{36}-(snapshot|crop)\.jpg$")


class SnapshotSettings(BaseModel):
    directory: Path = Path("var/snapshots")
    keep_days: float = Field(default=30.0, gt=0, le=3650)
    """Snapshots older than this are deleted."""


class SnapshotStore:
    def __init__(self, settings: SnapshotSettings) -> None:
        self.directory = settings.directory
        self.keep_s = settings.keep_days * 86400

    def save(self, alert_id: str, kind: str, jpeg: bytes) -> str:
        """Store one image of an alert; returns its name (what the alert records)."""
        name = f"{alert_id}-{kind}.jpg"
        if not NAME.match(name):
            raise ValueError(f"not a snapshot name: {name}")
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / f".{name}.tmp"
        temporary.write_bytes(jpeg)
        temporary.replace(self.directory / name)
        return name

    def path(self, name: str) -> Path | None:
        """The file of a stored snapshot, or None (unknown, purged, or not a snapshot name at all)."""
        if not NAME.match(name):
            return None
        path = self.directory / name
        return path if path.is_file() else None

    def purge(self, now: float | None = None) -> int:
        """Delete snapshots past the retention period; returns how many."""
        return purge_older_than(self.directory, NAME, self.keep_s, now)
