"""Keys that notifications are signed or encrypted with: webhook signing secrets, VAPID key pairs and the
keys of a browser's push subscription.

They live on the shared floor because two services need them: the notifier signs
and encrypts with them, and the admin API makes them (a webhook's secret, the
server's VAPID key pair) and checks what a browser sends it, without importing
the notifier.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

SECRET_PREFIX = "whsec_"
"""How a Standard Webhooks secret begins (`whsec_<base64 key>`)."""
WEBHOOK_SECRET_KEY = "webhook_secret"
"""Where a webhook recipient's signing secret sits in its `secrets`."""
VAPID_KEY_NAME = "vapid_private_key"
"""The `server_keys` row holding the server's VAPID private key (PEM) when the settings name none."""
P256_POINT_BYTES = 65
"""An uncompressed P-256 point: 0x04, then x and y of 32 bytes each."""
PUSH_AUTH_BYTES = 16
"""A push subscription's `auth` secret (RFC 8291 §3.2)."""

_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def new_webhook_secret() -> str:
    """A fresh signing secret for a new webhook recipient (192 random bits, as the spec suggests)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """base64url with or without its padding, as browsers and web-push libraries write it."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_vapid_key(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from PEM, or base64url of the raw 32-byte scalar or of DER (the formats web-push
    libraries hand out). Raises ValueError on anything else."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = b64url_decode("".join(text.split()))
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError, binascii.Error) as error:
        raise ValueError(f"not a VAPID private key: {error}") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("a VAPID key is an EC P-256 key")
    return key


def public_key_b64url(key: ec.EllipticCurvePrivateKey) -> str:
    """The form a browser's `pushManager.subscribe({applicationServerKey})` takes."""
    return _b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def vapid_public_key(private_key: str) -> str:
    """The browser's `applicationServerKey` for a VAPID private key in any form `load_vapid_key` reads."""
    return public_key_b64url(load_vapid_key(private_key))


def generate_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair: (private key PEM for the settings, public key base64url for the browser)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return pem, public_key_b64url(key)


def check_push_keys(p256dh: str, auth: str) -> None:
    """Refuse, with ValueError, subscription keys the payload could never be encrypted for: `p256dh` must
    be a point on P-256 (uncompressed) and `auth` 16 bytes, both base64url. Checked when a browser
    registers, so a typo is a 422 then rather than a dead delivery at the first alert."""
    for name, value in (("p256dh", p256dh), ("auth", auth)):
        if not _B64URL.match(value):
            raise ValueError(f"{name} is not base64url")
    point = b64url_decode(p256dh)
    if len(point) != P256_POINT_BYTES or point[0] != 0x04:
        raise ValueError(f"p256dh is not an uncompressed P-256 point ({P256_POINT_BYTES} bytes from 0x04)")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as error:
        raise ValueError("p256dh is not a point on P-256") from error
    if len(b64url_decode(auth)) != PUSH_AUTH_BYTES:
        raise ValueError(f"auth is not {PUSH_AUTH_BYTES} bytes")
