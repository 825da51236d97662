"""Web Push (RFC 8030) with VAPID (RFC 8292): notifications in the dashboard's browser tabs and installed PWA,
without a Google or Apple account in between.

The payload is encrypted for the subscription (RFC 8291, `aes128gcm`) by
pywebpush, and the request is signed with our VAPID key by py_vapid; the POST
itself goes through httpx like the other HTTP channels, so timeouts, a test's
client and the reading of failures are the same everywhere.

`Topic` is derived from the alert id: while a message waits at the push service
(the browser offline), a newer transition of the same alert replaces it instead
of queueing behind it, so a phone coming back online sees "resolved" once
rather than "opened" then "resolved".
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import httpx
from py_vapid import Vapid02
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pywebpush import WebPusher

from maskwatch.notification_keys import generate_vapid_keys as generate_vapid_keys
from maskwatch.notification_keys import load_vapid_key as load_vapid_key
from maskwatch.notification_keys import public_key_b64url as public_key_b64url
from services.notifier.channels._http import excerpt, status_failure, transport_failure
from services.notifier.channels.base import Channel, DeliveryFailed, Notification, Recipient, Rendered

VAPID_EXPIRY_S = 12 * 3600
"""RFC 8292 caps a VAPID token at 24 hours; push services reject ones close to that."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def topic(alert_id: str) -> str:
    """32 base64url characters (the most RFC 8030 allows), the same for every transition of one alert."""
    return _b64url(hashlib.sha256(alert_id.encode()).digest())[:32]


class WebPushSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vapid_private_key: SecretStr
    """PEM, or base64url (raw scalar or DER); see `generate_vapid_keys()`."""
    subject: str
    """How a push service reaches the operator: `mailto:ops@example.org` or an https URL."""
    ttl_s: int = Field(default=3600, ge=0, le=28 * 24 * 3600)
    """How long a push service keeps a message for an offline browser; an hour-old alert is still news,
    a day-old one is not."""
    urgency: Literal["very-low", "low", "normal", "high"] = "high"
    timeout_s: float = Field(default=10.0, gt=0, le=120)

    @field_validator("vapid_private_key")
    @classmethod
    def _loads(cls, value: SecretStr) -> SecretStr:
        load_vapid_key(value.get_secret_value())
        return value

    @field_validator("subject")
    @classmethod
    def _contact(cls, value: str) -> str:
        if not (value.startswith("mailto:") and "@" in value) and not value.startswith("https://"):
            raise ValueError("the VAPID subject is a mailto: address or an https:// URL")
        return value


class WebPushChannel(Channel):
    name: ClassVar[str] = "webpush"
    GONE: ClassVar[frozenset[int]] = frozenset({404, 410})
    """The subscription expired or was unsubscribed (RFC 8030 §7.3, and what push services send)."""

    def __init__(self, settings: WebPushSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self._vapid = Vapid02(load_vapid_key(settings.vapid_private_key.get_secret_value()))
        self.public_key = public_key_b64url(self._vapid.private_key)
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=settings.timeout_s)

    def send(
        self, recipient: Recipient, notification: Notification, rendered: Rendered, *, delivery_id: str
    ) -> dict[str, Any]:
        endpoint = recipient.address
        parts = urlsplit(endpoint)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise DeliveryFailed(f"not a push endpoint URL: {endpoint!r}", permanent=True)
        p256dh, auth = recipient.secrets.get("p256dh"), recipient.secrets.get("auth")
        if not (p256dh and auth):
            raise DeliveryFailed("the subscription has no p256dh and auth keys", permanent=True)
        try:
            pusher = WebPusher({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}})
            body = pusher.encode(self._payload(notification, rendered), "aes128gcm")["body"]
        except Exception as error:
            # pywebpush raises its own exception, ValueError or binascii.Error for keys that do not decode
            # to a P-256 point: the subscription can never be delivered to.
            raise DeliveryFailed(f"unusable subscription keys: {error}", permanent=True) from error
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + VAPID_EXPIRY_S,
            "sub": self.settings.subject,
        }
        headers = {
            **self._vapid.sign(claims),
            "content-encoding": "aes128gcm",
            "content-type": "application/octet-stream",
            "ttl": str(self.settings.ttl_s),
            "topic": topic(notification.alert_id),
            "urgency": self.settings.urgency,
        }
        try:
            response = self._client.post(
                endpoint, content=body, headers=headers, timeout=self.settings.timeout_s
            )
        except httpx.HTTPError as error:
            raise transport_failure(error) from error
        if not response.is_success:
            raise status_failure(response, gone=self.GONE, what="push service answered")
        return {
            "status": response.status_code,
            "location": response.headers.get("location"),
            "answer": excerpt(response),
        }

    @staticmethod
    def _payload(notification: Notification, rendered: Rendered) -> bytes:
        """What the service worker's `push` handler reads; small, as push services cap payloads at 4 KB."""
        n = notification
        return json.dumps(
            {
                "title": rendered.title,
                "body": rendered.body,
                "alert_id": n.alert_id,
                "transition": n.transition,
                "kind": n.kind,
                "site_id": n.site_id,
                "device_id": n.device_id,
                "at": n.at.isoformat(),
                "link": n.link,
                "count": len(n.digest) or 1,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
