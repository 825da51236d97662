"""The server's answer to a gate check, published on `gates/{gate_id}/verdict`.

`reasons` are machine-readable so the stats and the dashboard can count denials
by cause; `message` is the short text a gate shows to the person in front of it.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, Field

from maskwatch.contracts.common import DeviceId, Message
from maskwatch.contracts.gate_analysis import AnalyzedFace


class Decision(StrEnum):
    OPEN = "open"
    DENY = "deny"


class Reason(StrEnum):
    """Why a gate was denied (or, in soft mode, why a pass was flagged)."""

    NO_MASK = "no_mask"
    INCORRECT_MASK = "incorrect_mask"
    FEVER = "fever"
    REMEASURE_TEMPERATURE = "remeasure_temperature"
    NO_TEMPERATURE = "no_temperature"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    # Why no face could be judged, when the frame says so: the person can fix these themselves.
    FACE_TOO_SMALL = "face_too_small"
    FACE_CUT_OFF = "face_cut_off"
    TOO_DARK = "too_dark"
    TOO_BLURRED = "too_blurred"
    FACE_NOT_FRONTAL = "face_not_frontal"


class Timings(Message):
    """Where the time went, in milliseconds, from the server receiving the check to the verdict."""

    queue_ms: float = Field(ge=0)
    decode_ms: float = Field(ge=0)
    detect_ms: float = Field(ge=0)
    classify_ms: float = Field(ge=0)
    total_ms: float = Field(ge=0)


class Verdict(Message):
    gate_id: DeviceId
    check_id: UUID
    captured_at: AwareDatetime
    decided_at: AwareDatetime
    decision: Decision
    reasons: list[Reason] = Field(default_factory=list)
    flags: list[Reason] = Field(default_factory=list)
    """Problems recorded but not enforced (a soft-mode policy)."""
    message: str
    faces: list[AnalyzedFace] = Field(default_factory=list)
    temperature_c: float | None = None
    timings: Timings
    offline_decision: Decision | None = None
    """Set when the gate decided on its own while offline and reported the check later."""
