"""The broker's password file keeps working after `maskwatch device add` run as root: it keeps the owner,
group and mode the broker needs, and a Mosquitto running as its own user reads it at its reload."""

from __future__ import annotations

import asyncio
import grp
import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from maskwatch.broker_accounts import FileOwnership, new_password, remove_account, write_password
from tests.private_broker import PrivateBroker

pytestmark = pytest.mark.timeout(60)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


needs_root_and_mosquitto = pytest.mark.skipif(
    os.geteuid() != 0 or not _has_user("mosquitto") or shutil.which("mosquitto") is None,
    reason="needs root and a mosquitto user to run the broker as another user",
)


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder the broker's own user can enter (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="maskwatch-broker-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_new_file_gets_the_configured_mode_and_an_existing_one_keeps_its_own(tmp_path):
    passwd = tmp_path / "passwd"
    write_password(passwd, "gate-1", new_password(), FileOwnership(mode=0o640))
    assert stat.S_IMODE(passwd.stat().st_mode) == 0o640
    passwd.chmod(0o604)
    write_password(passwd, "gate-2", new_password(), FileOwnership(mode=0o600))
    remove_account(passwd, "gate-1")
    assert stat.S_IMODE(passwd.stat().st_mode) == 0o604
    assert [line.split(":")[0] for line in passwd.read_text().splitlines()] == ["gate-2"]
    assert [p.name for p in tmp_path.iterdir()] == ["passwd"]  # no temporary file left behind


@needs_root_and_mosquitto
def test_a_file_written_as_root_keeps_the_brokers_owner_and_group(shared_folder):
    passwd = shared_folder / "passwd"
    write_password(passwd, "server", new_password(), FileOwnership(mode=0o640, group="mosquitto"))
    assert (passwd.stat().st_uid, passwd.stat().st_gid) == (0, grp.getgrnam("mosquitto").gr_gid)
    os.chown(passwd, pwd.getpwnam("mosquitto").pw_uid, grp.getgrnam("mosquitto").gr_gid)
    passwd.chmod(0o600)
    write_password(passwd, "gate-1", new_password())  # as root, as an admin would run device add
    info = passwd.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (pwd.getpwnam("mosquitto").pw_uid, 0o600)


async def _connects(port: int, username: str, password: str) -> bool:
    try:
        async with aiomqtt.Client("127.0.0.1", port, username=username, password=password, timeout=5):
            return True
    except aiomqtt.MqttError:
        return False


@needs_root_and_mosquitto
async def test_a_broker_running_as_its_own_user_takes_a_new_gate_at_its_reload(shared_folder, unique_id):
    passwd = shared_folder / "passwd"
    server_password = new_password()
    write_password(passwd, "server", server_password, FileOwnership(mode=0o640, group="mosquitto"))
    broker = PrivateBroker(
        shared_folder, extra_config=f"allow_anonymous false\npassword_file {passwd}\n", user="mosquitto"
    )
    broker.start()
    try:
        assert await _connects(broker.port, "server", server_password)
        gate, gate_password = f"gate-{unique_id[:8]}", new_password()
        write_password(passwd, gate, gate_password)  # root adds a gate, then reloads the broker
        broker.reload()
        for _ in range(50):
            if await _connects(broker.port, gate, gate_password):
                break
            await asyncio.sleep(0.1)
        assert await _connects(broker.port, gate, gate_password)
        assert await _connects(broker.port, "server", server_password)  # and the services still get in
        assert not await _connects(broker.port, gate, "wrong")
    finally:
        broker.stop()
