"""Provisioning a gate: broker credentials in Mosquitto's password file, and what the Pi needs.

The username of a gate is its gate id, which the broker's ACL (deploy/mosquitto/acl)
uses to confine it to its own topics. Passwords are stored as Mosquitto 2's
PBKDF2-SHA512 hashes (`$7$`), never in clear; the clear password is shown once.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import yaml

from maskwatch.topics import Topics
from services.stats.schema import gates, sites

PBKDF2_ITERATIONS = 101  # what mosquitto_passwd writes for `$7$`
SALT_BYTES = 12


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def write_password(passwd_file: Path, username: str, password: str) -> None:
    """Add or replace `username` in a Mosquitto password file, atomically."""
    if ":" in username:
        raise ValueError("a broker username cannot contain ':'")
    lines = passwd_file.read_text().splitlines() if passwd_file.exists() else []
    kept = [line for line in lines if line.split(":", 1)[0] != username]
    kept.append(f"{username}:{mosquitto_hash(password)}")
    passwd_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=passwd_file.parent, delete=False) as handle:
        handle.write("\n".join(kept) + "\n")
        temporary = Path(handle.name)
    temporary.chmod(0o600)
    temporary.replace(passwd_file)


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
    gate_id: str, *, passwd_file: Path, broker_host: str, broker_port: int, topic_root: str
) -> Provisioned:
    password = secrets.token_urlsafe(24)
    write_password(passwd_file, gate_id, password)
    return Provisioned(gate_id, broker_host, broker_port, gate_id, password, Topics(topic_root))


class UnknownSiteError(ValueError):
    pass


def register_gate(engine: sa.Engine, gate_id: str, *, site_id: str, name: str | None = None) -> None:
    """Record the gate under its site, so its checks count for that site (re-provisioning moves it)."""
    with engine.begin() as connection:
        if connection.execute(sa.select(sites.c.site_id).where(sites.c.site_id == site_id)).first() is None:
            raise UnknownSiteError(f"no site {site_id!r}; create it first (the admin API, /api/v1/sites)")
        values = {"site_id": site_id, "name": name or gate_id}
        updated = connection.execute(sa.update(gates).where(gates.c.gate_id == gate_id).values(**values))
        if updated.rowcount == 0:
            connection.execute(
                sa.insert(gates).values(gate_id=gate_id, created_at=datetime.now(UTC), **values)
            )
