"""A message and its JPEG as one binary payload: the image travels as bytes, never as base64 in JSON.

Version 1 of the device contract for messages that carry a photo (a gate check,
a camera frame). The payload is a fixed 8-byte header, the message's JSON
metadata (its contract's schema, without the image field), then the raw JPEG:

    offset 0  b"MWF"        magic: tells a frame from a JSON payload (which starts with "{")
    offset 3  u8            frame version (1)
    offset 4  u32, big end  length of the JSON metadata that follows
    offset 8  JSON metadata
              JPEG bytes    to the end of the payload

Base64 costs a third more bytes on the wire and an encode and a decode at
every hop; this way the image is copied, never transcoded. Today's JSON
payload (the image as base64 inside it) stays accepted from older gates: the
first bytes say which one a payload is (`decode_device_payload`).

The same split, metadata JSON beside the image bytes, is how stream entries
carry images between services (maskwatch/streams.py).
"""

from __future__ import annotations

import json
import struct
from typing import Any

from maskwatch.contracts.common import ContractError, M, Message, decode, validate_python

MAGIC = b"MWF"
FRAME_VERSION = 1
HEADER = struct.Struct(">3sBI")
IMAGE_FIELD = "image_jpeg"
MAX_METADATA_BYTES = 64 * 1024
"""A check's metadata is a few hundred bytes; a length beyond this is a garbled header."""

ImagePath = tuple[str, ...]
"""Where the image sits in a message: ("image_jpeg",), or ("check", "image_jpeg") inside an envelope."""
TOP_LEVEL: ImagePath = (IMAGE_FIELD,)


def is_frame(payload: bytes) -> bool:
    """Whether `payload` claims to be a binary frame (a JSON payload never starts with the magic)."""
    return payload[: len(MAGIC)] == MAGIC


def pack(metadata: bytes, image: bytes) -> bytes:
    return HEADER.pack(MAGIC, FRAME_VERSION, len(metadata)) + metadata + image


def unpack(payload: bytes) -> tuple[bytes, bytes]:
    """(metadata JSON, image bytes); a truncated or garbled header is a ContractError `bad_frame`."""
    if len(payload) < HEADER.size:
        raise ContractError("bad_frame", f"binary frame truncated: {len(payload)} bytes, the header is 8")
    magic, version, length = HEADER.unpack_from(payload)
    if magic != MAGIC:
        raise ContractError("bad_frame", "not a binary frame (no MWF magic)")
    if version != FRAME_VERSION:
        raise ContractError("bad_frame", f"binary frame version {version} is not supported (only 1)")
    if length > MAX_METADATA_BYTES or HEADER.size + length > len(payload):
        raise ContractError(
            "bad_frame",
            f"binary frame truncated: its header announces {length} bytes of metadata, "
            f"{len(payload) - HEADER.size} follow",
        )
    end = HEADER.size + length
    return payload[HEADER.size : end], payload[end:]


def split_image(message: Message, path: ImagePath = TOP_LEVEL) -> tuple[bytes, bytes]:
    """(the message's JSON without its image, the image bytes)."""
    exclude: Any = True
    for name in reversed(path):
        exclude = {name: exclude}
    holder: Any = message
    for name in path:
        holder = getattr(holder, name)
    return message.model_dump_json(exclude=exclude).encode(), bytes(holder)


def join_image(model: type[M], metadata: bytes, image: bytes, path: ImagePath = TOP_LEVEL) -> M:
    """The message from its metadata JSON and its image; the metadata keeps the contract's schema."""
    try:
        document = json.loads(metadata)
    except (ValueError, UnicodeDecodeError):
        raise ContractError("not_json", "the frame's metadata is not valid JSON") from None
    holder = document
    for name in path[:-1]:
        holder = holder.get(name) if isinstance(holder, dict) else None
    if not isinstance(holder, dict):
        raise ContractError("schema", f"{model.__name__} invalid: the metadata is not a JSON object")
    if path[-1] in holder:
        raise ContractError(
            "schema", f"{model.__name__} invalid: the image travels after the metadata, not inside it"
        )
    holder[path[-1]] = image
    return validate_python(model, document)


def encode_device_payload(message: Message) -> bytes:
    """What a current device publishes for a message with a photo: one binary frame."""
    metadata, image = split_image(message)
    return pack(metadata, image)


def decode_device_payload(model: type[M], payload: bytes) -> M:
    """A binary frame (device contract 1) or today's JSON with a base64 image (device contract 0)."""
    if is_frame(payload):
        metadata, image = unpack(payload)
        return join_image(model, metadata, image)
    return decode(model, payload)
