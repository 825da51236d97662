"""A device's YAML settings file, read the same way by the gate agent and the camera agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_settings_file(path: Path | None) -> dict[str, Any]:
    """The file's top-level mapping ({} without a file); a file that is not a mapping is refused.

    Raises ValueError, like a setting that is wrong, for a file that is not YAML at all, saying where
    the parser stopped: an agent's configuration error is one line, whatever the mistake.
    """
    if path is None:
        return {}
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not valid YAML: {_where(exc)}") from exc
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return loaded


def _where(exc: yaml.YAMLError) -> str:
    """The parser's complaint and its line and column, without the excerpt it draws over several lines."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(exc).replace("\n", " ")
