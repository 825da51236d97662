"""Webhooks, signed the Standard Webhooks way (https://www.standardwebhooks.com/).

Following a published scheme rather than inventing one means a receiver can
verify us with an off-the-shelf library in any language. The three headers:
`webhook-id` (the delivery id, the same on every retry, so the receiver can drop
duplicates), `webhook-timestamp` (unix seconds of this attempt, so a captured
request cannot be replayed later) and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`). The secret is
`whsec_<base64 key>`, made by `new_webhook_secret()`; `verify()` is the
receiver's side, for our own tests and for anyone writing a receiver in Python.

The payload follows the spec's recommended envelope (`type`, `timestamp`,
`data`) and deliberately carries no snapshot: a webhook URL is often a chat or
ticket system where an image of a person does not belong; `link` leads to it
behind the dashboard's sign-in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field

from maskwatch.notification_keys import SECRET_PREFIX as SECRET_PREFIX
from maskwatch.notification_keys import WEBHOOK_SECRET_KEY
from maskwatch.notification_keys import new_webhook_secret as new_webhook_secret
from services.notifier.channels._http import excerpt, status_failure, transport_failure
from services.notifier.channels.base import Channel, DeliveryFailed, Notification, Recipient, Rendered

SECRET_KEY = WEBHOOK_SECRET_KEY
"""Where a webhook recipient's signing secret sits in `Recipient.secrets`."""


class WebhookVerificationError(Exception):
    """A request that did not come from the holder of the secret, or came too late (or too early)."""


class WebhookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(default=10.0, gt=0, le=120)
    """For connecting and for the whole answer: a slow receiver must not hold a delivery worker."""
    user_agent: str = Field(default="Maskwatch-Webhooks/1", min_length=1)


def signing_key(secret: str) -> bytes:
    """The HMAC key inside a `whsec_…` secret. Raises ValueError on anything else."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("a webhook secret is whsec_ followed by base64") from error
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value for one request."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_s: float = 300,
    *,
    now: float | None = None,
) -> None:
    """Check a received webhook; raises WebhookVerificationError unless one of its `v1` signatures matches
    and its timestamp is within `tolerance_s` of `now`. Several space-separated signatures are allowed
    (the spec's way of rotating secrets)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get("webhook-id")
    timestamp_text = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (message_id and timestamp_text and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(timestamp_text)
    except ValueError as error:
        raise WebhookVerificationError("webhook-timestamp is not unix seconds") from error
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance")
    expected = sign(secret, message_id, timestamp, body).encode()
    for candidate in signatures.split():
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return
    raise WebhookVerificationError("no matching signature")


def payload(notification: Notification, rendered: Rendered) -> dict[str, Any]:
    """`alert.opened` (…`acknowledged`, `resolved`) with one alert's fields; `alert.digest` when the
    message carries several held transitions, each in `data.items` with the same fields."""
    n = notification
    if n.digest:
        return {
            "type": "alert.digest",
            "timestamp": n.at.isoformat(),
            "data": {
                "site_id": n.site_id,
                "site_name": n.site_name,
                "count": len(n.digest),
                "title": rendered.title,
                "body": rendered.body,
                "items": [_fields(item) for item in n.digest],
            },
        }
    return {
        "type": f"alert.{n.transition}",
        "timestamp": n.at.isoformat(),
        "data": _fields(n) | {"title": rendered.title, "body": rendered.body},
    }


def _fields(n: Notification) -> dict[str, Any]:
    return {
        "alert_id": n.alert_id,
        "transition": n.transition,
        "kind": n.kind,
        "site_id": n.site_id,
        "site_name": n.site_name,
        "device_id": n.device_id,
        "at": n.at.isoformat(),
        "unmasked_since": n.unmasked_since.isoformat() if n.unmasked_since else None,
        "why": n.why,
        "link": n.link,
    }


class WebhookChannel(Channel):
    """POSTs a signed JSON payload to the recipient's URL. 2xx is delivered; 410 Gone means the receiver
    asked to be forgotten (the spec's convention); anything else is retried."""

    name: ClassVar[str] = "webhook"
    GONE: ClassVar[frozenset[int]] = frozenset({410})

    def __init__(self, settings: WebhookSettings | None = None, client: httpx.Client | None = None) -> None:
        self.settings = settings or WebhookSettings()
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=self.settings.timeout_s)

    def send(
        self, recipient: Recipient, notification: Notification, rendered: Rendered, *, delivery_id: str
    ) -> dict[str, Any]:
        if not recipient.address.startswith(("https://", "http://")):
            raise DeliveryFailed(f"not an http(s) URL: {recipient.address!r}", permanent=True)
        secret = recipient.secrets.get(SECRET_KEY)
        if not secret:
            raise DeliveryFailed(f"the recipient has no {SECRET_KEY}", permanent=True)
        body = json.dumps(payload(notification, rendered), ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(time.time())
        try:
            signature = sign(secret, delivery_id, timestamp, body)
        except ValueError as error:
            raise DeliveryFailed(f"unusable {SECRET_KEY}: {error}", permanent=True) from error
        headers = {
            "content-type": "application/json",
            "user-agent": self.settings.user_agent,
            "webhook-id": delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature,
        }
        try:
            # Redirects are not followed: the signature is for the URL the owner registered.
            response = self._client.post(
                recipient.address,
                content=body,
                headers=headers,
                timeout=self.settings.timeout_s,
                follow_redirects=False,
            )
        except httpx.HTTPError as error:
            raise transport_failure(error) from error
        if not response.is_success:
            raise status_failure(response, gone=self.GONE, what="webhook answered")
        return {"status": response.status_code, "answer": excerpt(response)}

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
