"""Stored pictures of people (alert snapshots and crops, the faces of gate checks) as API answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Response

from services.api.problems import Problem

IMAGE_CACHE = "private, max-age=3600"
"""A stored image never changes; `private`, because it shows a person and only some users may see it."""

IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The JPEG",
        "headers": {"Cache-Control": {"schema": {"type": "string"}, "description": IMAGE_CACHE}},
    }
}


def jpeg_response(path: Path | None, missing: str) -> Response:
    """The JPEG at `path`, or a 404 saying `missing`. Read whole (one picture is small), so a purge
    between the look-up and the answer is a 404 like any other missing picture, not a response cut short."""
    try:
        jpeg = path.read_bytes() if path is not None else None
    except FileNotFoundError:
        jpeg = None
    if jpeg is None:
        raise Problem(404, "not-found", missing)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": IMAGE_CACHE})
