"""Who may sign in to the embedded broker, and which topics each account may use.

The embedded broker is what `maskwatch up` and the demo run when nothing is
installed, so it is the broker most people meet first: it must not be the one
that lets anyone on the host open a gate. It therefore behaves as the shipped
Mosquitto does (deploy/mosquitto): no anonymous clients; the server's own
account sees everything under the topic root; a device signs in with its id and
the password `maskwatch device add` (or `camera add`) printed, checked against
the same Mosquitto password file, and reaches only its own topics, by the rules
the Mosquitto ACL is generated from (`maskwatch.topics`, `maskwatch.broker_acl`).

The password file is read at each sign-in, so a device added a moment ago is
let in without restarting anything (Mosquitto needs its reload for that).

amqtt loads these plugins by dotted path and builds each one's `Config` from
the broker's configuration (`maskwatch.embedded_broker`).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path

from amqtt.contexts import Action, BaseContext
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from maskwatch.broker_accounts import verify_password
from maskwatch.broker_acl import DEVICE_PARAMS
from maskwatch.topics import Topics


@dataclass
class AccessConfig:
    """What both plugins are configured with (strings: amqtt builds it from a plain mapping)."""

    server_username: str = ""
    server_password: str = ""
    passwd_file: str = ""
    topic_root: str = ""


class PasswordAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]  # amqtt is untyped here
    """Lets in the server's account and the device accounts of the password file; nobody else."""

    Config = AccessConfig

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)
        self._access: AccessConfig = self.config

    async def authenticate(self, *, session: Session) -> bool:
        username, password = session.username, session.password
        if not username or password is None:
            self.context.logger.warning("refused a client without credentials (%s)", session.client_id)
            return False
        if username == self._access.server_username:
            accepted = hmac.compare_digest(password.encode(), self._access.server_password.encode())
        else:
            accepted = verify_password(Path(self._access.passwd_file), username, password)
        if not accepted:
            self.context.logger.warning("refused %r: wrong username or password", username)
        return accepted


class DeviceTopicsPlugin(BaseTopicPlugin):  # type: ignore[misc]  # amqtt is untyped here
    """The ACL: the server's account anywhere under the root, a device on its own topics only."""

    Config = AccessConfig

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)
        self._access: AccessConfig = self.config
        self._templates = Topics(self._access.topic_root).templates()

    async def topic_filtering(
        self, *, session: Session | None = None, topic: str | None = None, action: Action | None = None
    ) -> bool:
        if session is None or not session.username or topic is None or action is None:
            return False
        if session.username == self._access.server_username:
            return topic.startswith(f"{self._access.topic_root}/")
        wanted = "write" if action == Action.PUBLISH else "read"
        return any(
            wanted in template.device_access and _device_of(template.match(topic)) == session.username
            for template in self._templates
        )


def _device_of(params: dict[str, str] | None) -> str | None:
    """The device id a topic belongs to (its gate or camera parameter), or None for no device topic.

    A subscription filter with a wildcard in that level names no device, so a device cannot subscribe
    to every gate's topics."""
    if params is None:
        return None
    ids = [value for name, value in params.items() if name in DEVICE_PARAMS]
    return ids[0] if len(ids) == 1 and ids[0] not in ("+", "#") else None
