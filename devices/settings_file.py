"""A device's YAML settings file, read the same way by the gate agent and the camera agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_settings_file(path: Path | None) -> dict[str, Any]:
    """The file's top-level mapping ({} without a file); a file that is not a mapping is refused."""
    if path is None:
        return {}
    loaded = yaml.safe_load(path.read_text()) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return loaded
