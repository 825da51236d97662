"""Firebase Cloud Messaging (HTTP v1 API): push to the Maskwatch mobile app, one device token at a time.

The access token is a Google OAuth token for the project's service account,
minted by google-auth (a JWT-bearer grant to the `token_uri` the service
account's JSON names) and reused until shortly before it expires: minting one
per message would double the requests and hit the token endpoint's quota on a
busy site. Both the token request and the send go through the same
`httpx.Client`, so they share its timeouts (and a test's loopback server).

A dead device token shows up as 404 / `UNREGISTERED`, or as `INVALID_ARGUMENT`
about the token itself; those are permanent, with a reason starting
"unregistered", so the token is dropped. An `INVALID_ARGUMENT` about anything
else in the message is our payload's fault, the same for every token, and stays
retryable: treating it as permanent would wipe every token on file.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, ClassVar

import httpx
from google.auth import exceptions as auth_exceptions
from google.auth import transport
from google.auth.credentials import TokenState
from google.oauth2 import service_account
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from services.notifier.channels._http import excerpt, retry_after_s, transport_failure
from services.notifier.channels.base import Channel, DeliveryFailed, Notification, Recipient, Rendered

SCOPES = ["https://www.googleapis.com/auth/firebase.messaging"]
UNREGISTERED_STATUSES = frozenset({"UNREGISTERED", "NOT_FOUND"})


class FcmSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_account_file: Path | None = None
    """The service account's JSON key file, as downloaded from the Firebase console…"""
    service_account_json: SecretStr | None = None
    """…or its content (for secrets injected as environment variables). Exactly one of the two."""
    project_id: str | None = None
    """Defaults to the service account's `project_id`."""
    base_url: str = "https://fcm.googleapis.com"
    timeout_s: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _one_service_account(self) -> FcmSettings:
        if (self.service_account_file is None) == (self.service_account_json is None):
            raise ValueError("set exactly one of service_account_file and service_account_json")
        info = self.service_account_info()
        missing = {"client_email", "private_key", "token_uri"} - info.keys()
        if missing:
            raise ValueError(f"the service account JSON lacks {sorted(missing)}")
        if not (self.project_id or info.get("project_id")):
            raise ValueError("no project_id in the settings or the service account JSON")
        return self

    def service_account_info(self) -> dict[str, Any]:
        if self.service_account_json is not None:
            text = self.service_account_json.get_secret_value()
        else:
            assert self.service_account_file is not None
            text = self.service_account_file.read_text(encoding="utf-8")
        info = json.loads(text)
        if not isinstance(info, dict):
            raise ValueError("the service account JSON is not an object")
        return info


class _HttpxRequest(transport.Request):
    """google-auth's transport interface over our httpx client."""

    def __init__(self, client: httpx.Client, timeout_s: float) -> None:
        self._client = client
        self._timeout_s = timeout_s

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _HttpxResponse:
        try:
            response = self._client.request(
                method, url, content=body, headers=headers, timeout=timeout or self._timeout_s
            )
        except httpx.HTTPError as error:
            raise auth_exceptions.TransportError(error) from error  # type: ignore[no-untyped-call]
        return _HttpxResponse(response)


class _HttpxResponse(transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> dict[str, str]:
        return dict(self._response.headers)

    @property
    def data(self) -> bytes:
        return self._response.content


class FcmChannel(Channel):
    name: ClassVar[str] = "fcm"

    def __init__(self, settings: FcmSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        info = settings.service_account_info()
        self.project_id: str = settings.project_id or str(info["project_id"])
        self._credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=SCOPES
        )
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=settings.timeout_s)
        self._auth_request = _HttpxRequest(self._client, settings.timeout_s)
        self._token_lock = threading.Lock()
        self.url = f"{settings.base_url.rstrip('/')}/v1/projects/{self.project_id}/messages:send"

    def access_token(self) -> str:
        """The cached token, or a fresh one once it is within google-auth's refresh margin of expiring."""
        with self._token_lock:
            if self._credentials.token_state != TokenState.FRESH:
                try:
                    self._credentials.refresh(self._auth_request)
                except auth_exceptions.GoogleAuthError as error:
                    # Our credentials, not the device's: retry (and dead-letter), never drop the token.
                    raise DeliveryFailed(f"access token: {error}") from error
            return str(self._credentials.token)

    def _forget_token(self) -> None:
        with self._token_lock:
            self._credentials.token = None

    def send(
        self, recipient: Recipient, notification: Notification, rendered: Rendered, *, delivery_id: str
    ) -> dict[str, Any]:
        n = notification
        message = {
            "message": {
                "token": recipient.address,
                "notification": {"title": rendered.title, "body": rendered.body},
                "data": {
                    "alert_id": n.alert_id,
                    "transition": n.transition,
                    "link": n.link,
                    # A digest: how many transitions this message carries (FCM data values are strings).
                    "count": str(len(n.digest) or 1),
                },
                "android": {"priority": "high"},
            }
        }
        token = self.access_token()
        try:
            response = self._client.post(
                self.url,
                json=message,
                headers={"authorization": f"Bearer {token}"},
                timeout=self.settings.timeout_s,
            )
        except httpx.HTTPError as error:
            raise transport_failure(error) from error
        if response.is_success:
            return {"status": response.status_code, "name": _json(response).get("name")}
        if response.status_code == 401:
            # A token revoked or expired early: mint a new one on the next try.
            self._forget_token()
        raise _failure(response)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _failure(response: httpx.Response) -> DeliveryFailed:
    error = _json(response).get("error")
    error = error if isinstance(error, dict) else {}
    status = str(error.get("status", ""))
    message = str(error.get("message", "")) or excerpt(response)
    details = [d for d in error.get("details", []) if isinstance(d, dict)]
    codes = {str(d["errorCode"]) for d in details if "errorCode" in d} | ({status} if status else set())
    reason = f"FCM {response.status_code} {'/'.join(sorted(codes))}: {message}"
    if response.status_code == 404 or codes & UNREGISTERED_STATUSES:
        return DeliveryFailed(f"unregistered: {reason}", permanent=True)
    if "INVALID_ARGUMENT" in codes and _about_the_token(message, details):
        return DeliveryFailed(f"unregistered: {reason}", permanent=True)
    return DeliveryFailed(reason, retry_after_s=retry_after_s(response))


def _about_the_token(message: str, details: list[dict[str, Any]]) -> bool:
    """Whether an INVALID_ARGUMENT blames the registration token rather than the rest of the message."""
    if "registration token" in message.lower():
        return True
    violations = [
        violation
        for detail in details
        for violation in detail.get("fieldViolations", [])
        if isinstance(violation, dict)
    ]
    return bool(violations) and all(str(v.get("field", "")) == "message.token" for v in violations)
