"""A provisioned gate signs in to a real Mosquitto and is confined to its own topics by the ACL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
import pytest
import sqlalchemy as sa
import yaml

from maskwatch.broker_accounts import mosquitto_hash, write_password
from stack.provisioning import provision_gate
from tests.private_broker import PrivateBroker

ACL = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "acl"


def test_hash_format_matches_mosquitto():
    hashed = mosquitto_hash("secret", salt=b"\x00" * 12)
    assert hashed.startswith("$7$101$AAAAAAAAAAAAAAAA$")
    assert len(hashed.split("$")[-1]) == 88  # 64 bytes of SHA-512 in base64


def test_reprovisioning_replaces_the_entry(tmp_path):
    passwd = tmp_path / "passwd"
    write_password(passwd, "gate-1", "a")
    write_password(passwd, "gate-2", "b")
    write_password(passwd, "gate-1", "c")
    users = [line.split(":")[0] for line in passwd.read_text().splitlines()]
    assert sorted(users) == ["gate-1", "gate-2"]
    assert oct(passwd.stat().st_mode & 0o777) == "0o640"  # owner writes, the broker's group reads


@pytest.mark.timeout(60)
async def test_provisioned_gate_is_confined_to_its_topics(tmp_path):
    passwd = tmp_path / "passwd"
    write_password(passwd, "maskwatch-server", "server-pass")
    broker = PrivateBroker(
        tmp_path, extra_config=f"allow_anonymous false\npassword_file {passwd}\nacl_file {ACL}\n"
    )
    gate = provision_gate(
        "door-7",
        passwd_file=passwd,
        broker_host="127.0.0.1",
        broker_port=broker.port,
        topic_root="maskwatch/v1",
    )
    provision_gate(
        "door-8",
        passwd_file=passwd,
        broker_host="127.0.0.1",
        broker_port=broker.port,
        topic_root="maskwatch/v1",
    )
    config = yaml.safe_load(gate.agent_config())
    assert config["mqtt"]["username"] == "door-7"
    broker.start()
    try:
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client("127.0.0.1", broker.port, username="door-7", password="wrong"):
                pass
        async with (
            aiomqtt.Client(
                "127.0.0.1", broker.port, username="maskwatch-server", password="server-pass"
            ) as server,
            aiomqtt.Client("127.0.0.1", broker.port, username="door-7", password=gate.password) as door7,
        ):
            await server.subscribe("maskwatch/v1/gates/+/check", qos=1)
            await door7.subscribe("maskwatch/v1/gates/door-7/verdict", qos=1)
            await door7.subscribe("maskwatch/v1/gates/door-8/verdict", qos=1)  # the ACL filters these out
            await door7.publish("maskwatch/v1/gates/door-7/check", b"mine", qos=1)
            await door7.publish("maskwatch/v1/gates/door-8/check", b"spoofed", qos=1)  # dropped by the ACL
            await server.publish("maskwatch/v1/gates/door-8/verdict", b"for 8", qos=1)
            await server.publish("maskwatch/v1/gates/door-7/verdict", b"for 7", qos=1)

            async def first(client):
                async for message in client.messages:
                    return str(message.topic), message.payload

            received_by_server = await asyncio.wait_for(first(server), 5)
            received_by_door7 = await asyncio.wait_for(first(door7), 5)
            assert received_by_server == ("maskwatch/v1/gates/door-7/check", b"mine")
            assert received_by_door7 == ("maskwatch/v1/gates/door-7/verdict", b"for 7")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(first(server), 1)  # the spoofed check never arrived
    finally:
        broker.stop()


def test_device_add_registers_the_gate_and_prints_its_credentials(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from maskwatch.database.engine import create_engine
    from maskwatch.database.schema import gates
    from stack.cli import app

    db = f"sqlite:///{tmp_path}/m.db"
    monkeypatch.setenv("MASKWATCH_DATABASE__URL", db)
    monkeypatch.setenv("MASKWATCH_PROVISIONING__MOSQUITTO_PASSWD_FILE", str(tmp_path / "passwd"))
    result = CliRunner().invoke(app, ["device", "add", "door-9", "--name", "North door"])
    assert result.exit_code == 0, result.output
    assert "Password (shown once):" in result.output
    assert "maskwatch/v1/gates/door-9/check" in result.output
    assert (tmp_path / "passwd").read_text().startswith("door-9:$7$")
    engine = create_engine(db)
    with engine.connect() as c:
        assert c.execute(sa.select(gates.c.site_id, gates.c.name)).all() == [("default", "North door")]
    engine.dispose()
    bad_site = CliRunner().invoke(app, ["device", "add", "door-10", "--site", "nowhere"])
    assert bad_site.exit_code == 2
    bad_id = CliRunner().invoke(app, ["device", "add", "door/10"])
    assert bad_id.exit_code == 2


def test_rotating_a_password_replaces_it_and_an_unknown_account_is_refused(tmp_path):
    from typer.testing import CliRunner

    from maskwatch.broker_accounts import remove_account, verify_password
    from stack.cli import app

    passwd = tmp_path / "passwd"
    write_password(passwd, "gate-1", "old-password")
    result = CliRunner().invoke(app, ["device", "rotate", "gate-1", "--passwd-file", str(passwd)])
    assert result.exit_code == 0, result.output
    new = result.stdout.split("(shown once): ")[1].split()[0]
    assert verify_password(passwd, "gate-1", new)
    assert not verify_password(passwd, "gate-1", "old-password")
    unknown = CliRunner().invoke(app, ["device", "rotate", "gate-9", "--passwd-file", str(passwd)])
    assert unknown.exit_code == 2
    assert "no broker account 'gate-9'" in unknown.output
    assert remove_account(passwd, "gate-1")
    assert not remove_account(passwd, "gate-1")
    assert not verify_password(passwd, "gate-1", new)
