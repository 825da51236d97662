"""An operator opens a gate from the admin API: the command crosses the real Mosquitto to the agent,
and the audit log says who and why."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from maskwatch.database.engine import create_engine, migrate
from maskwatch.database.schema import audit_log, gates, users
from maskwatch.mqtt import MqttSettings
from services.api.app import create_app
from services.api.config import ApiSettings
from services.api.security import Role, hash_password, issue_token
from tests.agent.conftest import RunningAgent, agent_settings

pytestmark = pytest.mark.timeout(120)
SECRET = "a-long-test-secret-key"


async def test_open_from_the_api_reaches_the_gate_and_is_audited(mosquitto, photos, tmp_path, unique_id):
    host, port = mosquitto
    mqtt = MqttSettings(host=host, port=port, embedded=False, topic_root=f"test/{unique_id}")
    db_url = f"sqlite:///{tmp_path}/api.db"
    migrate(db_url)
    engine = create_engine(db_url)
    with engine.begin() as c:
        c.execute(
            sa.insert(gates).values(
                gate_id="door-1", site_id="default", name="Door", created_at=datetime.now(UTC)
            )
        )
        user_id = c.execute(
            sa.insert(users)
            .values(
                email="ops@venue.test",
                password_hash=hash_password("x" * 12),
                role=Role.OPERATOR.value,
                all_sites=True,
                created_at=datetime.now(UTC),
                disabled=False,
            )
            .returning(users.c.user_id)
        ).scalar_one()
        _, token = issue_token(c, SECRET.encode(), user_id, kind="api", name="test", ttl=None)
    app = create_app(ApiSettings(), secret_key=SecretStr(SECRET), database_url=db_url, mqtt=mqtt)
    config = agent_settings(mqtt, photos, [36.6], tmp_path / "spool")
    async with RunningAgent(config) as gate:
        await gate.wait_connected()
        with TestClient(app) as http:
            response = await asyncio.to_thread(
                http.post,
                "/api/v1/gates/door-1/open",
                json={"reason": "delivery through the turnstile"},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert response.status_code == 202, response.text
        command_id = response.json()["command_id"]
        assert response.json()["confirmed"] is True  # the agent answered once the barrier was open
        assert response.json()["outcome"] == "opened"
        for _ in range(100):
            if "open" in gate.hardware.gate.actions:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.1)
        assert "open" in gate.hardware.gate.actions  # type: ignore[attr-defined]
        assert [str(c.command_id) for c in gate.agent.commands] == [command_id]
        assert gate.agent.commands[0].by == "ops@venue.test"
    with engine.connect() as c:
        row = c.execute(sa.select(audit_log).where(audit_log.c.action == "gate.open")).one()
    assert row.target == "gate:door-1"
    assert command_id in str(row.details)
    engine.dispose()
