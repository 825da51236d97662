"""E-mail over SMTP, to whatever relay the site already uses (its own, or a provider's submission port).

SMTP says clearly when an address is dead: a 5xx answer to RCPT TO. Only that is
permanent. Everything else (a refused connection, a 4xx greylisting answer, a
relay refusing our sender or our login) is either passing or our own
configuration, and dropping the recipient for it would lose them for good; those
are retried and end up dead-lettered where an operator sees them.

The Message-ID is made from the delivery id, so every retry of one delivery is
the same message to any server or mail client that drops duplicates.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from services.notifier.channels.base import Channel, DeliveryFailed, Notification, Recipient, Rendered

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class EmailSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    """Defaults by `security`: 587 (submission with STARTTLS), 465 (implicit TLS), 25."""
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_address: str
    """`alerts@example.org` or `Maskwatch <alerts@example.org>`."""
    ca_file: Path | None = None
    """A CA bundle to trust instead of the system's, for a relay with a private CA."""
    timeout_s: float = Field(default=30.0, gt=0, le=300)
    """Per socket operation; SMTP servers can be slow to greet, but never minutes."""

    @field_validator("from_address")
    @classmethod
    def _an_address(cls, value: str) -> str:
        if "@" not in parseaddr(value)[1]:
            raise ValueError(f"not an e-mail address: {value!r}")
        return value

    @field_validator("ca_file")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such CA file: {value}")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both username and password, or neither")
        if self.username is not None and self.security == "none":
            raise ValueError("refusing to send SMTP credentials without TLS; use starttls or tls")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]


class EmailChannel(Channel):
    """One message per recipient: the rendered title as the subject, the rendered body (and link) as text,
    and the snapshot attached when the notification carries one."""

    name: ClassVar[str] = "email"

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings
        self._context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)

    def message(
        self, recipient: Recipient, notification: Notification, rendered: Rendered, *, delivery_id: str
    ) -> EmailMessage:
        n = notification
        message = EmailMessage()
        message["From"] = self.settings.from_address
        message["To"] = recipient.address
        message["Subject"] = rendered.title
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = _message_id(delivery_id, self.settings.from_address)
        # RFC 3834: tells vacation responders and ticket systems not to answer an automatic message.
        message["Auto-Submitted"] = "auto-generated"
        message["X-Maskwatch-Alert"] = n.alert_id
        text = rendered.body
        if n.link and n.link not in text:
            text = f"{text}\n\n{n.link}"
        # Quoted-printable keeps the message 7-bit, so relays without 8BITMIME take Korean text too.
        message.set_content(text + "\n", charset="utf-8", cte="quoted-printable")
        if n.snapshot_jpeg:
            message.add_attachment(
                n.snapshot_jpeg, maintype="image", subtype="jpeg", filename=f"snapshot-{n.device_id}.jpg"
            )
        return message

    def send(
        self, recipient: Recipient, notification: Notification, rendered: Rendered, *, delivery_id: str
    ) -> dict[str, Any]:
        to = parseaddr(recipient.address)[1]
        if "@" not in to:
            raise DeliveryFailed(f"not an e-mail address: {recipient.address!r}", permanent=True)
        message = self.message(recipient, notification, rendered, delivery_id=delivery_id)
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as error:
            raise _failure(error) from error
        try:
            smtp.send_message(message, to_addrs=[to])
        except (OSError, smtplib.SMTPException) as error:
            raise _failure(error) from error
        finally:
            _close(smtp)
        return {"accepted": to, "message_id": message["Message-ID"]}

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP
        if s.security == "tls":
            smtp = smtplib.SMTP_SSL(s.host, s.effective_port, timeout=s.timeout_s, context=self._context)
        else:
            smtp = smtplib.SMTP(s.host, s.effective_port, timeout=s.timeout_s)
        try:
            if s.security == "starttls":
                smtp.starttls(context=self._context)
                smtp.ehlo()
            if s.username is not None and s.password is not None:
                smtp.login(s.username, s.password.get_secret_value())
        except BaseException:
            _close(smtp)
            raise
        return smtp


def _failure(error: OSError | smtplib.SMTPException) -> DeliveryFailed:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        # Sent to one address: every refusal is that address's.
        answers = list(error.recipients.values())
        code, text = answers[0] if answers else (0, b"")
        reason = f"recipient refused: {code} {_decode(text)}"
        return DeliveryFailed(reason, permanent=500 <= code < 600)
    if isinstance(error, smtplib.SMTPResponseException):
        return DeliveryFailed(f"{type(error).__name__}: {error.smtp_code} {_decode(error.smtp_error)}")
    return DeliveryFailed(f"{type(error).__name__}: {error}")


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text


def _close(smtp: smtplib.SMTP) -> None:
    """QUIT politely; a server that already hung up after accepting the message is not a failure."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _message_id(delivery_id: str, from_address: str) -> str:
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "maskwatch.invalid"
    local = re.sub(r"[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]", "-", delivery_id) or "delivery"
    return f"<{local}@{domain}>"
