"""`maskwatch device add|list|revoke|delete`: an existing gate is never overwritten by accident, the Pi
is told the broker address it can reach, and a revoked device loses its account at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from maskwatch.broker_accounts import has_account, verify_password
from maskwatch.database.engine import create_engine
from maskwatch.database.schema import audit_log
from stack.cli import app


@pytest.fixture
def installation(tmp_path, monkeypatch, unique_id):
    monkeypatch.setenv("MASKWATCH_DATABASE__URL", f"sqlite:///{tmp_path}/m.db")
    monkeypatch.setenv("MASKWATCH_PROVISIONING__MOSQUITTO_PASSWD_FILE", str(tmp_path / "passwd"))
    monkeypatch.setenv("MASKWATCH_PROVISIONING__PUBLIC_BROKER_HOST", "mqtt.venue.lan")
    return tmp_path / "passwd", f"door-{unique_id[:8]}"


def _password(output: str) -> str:
    return output.split("Password (shown once): ")[1].split()[0]


def test_adding_an_existing_gate_is_refused_unless_rotating(installation):
    passwd, gate = installation
    first = CliRunner().invoke(app, ["device", "add", gate])
    assert first.exit_code == 0, first.output
    # The embedded broker (these settings) on its own port, as the Pi must reach it.
    assert f"mqtt://mqtt.venue.lan:18830  username: {gate}" in first.output
    assert "host: mqtt.venue.lan" in first.output  # in the Pi's gate.yaml
    again = CliRunner().invoke(app, ["device", "add", gate])
    assert again.exit_code == 2
    assert "--rotate" in again.output
    assert verify_password(passwd, gate, _password(first.output))  # untouched
    rotated = CliRunner().invoke(app, ["device", "add", gate, "--rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert verify_password(passwd, gate, _password(rotated.output))
    assert not verify_password(passwd, gate, _password(first.output))


def test_a_loopback_broker_address_is_flagged(installation, monkeypatch):
    _, gate = installation
    monkeypatch.setenv("MASKWATCH_PROVISIONING__PUBLIC_BROKER_HOST", "127.0.0.1")
    result = CliRunner().invoke(app, ["device", "add", gate])
    assert result.exit_code == 0, result.output
    assert "PUBLIC_BROKER_HOST" in result.stderr


def test_list_revoke_and_delete(installation):
    passwd, gate = installation
    assert CliRunner().invoke(app, ["device", "add", gate]).exit_code == 0
    listed = CliRunner().invoke(app, ["device", "list"])
    assert gate in listed.output
    assert "active" in listed.output
    revoked = CliRunner().invoke(app, ["device", "revoke", gate])
    assert revoked.exit_code == 0, revoked.output
    assert not has_account(passwd, gate)
    assert "revoked" in CliRunner().invoke(app, ["device", "list"]).output
    deleted = CliRunner().invoke(app, ["device", "delete", gate])
    assert deleted.exit_code == 0, deleted.output
    assert gate not in CliRunner().invoke(app, ["device", "list"]).output
    assert CliRunner().invoke(app, ["device", "delete", gate]).exit_code == 2
    engine = create_engine(f"sqlite:///{passwd.parent}/m.db")
    with engine.connect() as conn:
        logged = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.details).where(audit_log.c.target == f"gate:{gate}")
        ).all()
    engine.dispose()
    assert [action for action, _ in logged] == ["device.add", "device.revoke", "device.delete"]
    assert all(details["via"] == "cli" for _, details in logged)
