"""A JPEG inside a JSON message: base64 on the wire, bytes in code, bounded in size."""

from __future__ import annotations

import base64
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

MAX_IMAGE_BYTES = 4 * 1024 * 1024
"""A 1080p JPEG is well under 1 MB; anything near this limit is a misconfigured camera."""


def _from_base64(value: object) -> object:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise ValueError("the image must be base64") from exc
    return value


def _bounded(value: bytes) -> bytes:
    if not value:
        raise ValueError("the image is empty")
    if len(value) > MAX_IMAGE_BYTES:
        raise ValueError(f"the image is {len(value)} bytes, the limit is {MAX_IMAGE_BYTES}")
    return value


JpegImage = Annotated[
    bytes,
    BeforeValidator(_from_base64),
    AfterValidator(_bounded),
    PlainSerializer(lambda b: base64.b64encode(b).decode("ascii"), return_type=str, when_used="json"),
]
