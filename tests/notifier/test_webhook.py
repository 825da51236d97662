"""The webhook channel against a loopback receiver: Standard Webhooks signatures, checked three ways
(the spec's algorithm written out here, the `standardwebhooks` package, our own `verify`), and how each
answer maps to delivered, retry later, or never again."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from services.notifier.channels.base import DeliveryFailed, Recipient
from services.notifier.channels.webhook import (
    WebhookChannel,
    WebhookSettings,
    WebhookVerificationError,
    new_webhook_secret,
    verify,
)
from tests.notifier.receiver import Reply, closed_port_url

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"""The secret from the Standard Webhooks specification's examples."""


def recipient(url: str, secret: str = SECRET) -> Recipient:
    return Recipient(recipient_id=7, address=url, secrets={"webhook_secret": secret})


def spec_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """The specification's algorithm, independent of the module under test."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@pytest.fixture
def channel(http):
    return WebhookChannel(WebhookSettings(timeout_s=2), client=http)


def test_a_delivery_is_a_signed_json_post_any_standard_webhooks_receiver_accepts(
    channel, receiver, notification, rendered
):
    answer = channel.send(
        recipient(f"{receiver.url}/hooks/maskwatch"), notification, rendered, delivery_id="dlv-1"
    )

    assert answer == {"status": 200, "answer": ""}
    (request,) = receiver.requests
    assert request.method == "POST"
    assert request.path == "/hooks/maskwatch"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "dlv-1"
    timestamp = request.headers["webhook-timestamp"]
    assert abs(int(timestamp) - time.time()) < 30
    assert request.headers["webhook-signature"] == spec_signature(SECRET, "dlv-1", timestamp, request.body)
    assert Webhook(SECRET).verify(request.body, request.headers) == json.loads(request.body)
    verify(SECRET, request.headers, request.body)

    sent = json.loads(request.body)
    assert sent == {
        "type": "alert.opened",
        "timestamp": "2025-03-03T05:05:30+00:00",
        "data": {
            "alert_id": notification.alert_id,
            "transition": "opened",
            "kind": "unmasked",
            "site_id": "hq",
            "site_name": "Hall",
            "device_id": "hall-1",
            "at": "2025-03-03T05:05:30+00:00",
            "unmasked_since": "2025-03-03T05:03:00+00:00",
            "why": None,
            "link": notification.link,
            "title": rendered.title,
            "body": rendered.body,
        },
    }


def test_every_retry_of_a_delivery_carries_the_same_webhook_id(channel, receiver, notification, rendered):
    answers = iter([Reply(503), Reply(204)])
    receiver.answer = lambda _request: next(answers)
    with pytest.raises(DeliveryFailed):
        channel.send(recipient(receiver.url), notification, rendered, delivery_id="dlv-same")
    channel.send(recipient(receiver.url), notification, rendered, delivery_id="dlv-same")
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["dlv-same", "dlv-same"]
    for request in receiver.requests:
        verify(SECRET, request.headers, request.body)


def test_gone_is_permanent(channel, receiver, notification, rendered):
    receiver.answer = lambda _request: Reply(410, b"unsubscribed")
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(recipient(receiver.url), notification, rendered, delivery_id="d")
    assert failed.value.permanent
    assert "410" in failed.value.reason
    assert "unsubscribed" in failed.value.reason


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (503, {"Retry-After": "7"}, 7.0),
        (429, {"Retry-After": "120"}, 120.0),
        (500, {}, None),
        (404, {}, None),
        (401, {}, None),
        (307, {"Location": "http://127.0.0.1:9/elsewhere"}, None),
    ],
)
def test_other_answers_are_retried_honouring_retry_after(
    channel, receiver, notification, rendered, status, headers, retry_after
):
    receiver.answer = lambda _request: Reply(status, headers=headers)
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(recipient(receiver.url), notification, rendered, delivery_id="d")
    assert not failed.value.permanent
    assert failed.value.retry_after_s == retry_after
    assert len(receiver.requests) == 1, "a redirect is not followed"


def test_retry_after_as_an_http_date_is_converted_to_seconds(channel, receiver, notification, rendered):
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 90))
    receiver.answer = lambda _request: Reply(503, headers={"Retry-After": later})
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(recipient(receiver.url), notification, rendered, delivery_id="d")
    assert failed.value.retry_after_s is not None
    assert 80 <= failed.value.retry_after_s <= 91


def test_no_listener_and_a_slow_receiver_are_retryable(http, receiver, notification, rendered):
    channel = WebhookChannel(WebhookSettings(timeout_s=0.3), client=http)
    with pytest.raises(DeliveryFailed) as refused:
        channel.send(recipient(closed_port_url()), notification, rendered, delivery_id="d")
    assert not refused.value.permanent

    def slow(_request):
        time.sleep(1.0)
        return Reply(200)

    receiver.answer = slow
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as timed_out:
        channel.send(recipient(receiver.url), notification, rendered, delivery_id="d")
    assert not timed_out.value.permanent
    assert "Timeout" in timed_out.value.reason
    assert time.monotonic() - started < 1.0


def test_a_recipient_without_a_usable_secret_is_permanent(channel, receiver, notification, rendered):
    for secrets in ({}, {"webhook_secret": "whsec_not base64!"}):
        with pytest.raises(DeliveryFailed) as failed:
            channel.send(
                Recipient(recipient_id=1, address=receiver.url, secrets=secrets),
                notification,
                rendered,
                delivery_id="d",
            )
        assert failed.value.permanent
    assert receiver.requests == [], "nothing unsigned is ever sent"


def test_new_secrets_are_whsec_base64_of_24_random_bytes():
    first, second = new_webhook_secret(), new_webhook_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 24
    # The package's own signer takes our secrets, and our verify takes its signatures.
    body = b'{"ok":true}'
    stamp = int(time.time())
    signature = Webhook(first).sign("msg_1", datetime.fromtimestamp(stamp, UTC), body.decode())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(stamp), "webhook-signature": signature}
    verify(first, headers, body)


def test_verify_rejects_tampering_another_secret_and_stale_or_future_timestamps():
    body = b'{"type":"alert.opened"}'
    now = int(time.time())
    headers = {
        "webhook-id": "msg_2",
        "webhook-timestamp": str(now),
        "webhook-signature": spec_signature(SECRET, "msg_2", str(now), body),
    }
    verify(SECRET, headers, body)
    with pytest.raises(WebhookVerificationError):
        verify(SECRET, headers, body + b" ")
    with pytest.raises(WebhookVerificationError):
        verify(new_webhook_secret(), headers, body)
    with pytest.raises(WebhookVerificationError):
        verify(SECRET, headers, body, now=now + 301)
    with pytest.raises(WebhookVerificationError):
        verify(SECRET, headers, body, now=now - 301)
    with pytest.raises(WebhookVerificationError):
        verify(SECRET, {k: v for k, v in headers.items() if k != "webhook-id"}, body)
    # Rotation: any one of several space-separated signatures may match.
    rotated = {**headers, "webhook-signature": "v1,bm90IGl0 " + headers["webhook-signature"]}
    verify(SECRET, rotated, body)
