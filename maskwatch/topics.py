"""Every MQTT topic, declared once as a template.

Publishers format a template, subscribers ask it for its wildcard filter and
parse incoming topics back into parameters, so no service splits topic strings
by hand. The root is configurable so tests (and several venues on one broker)
never collide.

Each template also declares what a device may do on it, so the broker ACL
(`maskwatch.broker_acl`) is generated from the same declarations the code
publishes and subscribes with, instead of being kept in step by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from string import Formatter
from typing import Literal

DEFAULT_ROOT = "maskwatch/v1"

DeviceAccess = Literal["read", "write", "readwrite"]
"""What a device's broker account may do on its own instance of a template (Mosquitto's ACL words)."""


@dataclass(frozen=True)
class TopicTemplate:
    """A topic with `{name}` parameters, each standing for exactly one topic level."""

    root: str
    pattern: str
    device_access: DeviceAccess = field(kw_only=True)
    """Required, so a new topic cannot be added without deciding who may use it."""

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(name for _, name, _, _ in Formatter().parse(self.pattern) if name)

    def format(self, **params: str) -> str:
        for name, value in params.items():
            if not value or any(c in value for c in "/+#\x00"):
                raise ValueError(f"{name}={value!r} cannot be a topic level")
        return f"{self.root}/{self.pattern.format(**params)}"

    def filter(self) -> str:
        """The subscription filter that matches every instance of this template."""
        return f"{self.root}/{self.pattern.format(**dict.fromkeys(self.params, '+'))}"

    def match(self, topic: str) -> dict[str, str] | None:
        """The parameters of `topic`, or None when it is not an instance of this template."""
        regex = re.escape(f"{self.root}/{self.pattern}")
        for name in self.params:
            regex = regex.replace(re.escape("{" + name + "}"), f"(?P<{name}>[^/]+)")
        found = re.fullmatch(regex, topic)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class Topics:
    """The topic scheme; see docs/topics.md for payloads, QoS and retain flags."""

    root: str = DEFAULT_ROOT

    def templates(self) -> tuple[TopicTemplate, ...]:
        """Every template, in declaration order: what the ACL is generated from, so none is forgotten."""
        found = (
            getattr(self, name) for name, value in vars(type(self)).items() if isinstance(value, property)
        )
        return tuple(template for template in found if isinstance(template, TopicTemplate))

    @property
    def gate_check(self) -> TopicTemplate:
        """Device → server, QoS 1: a GateCheck."""
        return TopicTemplate(self.root, "gates/{gate_id}/check", device_access="write")

    @property
    def gate_verdict(self) -> TopicTemplate:
        """Server → device, QoS 1: a Verdict."""
        return TopicTemplate(self.root, "gates/{gate_id}/verdict", device_access="read")

    @property
    def gate_rejected(self) -> TopicTemplate:
        """Server → device, QoS 1: a Rejection of something the gate sent."""
        return TopicTemplate(self.root, "gates/{gate_id}/rejected", device_access="read")

    @property
    def gate_status(self) -> TopicTemplate:
        """Device → everyone, QoS 1, retained, last will `offline`: a GateStatus."""
        return TopicTemplate(self.root, "gates/{gate_id}/status", device_access="readwrite")

    @property
    def gate_command(self) -> TopicTemplate:
        """Server → device, QoS 1: a GateCommand (remote open), issued by an operator."""
        return TopicTemplate(self.root, "gates/{gate_id}/command", device_access="read")

    @property
    def gate_command_ack(self) -> TopicTemplate:
        """Device → server, QoS 1: a GateCommandAck, the gate's answer to a GateCommand."""
        return TopicTemplate(self.root, "gates/{gate_id}/command_ack", device_access="write")

    @property
    def gate_config(self) -> TopicTemplate:
        """Server → device, QoS 1, retained: a GateConfig applied without restart."""
        return TopicTemplate(self.root, "gates/{gate_id}/config", device_access="read")

    @property
    def camera_frame(self) -> TopicTemplate:
        """Device → server, QoS 0: a CameraFrame (a sample; a lost one is replaced by the next)."""
        return TopicTemplate(self.root, "cameras/{camera_id}/frame", device_access="write")

    @property
    def camera_status(self) -> TopicTemplate:
        """Device → everyone, QoS 1, retained, last will `offline`: a CameraStatus."""
        return TopicTemplate(self.root, "cameras/{camera_id}/status", device_access="readwrite")

    @property
    def camera_config(self) -> TopicTemplate:
        """Server → device, QoS 1, retained: a CameraConfig applied without restart."""
        return TopicTemplate(self.root, "cameras/{camera_id}/config", device_access="read")
