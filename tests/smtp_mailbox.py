"""An SMTP server's handler that keeps what it was sent: the receiving end of the e-mail channel's
tests (aiosmtpd's Controller runs it on loopback)."""

from __future__ import annotations


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler API
        self.messages.append(envelope.content)
        return "250 2.0.0 queued"
