"""The bench's own corner of the real Mosquitto, Redis and PostgreSQL, and its services as processes.

Each run has its own topic root, stream prefix and scratch database, so it can share the machine's
servers with other work without reading or writing anything of theirs; everything is on loopback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from maskwatch.mqtt import MqttSettings
from tests.ports import free_port
from tests.private_broker import PrivateBroker

POSTGRES_ADMIN_URL = os.environ.get(
    "MASKWATCH_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("MASKWATCH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
EXTERNAL_MQTT_PORT = os.environ.get("MASKWATCH_BENCH_MQTT_PORT")
"""A broker of your own to measure against; by default the run starts a Mosquitto with the shipped
settings (`shipped_broker_tuning`), since the machine's own broker may lack them."""
SHIPPED_BROKER_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"
BROKER_TUNING = ("set_tcp_nodelay", "max_packet_size", "max_queued_messages")
"""The shipped broker's directives that change how fast or how much it carries (not its accounts, ACL
or storage, which a scratch broker on loopback does without)."""
READY_WAIT_S = 240.0


def rss_mib(pid: int) -> float:
    """A process's resident memory now (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Service:
    """One `maskwatch run NAME`, as its container runs it, with its log in the run's folder."""

    def __init__(self, label: str, name: str, env: dict[str, str], folder: Path) -> None:
        self.label = label
        self.name = name
        self.metrics_port = free_port()
        self.env = env | {"MASKWATCH_METRICS_PORT": str(self.metrics_port)}
        self.log = folder / f"{label}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "stack", "run", self.name], env=self.env, stdout=log, stderr=log
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_WAIT_S
        while time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{self.metrics_port}/readyz"
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited:\n{self.tail()}")
            time.sleep(0.2)
        raise TimeoutError(f"{self.label} not ready within {READY_WAIT_S:.0f}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@dataclass
class World:
    folder: Path
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    services: list[Service] = field(default_factory=list)
    mqtt_port: int = 1883
    broker: PrivateBroker | None = None

    def start_broker(self) -> None:
        """The run's Mosquitto: the shipped tuning, anonymous on loopback (or the external one named)."""
        if EXTERNAL_MQTT_PORT is not None:
            self.mqtt_port = int(EXTERNAL_MQTT_PORT)
            return
        folder = self.folder / "mosquitto"
        folder.mkdir(exist_ok=True)
        self.broker = PrivateBroker(folder, extra_config="allow_anonymous true\n" + shipped_broker_tuning())
        self.broker.start()
        self.mqtt_port = self.broker.port

    def stop_broker(self) -> None:
        if self.broker is not None:
            self.broker.stop()
            self.broker = None

    @property
    def database(self) -> str:
        return f"bench_{self.run}"

    @property
    def mqtt(self) -> MqttSettings:
        return MqttSettings(
            port=self.mqtt_port, embedded=False, topic_root=f"bench/{self.run}", persistent_sessions=False
        )

    @property
    def prefix(self) -> str:
        return f"bench-{self.run}"

    def env(self, **extra: str) -> dict[str, str]:
        database_url = f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{self.database}"
        return (
            dict(os.environ)
            | {
                "MASKWATCH_SECRET_KEY": "a-bench-key-nobody-uses-elsewhere-0123456789",
                "MASKWATCH_MQTT__EMBEDDED": "false",
                "MASKWATCH_MQTT__PORT": str(self.mqtt_port),
                "MASKWATCH_MQTT__TOPIC_ROOT": self.mqtt.topic_root,
                "MASKWATCH_MQTT__PERSISTENT_SESSIONS": "false",
                "MASKWATCH_QUEUE__URL": REDIS_URL,
                "MASKWATCH_QUEUE__PREFIX": self.prefix,
                "MASKWATCH_DATABASE__URL": database_url,
                "MASKWATCH_ALLOW_UNREGISTERED_GATES": "true",  # simulated gates with made-up ids
                "MASKWATCH_LOG_LEVEL": "WARNING",
                "MASKWATCH_INGEST__HTTP_PORT": "null",  # no HTTP door: the gates speak MQTT
            }
            | extra
        )

    def create_database(self) -> None:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.database}"')

    def drop_database(self) -> None:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def start(
        self, names: list[str], *, workers: int = 1, extra_env: dict[str, str] | None = None
    ) -> list[Service]:
        """Start `names` (inference as `workers` processes under their own consumer names) and wait;
        `extra_env` is added to each one's environment."""
        started = []
        for name in names:
            count = workers if name == "inference" else 1
            for n in range(1, count + 1):
                label = f"{name}-{n}" if count > 1 else name
                extra = {"MASKWATCH_WORKER__INSTANCE": f"bench-{n}"} if name == "inference" else {}
                extra |= extra_env or {}
                service = Service(label, name, self.env(**extra), self.folder)
                service.start()
                started.append(service)
        for service in started:
            service.wait_ready()
        self.services += started
        return started

    def stop(self, services: list[Service] | None = None) -> None:
        for service in list(services if services is not None else self.services):
            service.stop()
            self.services.remove(service)


def shipped_broker_tuning() -> str:
    """The `BROKER_TUNING` lines of deploy/mosquitto/mosquitto.conf, as they are shipped. Without
    `set_tcp_nodelay` a verdict waited 16 ms on delayed acknowledgements between the broker and the
    gate (a check took 43 ms at rest instead of 28)."""
    lines = SHIPPED_BROKER_CONFIG.read_text().splitlines()
    return "".join(f"{line}\n" for line in lines if line.split(" ", 1)[0] in BROKER_TUNING)
