"""A folder of checks made while the broker was unreachable, sent in order once it is back.

One file per check, written atomically (temp file, fsync, rename) so a power cut
leaves either the whole check or nothing. A file is deleted only after the
broker acknowledged its publication, and the server ignores a check_id it has
already recorded, so every buffered check arrives exactly once in the stats.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from maskwatch.contracts import ContractError, GateCheck, decode

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, folder: Path, *, max_entries: int = 5000) -> None:
        self.folder = folder
        self.max_entries = max_entries
        folder.mkdir(parents=True, exist_ok=True)

    def put(self, check: GateCheck) -> None:
        existing = self._files()
        if len(existing) >= self.max_entries:
            log.error("gate %s: spool full (%d checks); dropping the oldest", check.gate_id, len(existing))
            existing[0].unlink(missing_ok=True)
        name = f"{check.captured_at.strftime('%Y%m%dT%H%M%S%f')}-{check.check_id}.json"
        temporary = self.folder / f".{name}.tmp"
        with temporary.open("wb") as handle:
            handle.write(check.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        temporary.rename(self.folder / name)

    def pending(self) -> list[tuple[Path, GateCheck]]:
        """Spooled checks, oldest first; unreadable files are moved aside, not retried forever."""
        checks = []
        for path in self._files():
            try:
                checks.append((path, decode(GateCheck, path.read_bytes())))
            except (ContractError, OSError) as exc:
                log.error("spool: %s unreadable (%s); moved to %s.bad", path.name, exc, path.name)
                path.rename(path.with_suffix(".bad"))
        return checks

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self._files())

    def _files(self) -> list[Path]:
        return sorted(p for p in self.folder.glob("*.json") if not p.name.startswith("."))
