"""The Web Push channel against a loopback push service: the test plays the browser (its own P-256 key pair
and auth secret), decrypts what arrived (RFC 8291, aes128gcm) and checks the VAPID JWT against our public key;
then how a push service's answers map."""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import replace
from typing import Any

import http_ece  # type: ignore[import-untyped]
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils
from py_vapid import Vapid02
from pydantic import ValidationError

from services.notifier.channels.base import DeliveryFailed, Recipient
from services.notifier.channels.webpush import (
    WebPushChannel,
    WebPushSettings,
    generate_vapid_keys,
    load_vapid_key,
    topic,
)
from tests.notifier.receiver import Reply, closed_port_url

SUBJECT = "mailto:ops@maskwatch.example"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """What a browser's PushManager.subscribe() holds: a P-256 key pair and a 16-byte auth secret."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def subscription(self, endpoint: str) -> Recipient:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return Recipient(
            recipient_id=9, address=endpoint, secrets={"p256dh": b64url(public), "auth": b64url(self.auth)}
        )

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        payload: dict[str, Any] = json.loads(plain)
        return payload


@pytest.fixture(scope="module")
def vapid_keys() -> tuple[str, str]:
    return generate_vapid_keys()


@pytest.fixture
def channel(vapid_keys, http) -> WebPushChannel:
    return WebPushChannel(
        WebPushSettings(vapid_private_key=vapid_keys[0], subject=SUBJECT, ttl_s=600, timeout_s=2), client=http
    )


def verify_vapid(authorization: str, public_key_b64url: str) -> dict[str, Any]:
    """RFC 8292 by hand: `vapid t=<JWT>, k=<key>`, an ES256 JWT signed by the key in `k`."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == public_key_b64url
    header_b64, claims_b64, signature_b64 = fields["t"].split(".")
    assert json.loads(unb64url(header_b64)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64url(signature_b64)
    assert len(raw) == 64
    signature = utils.encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
    public.verify(signature, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    claims: dict[str, Any] = json.loads(unb64url(claims_b64))
    return claims


def test_the_browser_decrypts_the_payload_and_the_vapid_token_verifies(
    channel, vapid_keys, receiver, notification, rendered
):
    receiver.answer = lambda _request: Reply(201, headers={"Location": f"{receiver.url}/messages/1"})
    browser = Browser()

    answer = channel.send(
        browser.subscription(f"{receiver.url}/push/sub-1"), notification, rendered, delivery_id="d"
    )

    assert answer == {"status": 201, "location": f"{receiver.url}/messages/1", "answer": ""}
    (request,) = receiver.requests
    assert request.method == "POST"
    assert request.path == "/push/sub-1"
    assert request.headers["content-encoding"] == "aes128gcm"
    assert request.headers["ttl"] == "600"
    assert request.headers["urgency"] == "high"
    assert browser.decrypt(request.body) == {
        "title": rendered.title,
        "body": rendered.body,
        "alert_id": notification.alert_id,
        "transition": "opened",
        "kind": "unmasked",
        "site_id": "hq",
        "device_id": "hall-1",
        "at": "2025-03-03T05:05:30+00:00",
        "link": notification.link,
        "count": 1,
    }
    claims = verify_vapid(request.headers["authorization"], vapid_keys[1])
    assert claims["aud"] == receiver.url
    assert claims["sub"] == SUBJECT
    assert time.time() < int(claims["exp"]) <= time.time() + 24 * 3600
    assert Vapid02.verify(request.headers["authorization"])
    assert channel.public_key == vapid_keys[1]


def test_a_token_signed_by_another_key_does_not_verify(channel, receiver, notification, rendered):
    channel.send(Browser().subscription(receiver.url), notification, rendered, delivery_id="d")
    _, other_public = generate_vapid_keys()
    authorization = receiver.requests[0].headers["authorization"].replace(channel.public_key, other_public)
    with pytest.raises(InvalidSignature):
        verify_vapid(authorization, other_public)


def test_every_transition_of_one_alert_shares_a_topic_so_the_newest_replaces_a_pending_one(
    channel, receiver, notification, rendered
):
    browser = Browser()
    resolved = replace(notification, transition="resolved", why="masked")
    other = replace(notification, alert_id="9d0e5c1b-1111-4a2b-8c3d-000000000000")
    for n in (notification, resolved, other):
        channel.send(browser.subscription(receiver.url), n, rendered, delivery_id="d")
    topics = [r.headers["topic"] for r in receiver.requests]
    assert topics[0] == topics[1] != topics[2]
    for value in topics:
        assert len(value) <= 32
        assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert topics[0] == topic(notification.alert_id)


@pytest.mark.parametrize("status", [404, 410])
def test_an_expired_subscription_is_permanent(channel, receiver, notification, rendered, status):
    receiver.answer = lambda _request: Reply(status, b"subscription gone")
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(Browser().subscription(receiver.url), notification, rendered, delivery_id="d")
    assert failed.value.permanent


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (429, {"Retry-After": "60"}, 60.0),
        (503, {"Retry-After": "2"}, 2.0),
        (500, {}, None),
        (413, {}, None),
        (403, {}, None),
    ],
)
def test_rate_limits_and_server_errors_are_retried(
    channel, receiver, notification, rendered, status, headers, retry_after
):
    receiver.answer = lambda _request: Reply(status, headers=headers)
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(Browser().subscription(receiver.url), notification, rendered, delivery_id="d")
    assert not failed.value.permanent
    assert failed.value.retry_after_s == retry_after


def test_an_unreachable_push_service_is_retryable(channel, notification, rendered):
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(
            Browser().subscription(f"{closed_port_url()}/push"), notification, rendered, delivery_id="d"
        )
    assert not failed.value.permanent


def test_a_subscription_without_usable_keys_is_permanent(channel, receiver, notification, rendered):
    broken = [
        Recipient(1, receiver.url, secrets={}),
        Recipient(1, receiver.url, secrets={"p256dh": "bm90LWEta2V5", "auth": b64url(os.urandom(16))}),
        Recipient(1, "not a url", secrets=Browser().subscription(receiver.url).secrets),
    ]
    for recipient in broken:
        with pytest.raises(DeliveryFailed) as failed:
            channel.send(recipient, notification, rendered, delivery_id="d")
        assert failed.value.permanent
    assert receiver.requests == []


def test_vapid_keys_load_from_pem_raw_and_der_and_nothing_else(vapid_keys):
    pem, public = vapid_keys
    key = load_vapid_key(pem)
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for form in (pem, b64url(raw), b64url(der)):
        settings = WebPushSettings(vapid_private_key=form, subject=SUBJECT)
        assert WebPushChannel(settings).public_key == public

    rsa_pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    for bad in ("not a key", rsa_pem):
        with pytest.raises(ValidationError):
            WebPushSettings(vapid_private_key=bad, subject=SUBJECT)
    with pytest.raises(ValidationError, match="mailto"):
        WebPushSettings(vapid_private_key=pem, subject="ops@maskwatch.example")
