"""What a command checks before it starts anything: the ports it will listen on are free, the broker answers.

Found here, a second `maskwatch up` or a broker that is not running is one line that says what to do.
Found inside the services, the first is a traceback from deep in amqtt or uvicorn, and the second a
minute of reconnect warnings ending in a timeout: the services retry a broker forever, as they must once
running, so only a command can tell that it was never there.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maskwatch.mqtt import MqttSettings
    from stack.settings import Settings

BROKER_PROBE_S = 3.0
"""How long to wait for the broker's TCP handshake: long enough for a LAN, short enough for a person."""


@dataclass(frozen=True)
class Listener:
    """A port a command will listen on, named as the person would look for it in the settings."""

    what: str
    setting: str
    host: str
    port: int

    def taken_message(self) -> str:
        return (
            f"port {self.port} on {self.host or '0.0.0.0'} is already in use ({self.what}, {self.setting}): "
            "stop what holds it (another `maskwatch up` or `maskwatch demo`?) or choose another port"
        )


def listeners(settings: Settings, services: Iterable[str], *, embedded_broker: bool) -> list[Listener]:
    """The ports that `services` (and the embedded broker, when this process runs it) will listen on."""
    wanted = set(services)
    found = []
    if embedded_broker and settings.mqtt.embedded:
        found.append(
            Listener(
                "the embedded MQTT broker", "MASKWATCH_MQTT__PORT", settings.mqtt.host, settings.mqtt.port
            )
        )
    if "ingest" in wanted and settings.ingest.http_port is not None:
        found.append(
            Listener(
                "the HTTP check door",
                "MASKWATCH_INGEST__HTTP_PORT",
                settings.ingest.http_host,
                settings.ingest.http_port,
            )
        )
    if "api" in wanted:
        found.append(api_listener(settings.api.host, settings.api.port))
    if settings.metrics_port is not None:
        found.append(
            Listener("the metrics endpoint", "MASKWATCH_METRICS_PORT", "0.0.0.0", settings.metrics_port)
        )
    return found


def api_listener(host: str, port: int) -> Listener:
    return Listener("the admin API", "MASKWATCH_API__PORT", host, port)


def first_taken(candidates: Iterable[Listener]) -> Listener | None:
    """The first listener whose port something else already holds, or None."""
    return next((c for c in candidates if port_taken(c.host, c.port)), None)


def port_taken(host: str, port: int) -> bool:
    """Whether binding host:port fails because it is in use, binding as the servers do (SO_REUSEADDR).

    Any other failure (an address this machine does not have) is left for the server to report.
    """
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return False
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return True
    return False


def is_port_in_use(exc: BaseException) -> bool:
    """Whether `exc`, or an error it was raised from, is a bind that found its port taken."""
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        if isinstance(seen, OSError) and seen.errno == errno.EADDRINUSE:
            return True
        visited.add(id(seen))
        seen = seen.__cause__ or seen.__context__
    return False


def broker_unreachable(mqtt: MqttSettings, timeout: float = BROKER_PROBE_S) -> str | None:
    """Why nothing answers at the broker's address (refused, timed out, unknown host), or None if it does."""
    try:
        with socket.create_connection((mqtt.host, mqtt.port), timeout=timeout):
            return None
    except TimeoutError:
        return "timed out"
    except OSError as exc:
        return exc.strerror or str(exc)
