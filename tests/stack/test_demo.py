"""`maskwatch demo`: its checks go to the demo's own database, never the installation's, and afterwards
the stack keeps serving the console with a demo login that works, until it is told to stop."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
import sqlalchemy as sa

from maskwatch.database.engine import create_engine, migrate
from maskwatch.database.schema import notification_recipients
from maskwatch.mqtt import MqttSettings
from stack.demo.run import DEMO_EMAIL, run_demo
from stack.settings import DatabaseSettings, QueueSettings, Settings
from tests.ports import free_port

pytestmark = pytest.mark.timeout(240)


def checks_in(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM checks")).scalar_one())
    finally:
        engine.dispose()


def demo_webhook_url(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(
                connection.execute(
                    sa.select(notification_recipients.c.address).where(
                        notification_recipients.c.channel == "webhook", notification_recipients.c.enabled
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


async def test_the_demo_records_apart_and_keeps_serving_the_console(tmp_path, capsys) -> None:
    installation = f"sqlite:///{tmp_path}/installation.db"
    migrate(installation)
    api_port = free_port()
    base = Settings(
        queue=QueueSettings(url="memory://"),
        database=DatabaseSettings(url=installation),
        demo_database_url=f"sqlite:///{tmp_path}/demo/demo.db",
        mqtt=MqttSettings(port=free_port()),
        secret_key_file=tmp_path / "secret_key",
    )
    settings = base.model_copy(update={"api": base.api.model_copy(update={"port": api_port})})
    stop = asyncio.Event()
    demo = asyncio.create_task(run_demo(settings, rounds=1, serve=True, stop=stop))

    printed = ""
    for _ in range(600):
        printed += capsys.readouterr().out
        if "The web console" in printed or demo.done():
            break
        await asyncio.sleep(0.25)
    assert not demo.done(), printed
    found = re.search(rf"http://127\.0\.0\.1:{api_port}/ — sign in as (\S+) with the password (\S+)", printed)
    assert found, printed
    assert found.group(1) == DEMO_EMAIL
    assert "6 of 6 checks answered; 6 matched the expected verdict." in printed

    origin = f"http://127.0.0.1:{api_port}"
    async with httpx.AsyncClient(base_url=origin, headers={"Origin": origin}) as client:
        signed_in = await client.post(
            "/api/v1/auth/login", json={"email": found.group(1), "password": found.group(2)}
        )
        assert signed_in.status_code == 200, signed_in.text
        figures = (await client.get("/api/v1/stats/sites")).json()["sites"][0]["figures"]
        assert figures["visitors"] >= 6
        assert figures["denied_by_reason"]["fever"] >= 1

    assert checks_in(installation) == 0
    assert checks_in(settings.demo_database_url) >= 6

    # The demo's webhook outlives the summary: alerts raised while the console is served (a demo gate
    # going offline) reach it instead of being retried against a closed port. Unsigned, it refuses.
    async with httpx.AsyncClient() as client:
        refused = await client.post(demo_webhook_url(settings.demo_database_url), content=b"{}")
    assert refused.status_code == 401

    stop.set()
    assert await asyncio.wait_for(demo, timeout=60) == 0


async def test_without_serving_the_demo_ends_after_its_checks(tmp_path) -> None:
    settings = Settings(
        queue=QueueSettings(url="memory://"),
        database=DatabaseSettings(url=f"sqlite:///{tmp_path}/installation.db"),
        demo_database_url=f"sqlite:///{tmp_path}/demo.db",
        mqtt=MqttSettings(port=free_port()),
        secret_key_file=tmp_path / "secret_key",
    )
    assert await run_demo(settings, rounds=1, serve=False) == 0
    assert checks_in(settings.demo_database_url) >= 6
