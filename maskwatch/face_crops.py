"""The face thumbnails of gate checks: the inference worker writes them, the API serves them to those
who may see the check's site, and nothing keeps them past the retention period.

Only the face the check was about is kept, small (at most `size_px` on its longer side), never the
photo: the console's live feed shows who stood at the gate, and an operator settling a dispute can see
it, for as long as the venue's retention setting allows (24 hours by default; 0 keeps none at all).
Files are named by the check's id, written atomically, and deleted by `purge` once older than
`keep_hours` (the worker runs it every few minutes).
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

from pydantic import BaseModel, Field

from maskwatch.retention import purge_older_than

NAME = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jpg$")


class FaceCropSettings(BaseModel):
    directory: Path = Path("var/face_crops")
    keep_hours: float = Field(default=24.0, ge=0, le=24 * 3650)
    """Thumbnails older than this are deleted; 0 keeps none (the feed then shows no faces)."""
    size_px: int = Field(default=112, ge=32, le=512)
    """The longer side of a thumbnail."""

    @property
    def enabled(self) -> bool:
        return self.keep_hours > 0


class FaceCropStore:
    def __init__(self, settings: FaceCropSettings) -> None:
        self.directory = settings.directory
        self.keep_s = settings.keep_hours * 3600

    def save(self, check_id: uuid.UUID, jpeg: bytes) -> Path:
        name = f"{check_id}.jpg"
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / f".{name}.tmp"
        temporary.write_bytes(jpeg)
        return temporary.replace(self.directory / name)

    def path(self, check_id: uuid.UUID, now: float | None = None) -> Path | None:
        """The thumbnail of a check while it is within retention; None otherwise (never made, purged,
        or due to be)."""
        path = self.directory / f"{check_id}.jpg"
        try:
            modified = path.stat().st_mtime
        except OSError:
            return None
        if (time.time() if now is None else now) - modified > self.keep_s:
            return None
        return path

    def purge(self, now: float | None = None) -> int:
        """Delete thumbnails past retention; returns how many."""
        return purge_older_than(self.directory, NAME, self.keep_s, now)
