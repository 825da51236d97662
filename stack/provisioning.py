"""Provisioning a gate: its broker account (`maskwatch.broker_accounts`) and what its Pi needs.

The username of a gate is its gate id, which the generated broker ACL uses to
confine it to its own topics; the clear password is shown once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from maskwatch.broker_accounts import FileOwnership, new_password, write_password
from maskwatch.topics import Topics


@dataclass(frozen=True)
class Provisioned:
    gate_id: str
    broker_host: str
    broker_port: int
    username: str
    password: str
    topics: Topics

    def agent_config(self) -> str:
        """A ready-to-edit /etc/maskwatch/gate.yaml for the Pi."""
        config = {
            "gate_id": self.gate_id,
            "mqtt": {
                "host": self.broker_host,
                "port": self.broker_port,
                "username": self.username,
                "password": self.password,
                "topic_root": self.topics.root,
            },
            "hardware": {
                "camera": {"type": "picamera2"},
                "thermometer": {"type": "mlx90614"},
                "gate": {"type": "relay", "pin": 17},
                "trigger": {"type": "button", "pin": 27},
                "indicator": {"type": "gpio"},
            },
        }
        return yaml.safe_dump(config, sort_keys=False)

    def topic_table(self) -> dict[str, str]:
        g = self.gate_id
        return {
            "publish checks": self.topics.gate_check.format(gate_id=g),
            "publish status (retained)": self.topics.gate_status.format(gate_id=g),
            "receive verdicts": self.topics.gate_verdict.format(gate_id=g),
            "receive rejections": self.topics.gate_rejected.format(gate_id=g),
            "receive commands": self.topics.gate_command.format(gate_id=g),
            "receive configuration (retained)": self.topics.gate_config.format(gate_id=g),
        }


def provision_gate(
    gate_id: str,
    *,
    passwd_file: Path,
    broker_host: str,
    broker_port: int,
    topic_root: str,
    ownership: FileOwnership | None = None,
) -> Provisioned:
    password = new_password()
    write_password(passwd_file, gate_id, password, ownership)
    return Provisioned(gate_id, broker_host, broker_port, gate_id, password, Topics(topic_root))
