"""What every notification channel is: something that delivers one message to one recipient, or says why not.

A channel neither retries nor remembers: the delivery job around it does both.
It raises `DeliveryFailed` with what it learnt (try again later, after how long;
or never, because the address is dead), so the job can decide.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

Language = Literal["en", "ko"]


@dataclass(frozen=True)
class Recipient:
    """Someone (or something) a channel delivers to."""

    recipient_id: int
    address: str
    """Per channel: an e-mail address, a webhook URL, an SNS topic ARN or phone number, an FCM token,
    a Web Push subscription's endpoint."""
    language: Language = "en"
    time_zone: str = "UTC"
    secrets: dict[str, str] = field(default_factory=dict)
    """Per channel: a webhook's signing secret, a Web Push subscription's keys."""


@dataclass(frozen=True)
class Notification:
    """One alert transition, as every channel needs it (the words are rendered per recipient)."""

    alert_id: str
    transition: Literal["opened", "acknowledged", "resolved"]
    kind: str
    site_id: str
    site_name: str
    device_id: str
    at: datetime
    unmasked_since: datetime | None = None
    offline_since: datetime | None = None
    """For a device-offline alert: when the device dropped off."""
    why: str | None = None
    link: str = ""
    """The alert in the dashboard."""
    snapshot_jpeg: bytes | None = None
    digest: tuple[Notification, ...] = ()
    """When this message is a digest: every transition it carries, oldest first (held by the
    recipient's quiet hours or rate limit). The fields above are then the newest one's."""


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


class DeliveryFailed(Exception):
    """The message was not delivered. `permanent`: the address is gone (remove it, do not retry);
    otherwise retry, no sooner than `retry_after_s` when the receiver said so."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after_s = retry_after_s


class Channel(ABC):
    """A way to reach people; subclasses register by `name` (the value stored in a site's routing)."""

    name: ClassVar[str]

    @abstractmethod
    def send(
        self, recipient: Recipient, notification: Notification, rendered: Rendered, *, delivery_id: str
    ) -> dict[str, Any]:
        """Deliver, or raise DeliveryFailed. `delivery_id` is the same on every retry of one delivery,
        so a receiver can drop duplicates. Returns what the receiver answered, for the delivery record."""
