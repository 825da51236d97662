"""A drill's own world: a private Redis and Mosquitto (the shipped ACL, an account per device), a
database of its own on the real PostgreSQL behind a link the drill can cut, and the services as
separate processes, as `maskwatch run NAME` runs them. The drills (tests/drills) and `make soak`
(bench/soak.py) build it the same way."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from pydantic import SecretStr

from maskwatch.broker_accounts import new_password, write_password
from maskwatch.broker_acl import SERVER_USER, render_acl
from maskwatch.mqtt import MqttSettings
from maskwatch.topics import Topics
from stack.service_table import GATE_PATH
from tests.drills.database_link import DatabaseLink
from tests.drills.load import DrillGate, Tally, all_stored, tally
from tests.drills.services import ServiceProcess
from tests.ports import free_port
from tests.private_broker import PrivateBroker
from tests.private_redis import PrivateRedis

POSTGRES_ADMIN_URL = os.environ.get(
    "MASKWATCH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ANSWER_SETTLE_S = 0.5
CHECKS_PER_GATE = 20
LOAD_WAIT_S = 240.0


@dataclass
class Drill:
    folder: Path
    redis: PrivateRedis
    broker: PrivateBroker
    link: DatabaseLink
    database: str
    mqtt: MqttSettings
    """The server's account on the private broker."""
    passwords: dict[str, str]
    """Each device's broker password (its username is its id)."""
    gate_ids: list[str]
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

    async def start(self, names: Sequence[str] = GATE_PATH) -> None:
        for name in names:
            self.service(name).start()
        for name in names:
            await asyncio.to_thread(self.services[name].wait_ready)

    def account(self, device_id: str) -> MqttSettings:
        """The broker settings of one device, signed in with its own account."""
        password = SecretStr(self.passwords[device_id])
        return self.mqtt.model_copy(update={"username": device_id, "password": password})

    def load(self, checks: int = CHECKS_PER_GATE) -> asyncio.Future[list[None]]:
        """Every gate sending `checks` checks, in the background."""
        self.gates = [DrillGate(self.account(g), g) for g in self.gate_ids]
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

    async def count(self, load: asyncio.Future[list[None]]) -> Tally:
        """Once the load has ended and every sent check is stored (or given up on): the counts."""
        await asyncio.wait_for(load, LOAD_WAIT_S)
        return await tally(self.direct_database_url, self.gates)

    async def finish(self, name: str, load: asyncio.Future[list[None]]) -> Tally:
        """The counts, printed; nothing lost, nothing stored twice."""
        counts = await self.count(load)
        print(counts.line(name))
        assert counts.lost == 0, counts.line(name)
        assert counts.duplicates == 0, counts.line(name)
        return counts


@contextlib.asynccontextmanager
async def open_drill(folder: Path, *, gates: int = 3, cameras: int = 0) -> AsyncIterator[Drill]:
    """The world, torn down afterwards (services stopped, the database dropped)."""
    from maskwatch.database.engine import migrate

    root = f"drill/{uuid.uuid4().hex[:8]}"
    server_password = new_password()
    passwd, acl = folder / "passwd", folder / "acl"
    write_password(passwd, SERVER_USER, server_password)
    gate_ids = [f"gate-{n}" for n in range(1, gates + 1)]
    camera_ids = [f"camera-{n}" for n in range(1, cameras + 1)]
    passwords = {device_id: new_password() for device_id in (*gate_ids, *camera_ids)}
    for device_id, password in passwords.items():
        write_password(passwd, device_id, password)
    acl.write_text(render_acl(Topics(root)))
    broker = PrivateBroker(
        folder,
        extra_config=f"allow_anonymous false\npassword_file {passwd}\nacl_file {acl}\n",
        persistence=True,
    )
    database = f"maskwatch_drill_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    drill = Drill(
        folder=folder,
        redis=PrivateRedis(folder),
        broker=broker,
        link=DatabaseLink(5432),
        database=database,
        mqtt=MqttSettings(
            port=broker.port,
            embedded=False,
            username=SERVER_USER,
            password=SecretStr(server_password),
            topic_root=root,
        ),
        passwords=passwords,
        gate_ids=gate_ids,
    )
    try:
        await asyncio.to_thread(migrate, drill.direct_database_url)
        _register(drill, gate_ids, camera_ids)
        drill.broker.start()
        drill.redis.start()
        drill.link.restore()
        yield drill
    finally:
        for service in drill.services.values():
            service.terminate()  # all at once, then each waited for
        for service in drill.services.values():
            service.stop()
        drill.broker.stop()
        drill.redis.stop()
        drill.link.cut()
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _register(drill: Drill, gate_ids: list[str], camera_ids: list[str]) -> None:
    from maskwatch.database.cameras import register_camera
    from maskwatch.database.engine import create_engine
    from maskwatch.database.gates import register_gate

    engine = create_engine(drill.direct_database_url)
    try:
        for gate_id in gate_ids:
            register_gate(engine, gate_id, site_id="default")
        for camera_id in camera_ids:
            register_camera(engine, camera_id, site_id="default")
    finally:
        engine.dispose()
