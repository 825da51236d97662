"""The FCM channel against a loopback server playing both Google's OAuth token endpoint (a JWT-bearer grant
signed with the service account's key) and the FCM v1 send endpoint; the token is cached; each FCM error maps
to drop-the-token, retry later, or retry with a fresh token."""

from __future__ import annotations

import json
import threading
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import RSAKey
from pydantic import ValidationError

from services.notifier.channels.base import DeliveryFailed, Recipient
from services.notifier.channels.fcm import SCOPES, FcmChannel, FcmSettings
from tests.notifier.receiver import Received, Receiver, Reply, closed_port_url

PROJECT = "maskwatch-test"
CLIENT_EMAIL = "notifier@maskwatch-test.iam.gserviceaccount.com"
SEND_PATH = f"/v1/projects/{PROJECT}/messages:send"
DEVICE = "dGVzdC1kZXZpY2UtdG9rZW4:APA91bH-example"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Google:
    """The token endpoint and FCM, with what each saw."""

    def __init__(self, public_pem: bytes, token_uri: str, expires_in: int = 3600) -> None:
        self.public_key = RSAKey.import_key(public_pem)
        self.token_uri = token_uri
        self.expires_in = expires_in
        self.minted: list[str] = []
        self.grants: list[dict[str, object]] = []
        self.sends: list[Received] = []
        self.fcm_replies: list[Reply] = []
        self.token_reply: Reply | None = None
        self._lock = threading.Lock()

    def __call__(self, request: Received) -> Reply:
        with self._lock:
            if request.path == "/token":
                return self._token(request)
            if request.path == SEND_PATH:
                self.sends.append(request)
                if request.headers.get("authorization") != f"Bearer {self.minted[-1] if self.minted else ''}":
                    return Reply(
                        401, json.dumps({"error": {"code": 401, "status": "UNAUTHENTICATED"}}).encode()
                    )
                if self.fcm_replies:
                    return self.fcm_replies.pop(0)
                name = f"projects/{PROJECT}/messages/{len(self.sends)}"
                return Reply(200, json.dumps({"name": name}).encode(), {"Content-Type": "application/json"})
            return Reply(404)

    def _token(self, request: Received) -> Reply:
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        token = jwt.decode(form["assertion"], self.public_key, algorithms=["RS256"])
        self.grants.append(token.claims)
        assert token.header["alg"] == "RS256"
        assert token.claims["iss"] == CLIENT_EMAIL
        # google-auth names Google's endpoint as the audience even when the JSON's token_uri is elsewhere.
        assert token.claims["aud"] == "https://oauth2.googleapis.com/token"
        assert token.claims["scope"] == " ".join(SCOPES)
        assert int(token.claims["exp"]) > int(token.claims["iat"])
        if self.token_reply is not None:
            return self.token_reply
        self.minted.append(f"ya29.token-{len(self.minted) + 1}")
        body = {"access_token": self.minted[-1], "expires_in": self.expires_in, "token_type": "Bearer"}
        return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})


def service_account(signing_key: rsa.RSAPrivateKey, token_uri: str) -> dict[str, str]:
    pem = signing_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "key-1",
        "private_key": pem,
        "client_email": CLIENT_EMAIL,
        "client_id": "1234567890",
        "token_uri": token_uri,
    }


def fake_google(server: Receiver, signing_key: rsa.RSAPrivateKey) -> Google:
    """`server` answering as Google's token endpoint and FCM, trusting `signing_key`'s service account."""
    public_pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fake = Google(public_pem, f"{server.url}/token")
    server.answer = fake
    return fake


def fcm_channel(
    server: Receiver, google: Google, signing_key: rsa.RSAPrivateKey, http: httpx.Client
) -> FcmChannel:
    settings = FcmSettings(
        service_account_json=json.dumps(service_account(signing_key, google.token_uri)),
        base_url=server.url,
        timeout_s=2,
    )
    return FcmChannel(settings, client=http)


@pytest.fixture
def google(receiver, signing_key) -> Google:
    return fake_google(receiver, signing_key)


@pytest.fixture
def channel(receiver, google, signing_key, http) -> FcmChannel:
    return fcm_channel(receiver, google, signing_key, http)


def fcm_error(status: int, code: str, message: str, details: list[dict[str, object]] | None = None) -> Reply:
    body = {"error": {"code": status, "message": message, "status": code, "details": details or []}}
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json"})


def fcm_code(code: str) -> dict[str, object]:
    return {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}


def test_a_send_is_the_v1_message_with_a_bearer_token_minted_once_and_reused(
    channel, google, notification, rendered
):
    first = channel.send(Recipient(1, DEVICE), notification, rendered, delivery_id="d1")
    second = channel.send(Recipient(1, DEVICE), notification, rendered, delivery_id="d2")

    assert first == {"status": 200, "name": f"projects/{PROJECT}/messages/1"}
    assert second["name"] == f"projects/{PROJECT}/messages/2"
    assert google.minted == ["ya29.token-1"], "the access token is cached until it nears expiry"
    request = google.sends[0]
    assert request.method == "POST"
    assert request.headers["authorization"] == "Bearer ya29.token-1"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {
        "message": {
            "token": DEVICE,
            "notification": {"title": rendered.title, "body": rendered.body},
            "data": {
                "alert_id": notification.alert_id,
                "transition": "opened",
                "link": notification.link,
                "count": "1",
            },
            "android": {"priority": "high"},
        }
    }


