"""A drill's own world: a private Redis and Mosquitto (the shipped ACL, an account per gate), a
database of its own on the real PostgreSQL behind a link the drill can cut, and the gate path's
services as separate processes, as `maskwatch run NAME` runs them."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from maskwatch.broker_accounts import new_password, write_password
from maskwatch.broker_acl import SERVER_USER, render_acl
from maskwatch.mqtt import MqttSettings
from maskwatch.topics import Topics
from stack.service_table import GATE_PATH
from tests.conftest import POSTGRES_ADMIN_URL, require_service
from tests.drills.database_link import DatabaseLink
from tests.drills.load import DrillGate, Tally, all_stored, tally
from tests.drills.services import ServiceProcess
from tests.private_broker import PrivateBroker
from tests.private_redis import PrivateRedis

ANSWER_SETTLE_S = 0.5
GATES = 3
CHECKS_PER_GATE = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Drill:
    folder: Path
    redis: PrivateRedis
    broker: PrivateBroker
    link: DatabaseLink
    database: str
    mqtt: MqttSettings
    """The server's account on the private broker."""
    gate_passwords: dict[str, str]
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    gates: list[DrillGate] = field(default_factory=list)
    http_port: int = field(default_factory=free_port)

    @property
    def database_url(self) -> str:
        """Through the link: what the services use, away when the link is cut."""
        return f"postgresql://postgres@127.0.0.1:{self.link.port}/{self.database}"

    @property
    def direct_database_url(self) -> str:
        """Straight to PostgreSQL: what the drill counts with, even while the services' link is cut."""
        return f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{self.database}"

    def env(self, **extra: str) -> dict[str, str]:
        import os

        assert self.mqtt.password is not None
        return (
            dict(os.environ)
            | {
                "MASKWATCH_SECRET_KEY": "a-drill-key-nobody-uses-elsewhere-0123456789",
                "MASKWATCH_MQTT__EMBEDDED": "false",
                "MASKWATCH_MQTT__HOST": "127.0.0.1",
                "MASKWATCH_MQTT__PORT": str(self.broker.port),
                "MASKWATCH_MQTT__USERNAME": SERVER_USER,
                "MASKWATCH_MQTT__PASSWORD": self.mqtt.password.get_secret_value(),
                "MASKWATCH_MQTT__TOPIC_ROOT": self.mqtt.topic_root,
                "MASKWATCH_QUEUE__URL": self.redis.url,
                "MASKWATCH_QUEUE__PREFIX": "drill",
                "MASKWATCH_QUEUE__CLAIM_IDLE_MS": "2000",
                "MASKWATCH_QUEUE__MAX_DELIVERIES": "2",
                "MASKWATCH_DATABASE__URL": self.database_url,
                "MASKWATCH_INGEST__HTTP_PORT": str(self.http_port),
                "MASKWATCH_PROVISIONING__MOSQUITTO_PASSWD_FILE": str(self.folder / "passwd"),
            }
            | extra
        )

    def service(self, name: str) -> ServiceProcess:
        if name not in self.services:
            self.services[name] = ServiceProcess(name, self.env(), free_port(), self.folder)
        return self.services[name]

    async def start(self, names: tuple[str, ...] = GATE_PATH) -> None:
        for name in names:
            self.service(name).start()
        for name in names:
            await asyncio.to_thread(self.services[name].wait_ready)

    def gate_account(self, gate_id: str) -> MqttSettings:
        from pydantic import SecretStr

        password = SecretStr(self.gate_passwords[gate_id])
        return self.mqtt.model_copy(update={"username": gate_id, "password": password})

    def load(self, checks: int = CHECKS_PER_GATE) -> asyncio.Task[list[None]]:
        """Every gate sending `checks` checks, in the background."""
        self.gates = [DrillGate(self.gate_account(g), g) for g in sorted(self.gate_passwords)]
        return asyncio.ensure_future(asyncio.gather(*(gate.run(checks) for gate in self.gates)))

    def sent(self) -> int:
        return sum(len(gate.sent) for gate in self.gates)

    async def until_sent(self, count: int, timeout_s: float = 120.0) -> None:
        for _ in range(int(timeout_s / 0.1)):
            if self.sent() >= count:
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"only {self.sent()} checks sent")

    async def quiesce(self) -> None:
        """Gates stop sending, and everything they sent is stored: a quiet instant under load."""
        for gate in self.gates:
            gate.going.clear()
        await asyncio.sleep(ANSWER_SETTLE_S)  # a check being published as the gate paused
        assert await all_stored(self.direct_database_url, self.gates), "the pipeline did not drain"

    def resume(self) -> None:
        for gate in self.gates:
            gate.going.set()

    async def finish(self, name: str, load: asyncio.Task[list[None]]) -> Tally:
        """Wait for the load to end and every sent check to be stored; print the counts; nothing lost."""
        await asyncio.wait_for(load, 240)
        counts = await tally(self.direct_database_url, self.gates)
        print(counts.line(name))
        assert counts.lost == 0, counts.line(name)
        assert counts.duplicates == 0, counts.line(name)
        return counts


@pytest.fixture
async def drill(tmp_path: Path) -> AsyncIterator[Drill]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    from maskwatch.database.engine import migrate

    root = f"drill/{uuid.uuid4().hex[:8]}"
    server_password = new_password()
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    write_password(passwd, SERVER_USER, server_password)
    gate_passwords = {f"gate-{n}": new_password() for n in range(1, GATES + 1)}
    for gate_id, password in gate_passwords.items():
        write_password(passwd, gate_id, password)
    acl.write_text(render_acl(Topics(root)))
    broker = PrivateBroker(
        tmp_path,
        extra_config=f"allow_anonymous false\npassword_file {passwd}\nacl_file {acl}\n",
        persistence=True,
    )
    redis = PrivateRedis(tmp_path)
    link = DatabaseLink(5432)
    database = f"maskwatch_drill_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    from pydantic import SecretStr

    drill = Drill(
        folder=tmp_path,
        redis=redis,
        broker=broker,
        link=link,
        database=database,
        mqtt=MqttSettings(
            port=broker.port,
            embedded=False,
            username=SERVER_USER,
            password=SecretStr(server_password),
            topic_root=root,
        ),
        gate_passwords=gate_passwords,
    )
    try:
        await asyncio.to_thread(migrate, drill.direct_database_url)
        _register(drill)
        broker.start()
        redis.start()
        link.restore()
        yield drill
    finally:
        for service in drill.services.values():
            service.stop()
        broker.stop()
        redis.stop()
        link.cut()
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _register(drill: Drill) -> None:
    from maskwatch.database.engine import create_engine
    from maskwatch.database.gates import register_gate

    engine = create_engine(drill.direct_database_url)
    try:
        for gate_id in drill.gate_passwords:
            register_gate(engine, gate_id, site_id="default")
    finally:
        engine.dispose()
