"""Deleting stored pictures once their retention period is over: alert snapshots and the face thumbnails
of gate checks are kept only as long as the venue's settings say."""

from __future__ import annotations

import re
import time
from pathlib import Path


def purge_older_than(directory: Path, name: re.Pattern[str], keep_s: float, now: float | None = None) -> int:
    """Delete the files in `directory` whose names match `name` and that were written more than
    `keep_s` seconds before `now` (default: the clock); returns how many. Other files are left alone."""
    if not directory.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - keep_s
    removed = 0
    for path in directory.iterdir():
        if name.match(path.name) and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