def test_a_token_about_to_expire_is_replaced(channel, google, notification, rendered):
    google.expires_in = 60  # inside google-auth's refresh margin: never fresh
    channel.send(Recipient(1, DEVICE), notification, rendered, delivery_id="d1")
    channel.send(Recipient(1, DEVICE), notification, rendered, delivery_id="d2")
    assert google.minted == ["ya29.token-1", "ya29.token-2"]
    assert [r.headers["authorization"] for r in google.sends] == [
        "Bearer ya29.token-1",
        "Bearer ya29.token-2",
    ]


@pytest.mark.parametrize(
    "reply",
    [
        fcm_error(404, "NOT_FOUND", "Requested entity was not found.", [fcm_code("UNREGISTERED")]),
        fcm_error(404, "NOT_FOUND", "Requested entity was not found."),
        fcm_error(
            400,
            "INVALID_ARGUMENT",
            "The registration token is not a valid FCM registration token",
            [fcm_code("INVALID_ARGUMENT")],
        ),
        fcm_error(
            400,
            "INVALID_ARGUMENT",
            "Invalid value at 'message.token'",
            [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": "message.token"}],
                }
            ],
        ),
    ],
)
def test_a_dead_device_token_is_permanent_and_says_unregistered(
    channel, google, notification, rendered, reply
):
    google.fcm_replies = [reply]
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(Recipient(1, DEVICE), notification, rendered, delivery_id="d")
    assert failed.value.permanent
    assert failed.value.reason.startswith("unregistered")


def test_an_invalid_argument_about_our_payload_is_not_blamed_on_the_token(
    channel, google, notification, rendered
):
    google.fcm_replies = [
        fcm_error(
            400,
            "INVALID_ARGUMENT",
            "Invalid value at 'message.data[0].value' (TYPE_STRING)",
            [
                fcm_code("INVALID_ARGUMENT"),
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": "message.data[0].value"}],
                },
            ],
        )
    ]
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(Recipient(1, DEVICE), notification, rendered, delivery_id="d")
    assert not failed.value.permanent


@pytest.mark.parametrize(
    ("reply", "retry_after"),
    [
        (Reply(429, b'{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}', {"Retry-After": "30"}), 30.0),
        (Reply(503, b'{"error":{"code":503,"status":"UNAVAILABLE"}}', {"Retry-After": "5"}), 5.0),
        (Reply(500, b"backend error"), None),
    ],
)
def test_quota_and_server_errors_are_retried_after_what_fcm_asks(
    channel, google, notification, rendered, reply, retry_after
):
    google.fcm_replies = [reply]
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(Recipient(1, DEVICE), notification, rendered, delivery_id="d")
    assert not failed.value.permanent
    assert failed.value.retry_after_s == retry_after


def test_a_rejected_access_token_is_retried_with_a_new_one(channel, google, notification, rendered):
    channel.send(Recipient(1, DEVICE), notification, rendered, delivery_id="d1")
    google.fcm_replies = [
        fcm_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
    ]
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(Recipient(1, DEVICE), notification, rendered, delivery_id="d2")
    assert not failed.value.permanent
    channel.send(Recipient(1, DEVICE), notification, rendered, delivery_id="d2")
    assert google.minted == ["ya29.token-1", "ya29.token-2"]


def test_a_refused_service_account_is_retried_and_never_drops_the_device(
    channel, google, notification, rendered
):
    google.token_reply = Reply(
        400,
        b'{"error":"invalid_grant","error_description":"Invalid JWT Signature."}',
        {"Content-Type": "application/json"},
    )
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(Recipient(1, DEVICE), notification, rendered, delivery_id="d")
    assert not failed.value.permanent
    assert "invalid_grant" in failed.value.reason
    assert google.sends == []


def test_unreachable_fcm_is_retryable(google, receiver, signing_key, http, notification, rendered):
    settings = FcmSettings(
        service_account_json=json.dumps(service_account(signing_key, google.token_uri)),
        base_url=closed_port_url(),
        timeout_s=1,
    )
    with pytest.raises(DeliveryFailed) as failed:
        FcmChannel(settings, client=http).send(Recipient(1, DEVICE), notification, rendered, delivery_id="d")
    assert not failed.value.permanent


def test_the_service_account_can_come_from_a_file_and_settings_fail_fast(tmp_path, signing_key):
    info = service_account(signing_key, "http://127.0.0.1:9/token")
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(info))
    channel = FcmChannel(FcmSettings(service_account_file=path, project_id="other-project"))
    assert channel.url == "https://fcm.googleapis.com/v1/projects/other-project/messages:send"
    channel.close()

    with pytest.raises(ValidationError, match="exactly one"):
        FcmSettings()
    with pytest.raises(ValidationError, match="exactly one"):
        FcmSettings(service_account_file=path, service_account_json=json.dumps(info))
    without_key = {k: v for k, v in info.items() if k != "private_key"}
    with pytest.raises(ValidationError, match="private_key"):
        FcmSettings(service_account_json=json.dumps(without_key))
    without_project = {k: v for k, v in info.items() if k != "project_id"}
    with pytest.raises(ValidationError, match="project_id"):
        FcmSettings(service_account_json=json.dumps(without_project))
