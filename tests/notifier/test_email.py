"""The e-mail channel against a real SMTP server on loopback (aiosmtpd): STARTTLS with a login, implicit
TLS and plain SMTP; the message as a mail client sees it; and which SMTP answers drop the address."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from services.notifier.channels.base import DeliveryFailed, Recipient, Rendered
from services.notifier.channels.email import EmailChannel, EmailSettings
from tests.ports import free_port

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"


@dataclass
class Mailbox:
    """What the SMTP server saw, and how it answers RCPT TO for special addresses."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    refusals: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refusals:
            return self.refusals[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 queued"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        # handled=False: aiosmtpd then sends the 235 or 535 answer itself.
        return AuthResult(success=auth_data == LoginPassword(b"alerts", b"s3cret"), handled=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed CA certificate for 127.0.0.1, the relay's own."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "maskwatch test relay")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "relay.pem", folder / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def relay(mailbox, certificate) -> Iterator[int]:
    """A submission server: STARTTLS required, then a login."""
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=mailbox.authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    yield controller.port
    controller.stop()


def settings(port: int, certificate: tuple[Path, Path], **overrides) -> EmailSettings:
    values = {
        "host": "127.0.0.1",
        "port": port,
        "security": "starttls",
        "username": "alerts",
        "password": "s3cret",
        "from_address": "Maskwatch <alerts@maskwatch.example>",
        "ca_file": certificate[0],
        "timeout_s": 5,
    }
    values.update(overrides)
    return EmailSettings.model_validate(values)


def parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_starttls_and_login_deliver_a_message_with_the_snapshot_attached(
    relay, mailbox, certificate, notification, rendered
):
    channel = EmailChannel(settings(relay, certificate))
    with_snapshot = replace(notification, snapshot_jpeg=JPEG)
    ko = Recipient(recipient_id=3, address="guard@site.example", language="ko")
    korean = replace(rendered, title="hall-1 카메라: 마스크 미착용 2분")

    answer = channel.send(ko, with_snapshot, korean, delivery_id="dlv/42")

    assert mailbox.logins == [(b"alerts", b"s3cret")]
    ((sender, recipients, raw),) = mailbox.messages
    assert sender == "alerts@maskwatch.example"
    assert recipients == ["guard@site.example"]
    message = parse(raw)
    assert answer == {"accepted": "guard@site.example", "message_id": message["Message-ID"]}
    assert message["Subject"] == "hall-1 카메라: 마스크 미착용 2분"
    assert message["From"] == "Maskwatch <alerts@maskwatch.example>"
    assert message["To"] == "guard@site.example"
    assert message["Message-ID"] == "<dlv/42@maskwatch.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(("plain",))
    assert text is not None
    # SMTP carries CRLF line ends; the text is the rendered body, then the link.
    assert text.get_content().replace("\r\n", "\n") == f"{rendered.body}\n\n{notification.link}\n"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "image/jpeg"
    assert attachment.get_filename() == "snapshot-hall-1.jpg"
    assert attachment.get_content() == JPEG


def test_the_link_is_not_repeated_when_the_body_already_has_it(relay, mailbox, certificate, notification):
    channel = EmailChannel(settings(relay, certificate))
    rendered_with_link = Rendered(title="t", body=f"Mask missing.\nDetails: {notification.link}")
    channel.send(Recipient(1, "a@site.example"), notification, rendered_with_link, delivery_id="d1")
    message = parse(mailbox.messages[0][2])
    assert message.get_content_type() == "text/plain"
    assert message.get_content().count(notification.link) == 1


def test_implicit_tls_and_plain_smtp(mailbox, certificate, notification, rendered):
    tls = Controller(mailbox, hostname="127.0.0.1", port=free_port(), ssl_context=server_context(certificate))
    plain = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    tls.start()
    plain.start()
    try:
        EmailChannel(settings(tls.port, certificate, security="tls", username=None, password=None)).send(
            Recipient(1, "tls@site.example"), notification, rendered, delivery_id="d-tls"
        )
        EmailChannel(settings(plain.port, certificate, security="none", username=None, password=None)).send(
            Recipient(1, "plain@site.example"), notification, rendered, delivery_id="d-plain"
        )
    finally:
        tls.stop()
        plain.stop()
    assert [recipients for _, recipients, _ in mailbox.messages] == [
        ["tls@site.example"],
        ["plain@site.example"],
    ]


def test_a_5xx_refusal_of_the_recipient_is_permanent_and_a_4xx_is_retried(
    relay, mailbox, certificate, notification, rendered
):
    mailbox.refusals = {
        "gone@site.example": "550 5.1.1 no such user",
        "busy@site.example": "451 4.3.0 try again later",
    }
    channel = EmailChannel(settings(relay, certificate))
    with pytest.raises(DeliveryFailed) as gone:
        channel.send(Recipient(1, "gone@site.example"), notification, rendered, delivery_id="d")
    assert gone.value.permanent
    assert "550" in gone.value.reason
    with pytest.raises(DeliveryFailed) as busy:
        channel.send(Recipient(1, "busy@site.example"), notification, rendered, delivery_id="d")
    assert not busy.value.permanent
    assert "451" in busy.value.reason
    assert mailbox.messages == []


def test_server_trouble_is_retried_never_permanent(relay, mailbox, certificate, notification, rendered):
    to = Recipient(1, "guard@site.example")
    wrong_password = EmailChannel(settings(relay, certificate, password="nope"))
    untrusted = EmailChannel(settings(relay, certificate, ca_file=None))
    nobody_home = EmailChannel(settings(free_port(), certificate))
    for channel in (wrong_password, untrusted, nobody_home):
        with pytest.raises(DeliveryFailed) as failed:
            channel.send(to, notification, rendered, delivery_id="d")
        assert not failed.value.permanent, failed.value.reason
    assert mailbox.messages == []


def test_a_silent_server_times_out(certificate, notification, rendered):
    """A relay that accepts the connection and never speaks: the send gives up (the test's own timeout
    would stop it otherwise) as a failure to retry, not a dead address."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        channel = EmailChannel(settings(port, certificate, timeout_s=0.3))
        with pytest.raises(DeliveryFailed) as failed:
            channel.send(Recipient(1, "guard@site.example"), notification, rendered, delivery_id="d")
    assert not failed.value.permanent


def test_settings_fail_fast(certificate):
    with pytest.raises(ValidationError, match="both username and password"):
        settings(25, certificate, password=None)
    with pytest.raises(ValidationError, match="without TLS"):
        settings(25, certificate, security="none")
    with pytest.raises(ValidationError, match="not an e-mail address"):
        settings(25, certificate, from_address="maskwatch")
    with pytest.raises(ValidationError, match="no such CA file"):
        settings(25, certificate, ca_file="/nonexistent/ca.pem")
    assert EmailSettings(host="relay", from_address="a@b.example").effective_port == 587
    assert EmailSettings(host="relay", from_address="a@b.example", security="tls").effective_port == 465


def test_an_address_that_is_not_one_is_permanent(certificate, notification, rendered):
    channel = EmailChannel(settings(free_port(), certificate))
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(Recipient(1, "not an address"), notification, rendered, delivery_id="d")
    assert failed.value.permanent
