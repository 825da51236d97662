"""A step in an alert's life (opened, acknowledged, resolved), on the `alerts` stream.

One contract for every reader of the stream: the database writer records it,
the notifier turns it into messages. `alert_id` is chosen by whoever opens the
alert and repeated on every later transition, so a redelivered transition is
recognised and never counted twice.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from maskwatch.contracts.common import DeviceId, Message


class Transition(StrEnum):
    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertKind(StrEnum):
    UNMASKED = "unmasked"
    """A person stayed unmasked longer than the camera allows."""
    DEVICE_OFFLINE = "device_offline"
    """A gate or camera has been offline (its last will, or its goodbye) for longer than allowed."""


class AlertTransition(Message):
    alert_id: UUID
    transition: Transition
    at: AwareDatetime
    kind: AlertKind
    site_id: str = Field(min_length=1, max_length=64)
    device_id: DeviceId
    """The camera (or gate) the alert is about."""
    track: int | None = Field(default=None, ge=0)
    """The person's id in that camera's tracker."""
    box: tuple[int, int, int, int] | None = None
    """Where the person was when the alert opened (pixels of the frame)."""
    unmasked_since: AwareDatetime | None = None
    offline_since: AwareDatetime | None = None
    """For a device-offline alert: when the device dropped off."""
    device_kind: Literal["gate", "camera"] | None = None
    why: Literal["masked", "left", "by_hand", "back_online"] | None = None
    """Why it resolved."""
    by_user: int | None = None
    """Who acknowledged or resolved it by hand."""
    snapshot: str | None = Field(default=None, max_length=200)
    """The stored snapshot's name (the frame with the person boxed and every other face blurred)."""
    crop: str | None = Field(default=None, max_length=200)
    """The stored crop of the person."""
