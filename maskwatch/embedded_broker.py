"""An in-process MQTT broker (amqtt) for a one-machine setup with nothing installed.

It speaks real MQTT on a real port, so devices and services use the same
client code as against Mosquitto, and it is locked the same way: every client
signs in, the server with its own account, each device with the account
`maskwatch device add` made in the Mosquitto password file, and a device
reaches only its own topics (`maskwatch.embedded_broker_access`). It keeps
nothing on disk: production uses Mosquitto (see deploy/mosquitto/).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from amqtt.broker import Broker

from maskwatch.mqtt import MqttSettings

log = logging.getLogger(__name__)

_ACCESS = "maskwatch.embedded_broker_access"


class EmbeddedBroker:
    def __init__(self, mqtt: MqttSettings, passwd_file: Path) -> None:
        """Listens on `mqtt`'s host and port; `mqtt`'s username and password are the server's account
        (required: a broker without one would have to let the services in anonymously)."""
        if not mqtt.username or mqtt.password is None:
            raise ValueError("the embedded MQTT broker needs the server's account (username and password)")
        self.host = mqtt.host
        self.port = mqtt.port
        self._access = {
            "server_username": mqtt.username,
            "server_password": mqtt.password.get_secret_value(),
            "passwd_file": str(passwd_file),
            "topic_root": mqtt.topic_root,
        }
        self._broker: Broker | None = None

    async def start(self) -> None:
        config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                f"{_ACCESS}.PasswordAuthPlugin": self._access,
                f"{_ACCESS}.DeviceTopicsPlugin": self._access,
            },
        }
        self._broker = Broker(config)
        await self._broker.start()
        log.info("embedded MQTT broker listening on %s:%d (accounts only)", self.host, self.port)

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
