"""Amazon SNS: a topic (fanned out to whatever subscribes: SQS, e-mail, Lambda, a pager), a phone number
(SMS) or a mobile platform endpoint, told apart by the shape of `recipient.address`.

botocore's own retries are switched off: the delivery job retries with its own
backoff and records each try, and two layers of retries would multiply the
wait while hiding the attempts. On a FIFO topic the delivery id is the
deduplication id, so a retried delivery is dropped by SNS itself.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from services.notifier.channels.base import Channel, DeliveryFailed, Notification, Recipient, Rendered

TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
ENDPOINT_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:endpoint/.+$")
PHONE = re.compile(r"^\+\d{2,20}$")
"""Loose on purpose: SNS knows which numbers exist; it answers InvalidParameter for the rest."""

SUBJECT_LIMIT = 99
"""SNS subjects: under 100 characters, no line breaks."""
SMS_LIMIT = 600
"""Characters of an SMS. SNS refuses messages over 1,600 bytes with InvalidParameter, which for a phone number
otherwise means a bad number; cutting well below it (Korean text is two bytes a character in UCS-2) keeps a
long message from being taken for a dead number."""

GONE_CODES = frozenset({"EndpointDisabled", "NotFound", "NotFoundException"})

Target = Literal["topic", "phone", "endpoint"]


class SnsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str = Field(min_length=1)
    endpoint_url: str | None = None
    """An SNS-compatible server instead of AWS's (LocalStack, moto, a test's loopback)."""
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    """Both, or neither for boto3's default chain (environment, shared config, instance role)."""
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    sms_type: Literal["Transactional", "Promotional"] = "Transactional"
    """Transactional SMS are routed for reliability, which an alert about a person needs."""

    @model_validator(mode="after")
    def _keys_together(self) -> SnsSettings:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("set both access_key_id and secret_access_key, or neither")
        return self


def target(address: str) -> Target | None:
    if ENDPOINT_ARN.match(address):
        return "endpoint"
    if TOPIC_ARN.match(address):
        return "topic"
    if PHONE.match(address):
        return "phone"
    return None


class SnsChannel(Channel):
    name: ClassVar[str] = "sns"

    def __init__(self, settings: SnsSettings) -> None:
        self.settings = settings
        s = settings
        self._client: Any = boto3.client(
            "sns",
            region_name=s.region,
            endpoint_url=s.endpoint_url,
            aws_access_key_id=s.access_key_id,
            aws_secret_access_key=s.secret_access_key.get_secret_value() if s.secret_access_key else None,
            config=Config(
                connect_timeout=s.timeout_s,
                read_timeout=s.timeout_s,
                retries={"total_max_attempts": 1, "mode": "standard"},
            ),
        )

    def send(
        self, recipient: Recipient, notification: Notification, rendered: Rendered, *, delivery_id: str
    ) -> dict[str, Any]:
        kind = target(recipient.address)
        if kind is None:
            raise DeliveryFailed(
                f"not a topic ARN, endpoint ARN or E.164 number: {recipient.address!r}", permanent=True
            )
        request: dict[str, Any]
        if kind == "topic":
            request = {
                "TopicArn": recipient.address,
                "Subject": _subject(rendered.title),
                "Message": rendered.body,
            }
            if recipient.address.endswith(".fifo"):
                request["MessageGroupId"] = notification.alert_id
                request["MessageDeduplicationId"] = _dedup_id(delivery_id)
        elif kind == "phone":
            request = {
                "PhoneNumber": recipient.address,
                "Message": f"{rendered.title}\n{rendered.body}"[:SMS_LIMIT],
                "MessageAttributes": {
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": self.settings.sms_type}
                },
            }
        else:
            request = {"TargetArn": recipient.address, "Message": f"{rendered.title}\n{rendered.body}"}
        try:
            answer = self._client.publish(**request)
        except ClientError as error:
            raise _failure(error, kind) from error
        except BotoCoreError as error:
            # No answer at all: connection refused or reset, timeouts, no credentials yet.
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
        return {"message_id": answer["MessageId"], "target": kind}


def _failure(error: ClientError, kind: Target) -> DeliveryFailed:
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    reason = f"{code or 'SNS'} ({status}): {details.get('Message', '')}"
    if code in GONE_CODES or (code == "InvalidParameter" and kind == "phone"):
        return DeliveryFailed(reason, permanent=True)
    retry_after = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("retry-after")
    seconds = float(retry_after) if retry_after and str(retry_after).isdigit() else None
    # Throttling, 5xx, and also the rest (authorization, KMS trouble, a subject SNS dislikes): those are
    # passing or ours to fix, never a reason to forget the address.
    return DeliveryFailed(reason, retry_after_s=seconds)


def _subject(title: str) -> str:
    return " ".join(title.split())[:SUBJECT_LIMIT]


def _dedup_id(delivery_id: str) -> str:
    """SNS allows 128 characters of letters, digits and punctuation."""
    return re.sub(r"[^A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]", "-", delivery_id)[:128]
