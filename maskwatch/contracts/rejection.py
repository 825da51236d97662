"""A message the server refused, published on `gates/{gate_id}/rejected` and recorded.

A gate waiting for a verdict learns at once that it must retry instead of
timing out, and an operator can see in the stats which devices send bad data.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID, uuid4

from pydantic import AwareDatetime, Field

from maskwatch.contracts.common import Message


class RejectionCode(StrEnum):
    NOT_JSON = "not_json"
    SCHEMA = "schema"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    BAD_IMAGE = "bad_image"
    BAD_FRAME = "bad_frame"
    """A binary frame whose header is truncated or garbled (maskwatch/contracts/binary_frame.py)."""
    GATE_MISMATCH = "gate_mismatch"
    TOO_LATE = "too_late"
    """The server was too busy to answer in time: the gate says "try again" rather than deciding late."""
    UNKNOWN_GATE = "unknown_gate"
    """The gate is not registered (`maskwatch device add`): an unknown device is never let decide."""


class Rejection(Message):
    rejection_id: UUID = Field(default_factory=uuid4)
    gate_id: str
    """As taken from the topic, which is all we can trust when the payload is unreadable."""
    check_id: UUID | None = None
    received_at: AwareDatetime
    code: RejectionCode
    detail: str
    topic: str
