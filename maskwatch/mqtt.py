"""One way to build an MQTT client, so every service and device connects the same way."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Self

import aiomqtt
from pydantic import BaseModel, SecretStr, model_validator

from maskwatch.topics import DEFAULT_ROOT

log = logging.getLogger(__name__)

RECONNECT_START_S = 0.5
RECONNECT_CAP_S = 30.0


class MqttSettings(BaseModel):
    """How to reach the broker; shared by the server settings and the gate agent's."""

    host: str = "127.0.0.1"
    port: int = 18830
    username: str | None = None
    password: SecretStr | None = None
    embedded: bool = True
    """Run an in-process broker on host:port (a one-machine setup); false for Mosquitto."""
    topic_root: str = DEFAULT_ROOT
    persistent_sessions: bool = True
    """Services keep a broker-side session so checks published while they restart wait for them."""
    max_payload_bytes: int = 6 * 1024 * 1024
    """Larger messages are rejected before parsing; a 4 MiB JPEG in base64 JSON fits."""
    tls: bool = False
    """Connect over TLS (Mosquitto's TLS listener, usually port 8883), verifying the broker's
    certificate against `ca_file` (or the system's certificate authorities) and its host name."""
    ca_file: Path | None = None
    """The certificate authority that signed the broker's certificate (a private CA's PEM)."""
    cert_file: Path | None = None
    """This client's own certificate (PEM), when the broker asks for one (`require_certificate`)."""
    key_file: Path | None = None
    """The key of `cert_file`."""

    @model_validator(mode="after")
    def _tls_files_make_sense(self) -> Self:
        if not self.tls and (self.ca_file or self.cert_file or self.key_file):
            raise ValueError("ca_file, cert_file and key_file are for TLS: set tls: true too")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("a client certificate needs both cert_file and key_file")
        return self

    def tls_context(self) -> ssl.SSLContext | None:
        """Verifying the broker always: a TLS connection to whoever answers is no protection."""
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.cert_file is not None and self.key_file is not None:
            context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context


class _LowLatencyClient(aiomqtt.Client):
    """Turns off Nagle's algorithm, which paho leaves on: a verdict is a few small packets, and
    batching them behind delayed acknowledgements adds tens of milliseconds to every gate check."""

    def manual_acks(self) -> None:
        """Acknowledge QoS 1 messages only when `ack` says so: a message taken but not yet handed on
        is then delivered again by the broker if this process dies holding it."""
        self._client.manual_ack_set(True)

    def ack(self, message: aiomqtt.Message) -> None:
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        sock = self._client.socket()
        if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self


def mqtt_client(
    settings: MqttSettings,
    *,
    identifier: str,
    will: aiomqtt.Will | None = None,
    clean_session: bool = True,
    manual_acks: bool = False,
) -> _LowLatencyClient:
    """A client for `settings`' broker.

    Services that must not miss device messages while restarting pass
    clean_session=False with a stable identifier, so the broker queues QoS 1
    messages for them.
    """
    client = _LowLatencyClient(
        settings.host,
        settings.port,
        username=settings.username,
        password=settings.password.get_secret_value() if settings.password else None,
        identifier=identifier,
        clean_session=clean_session,
        will=will,
        keepalive=30,
        max_queued_incoming_messages=10_000,
        timeout=10,
        tls_context=settings.tls_context(),
    )
    if manual_acks:
        client.manual_acks()
    return client


async def run_connected(
    name: str,
    session: Callable[[], Coroutine[Any, Any, None]],
    stop: asyncio.Event,
    *,
    connected: asyncio.Event | None = None,
    cap_s: float = RECONNECT_CAP_S,
) -> None:
    """Run `session` until `stop`, reconnecting with capped exponential backoff when the broker drops.

    The session sets `connected` once it is connected; a session that got that far starts the
    backoff afresh when it drops, so a broker restart after days up is retried at once rather than
    after the delay earned by earlier outages. This function clears `connected` when the session ends,
    so the session must not. On `stop` the session is cancelled: its `async with` blocks still close.
    A session that returns (it noticed the loss itself) is started again at once.
    """
    failures = 0
    while not stop.is_set():
        session_task = asyncio.create_task(session())
        stop_task = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({session_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        if stop_task in done:
            session_task.cancel()
            await asyncio.gather(session_task, return_exceptions=True)
            return
        stop_task.cancel()
        if connected is not None and connected.is_set():
            connected.clear()
            failures = 0
        try:
            session_task.result()
            failures = 0
        except aiomqtt.MqttError as exc:
            failures += 1
            delay = min(cap_s, RECONNECT_START_S * 2 ** (failures - 1))
            log.warning("%s: MQTT connection lost (%s), reconnecting in %.1fs", name, exc, delay)
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                pass
