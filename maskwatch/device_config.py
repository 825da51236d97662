"""The starting YAML a gate's or camera's Raspberry Pi needs, made where its broker account is made.

The command line (`maskwatch device add`) and the admin API (a device
registered from the console) hand out the same file, so a Pi is set up the
same way whichever an admin used.
"""

from __future__ import annotations

from typing import Any, Literal

import yaml

from maskwatch.device_accounts import BrokerAddress

DeviceKind = Literal["gate", "camera"]
CONFIG_PATHS: dict[DeviceKind, str] = {
    "gate": "/etc/maskwatch/gate.yaml",
    "camera": "/etc/maskwatch/camera.yaml",
}
"""Where docs/devices.md puts each file on the Pi."""


def mqtt_section(broker: BrokerAddress, username: str, password: str) -> dict[str, Any]:
    section: dict[str, Any] = {
        "host": broker.host,
        "port": broker.port,
        "username": username,
        "password": password,
        "topic_root": broker.topic_root,
    }
    if broker.tls:
        section |= {"tls": True, "ca_file": "/etc/maskwatch/ca.crt"}
    return section


def agent_config(kind: DeviceKind, device_id: str, broker: BrokerAddress, password: str) -> str:
    """A ready-to-edit file for the Pi: its id, its broker account, and the usual hardware."""
    config: dict[str, Any]
    if kind == "gate":
        config = {
            "gate_id": device_id,
            "mqtt": mqtt_section(broker, device_id, password),
            "hardware": {
                "camera": {"type": "picamera2"},
                "thermometer": {"type": "mlx90614"},
                "gate": {"type": "relay", "pin": 17},
                "trigger": {"type": "button", "pin": 27},
                "indicator": {"type": "gpio"},
            },
        }
    else:
        config = {
            "camera_id": device_id,
            "mqtt": mqtt_section(broker, device_id, password),
            "camera": {"type": "picamera2"},
        }
    return yaml.safe_dump(config, sort_keys=False)
