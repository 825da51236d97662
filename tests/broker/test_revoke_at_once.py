"""Revoking a gate from the admin API takes effect at once, without restarting anything: the broker
(reloaded by the configured command) drops its connection and refuses it, and the HTTP check door
refuses its password on the very next request."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiomqtt
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from maskwatch.database.engine import create_engine, migrate
from maskwatch.database.schema import gates, users
from maskwatch.device_accounts import DeviceAccounts
from services.api.app import create_app
from services.api.commander import RecordingGateCommander
from services.api.config import ApiSettings
from services.api.security import Role, hash_password, issue_token
from services.ingest.http_checks import create_check_app
from services.ingest.settings import HttpDeviceAuth
from tests.broker.conftest import GATE_A

pytestmark = pytest.mark.timeout(60)
SECRET = "a-long-test-secret-key-for-revoking"


def _admin_api(acl_broker, tmp_path) -> tuple[object, str]:
    url = f"sqlite:///{tmp_path}/api.db"
    migrate(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(gates).values(gate_id=GATE_A, site_id="default", name="A", created_at=datetime.now(UTC))
        )
        user_id = conn.execute(
            sa.insert(users)
            .values(
                email="admin@venue.test",
                password_hash=hash_password("x" * 12),
                role=Role.ADMIN.value,
                all_sites=True,
                created_at=datetime.now(UTC),
                disabled=False,
            )
            .returning(users.c.user_id)
        ).scalar_one()
        _, token = issue_token(conn, SECRET.encode(), user_id, kind="api", name="t", ttl=None)
    assert acl_broker.broker.process is not None
    reload = ("kill", "-HUP", str(acl_broker.broker.process.pid))
    accounts = DeviceAccounts(acl_broker.broker.folder / "passwd", reload_command=reload)
    app = create_app(
        ApiSettings(),
        secret_key=SecretStr(SECRET),
        engine=engine,
        commander=RecordingGateCommander(),
        device_accounts=accounts,
    )
    return app, token


async def _dropped(client: aiomqtt.Client) -> bool:
    try:
        async with asyncio.timeout(15):
            async for _ in client.messages:
                pass
    except aiomqtt.MqttError:
        return True
    except TimeoutError:
        return False
    return True


async def test_a_revoked_gate_is_dropped_by_the_broker_and_refused_by_the_http_door(acl_broker, tmp_path):
    api, token = _admin_api(acl_broker, tmp_path)
    door = create_check_app(
        acl_broker.server_settings(),
        HttpDeviceAuth(passwd_file=acl_broker.broker.folder / "passwd"),
        client_prefix=f"door-{tmp_path.name[-8:]}",
    )
    gate = acl_broker.gates[GATE_A]
    empty = {"image": ("face.jpg", b"", "image/jpeg")}
    with TestClient(door) as http_door, TestClient(api) as admin:
        before = await asyncio.to_thread(
            http_door.post, f"/api/v1/gates/{GATE_A}/checks", files=empty, auth=(gate.username, gate.password)
        )
        assert before.status_code == 422  # signed in; only the empty picture is refused
        async with acl_broker.gate(GATE_A) as connected:
            await connected.subscribe(acl_broker.topics.gate_verdict.format(gate_id=GATE_A), qos=1)
            revoked = await asyncio.to_thread(
                admin.post, f"/api/v1/devices/{GATE_A}/revoke", headers={"Authorization": f"Bearer {token}"}
            )
            assert revoked.status_code == 200, revoked.text
            assert revoked.json()["broker_reloaded"] is True
            assert await _dropped(connected), "the broker kept the revoked gate connected"
        with pytest.raises(aiomqtt.MqttError):
            async with acl_broker.gate(GATE_A):
                pass
        after = await asyncio.to_thread(
            http_door.post, f"/api/v1/gates/{GATE_A}/checks", files=empty, auth=(gate.username, gate.password)
        )
        assert after.status_code == 401
