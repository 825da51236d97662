"""The web console in a real browser against the real stack.

The whole stack runs here on the embedded defaults (in-process broker and queue, SQLite in a temp
folder), the API serving the built console (`dashboard/dist`). `dashboard/e2e/console.e2e.mjs` drives
Debian's Chromium through playwright-core; when it needs something to happen on the server (a gate
check, an alert) it writes `ACTION <name>` on its stdout, and this harness does it and answers `OK` on
its stdin, so every step waits on a condition, never on a clock.

Skipped when node, Chromium, playwright-core or the build is missing (`make dashboard-test` builds).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
import sqlalchemy as sa

from devices.gate_agent.client import GateClient
from maskwatch.contracts import (
    AlertKind,
    AlertTransition,
    Decision,
    Reason,
    TemperatureReading,
    Transition,
    Verdict,
)
from maskwatch.database.engine import create_engine, migrate
from maskwatch.database.notifications import plan_deliveries, record_failure
from maskwatch.database.schema import cameras, gates, notification_recipients
from maskwatch.face_crops import FaceCropSettings
from maskwatch.mqtt import MqttSettings
from maskwatch.snapshots import SnapshotSettings, SnapshotStore
from maskwatch.streams import Streams, append
from services.api.accounts import create_account
from services.api.config import ApiSettings
from services.api.security import Role
from stack.demo.sample_faces import sample_jpeg
from stack.in_process import Stack
from stack.settings import (
    DatabaseSettings,
    IngestSettings,
    ProvisioningSettings,
    QueueSettings,
    Settings,
    WorkerSettings,
)
from tests.api.databases import new_postgres, postgres_template
from tests.ports import free_port

pytestmark = pytest.mark.timeout(600)

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
DIST = DASHBOARD / "dist"
SCRIPT = DASHBOARD / "e2e" / "console.e2e.mjs"
CHROMIUM = Path(os.environ.get("MASKWATCH_CHROMIUM", "/usr/bin/chromium"))
ADMIN = ("admin@example.org", "admin password 1234")
VIEWER = ("viewer@example.org", "viewer password 1234")
SITE_ZONE = "Asia/Seoul"


__all__ = ["new_postgres", "postgres_template"]


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if not (DASHBOARD / "node_modules" / "playwright-core").is_dir():
        return "dashboard/node_modules is missing (cd dashboard && npm ci)"
    if not (DIST / "index.html").is_file():
        return "the console is not built (cd dashboard && npm run build)"
    return None


def seed(settings: Settings) -> None:
    """Accounts for the script, and a registered gate and camera at the default site."""
    migrate(settings.database.url)
    engine = create_engine(settings.database.url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        create_account(conn, ADMIN[0], ADMIN[1], Role.ADMIN, all_sites=True, site_ids=[])
        create_account(conn, VIEWER[0], VIEWER[1], Role.VIEWER, all_sites=False, site_ids=["default"])
        conn.execute(
            sa.insert(gates).values(gate_id="gate-a", site_id="default", name="Main door", created_at=now)
        )
        conn.execute(
            sa.insert(cameras).values(
                camera_id="hall-1", site_id="default", name="Waiting room", settings={}, created_at=now
            )
        )
    engine.dispose()


class Actions:
    """What the browser script asks the server side to do."""

    def __init__(self, stack: Stack, workdir: Path) -> None:
        self.stack = stack
        self.settings = stack.settings
        self.workdir = workdir

    async def run(self, name: str) -> None:
        if name == "pass_check":
            await self._simulate_gate("mask", 36.6)
        elif name == "deny_check":
            await self._check("no_mask", 36.7)
        elif name == "fever_check":
            await self._check("mask", 38.4)
        elif name == "alert":
            await self._alert()
        elif name == "dead_delivery":
            self._dead_delivery()
        elif name == "warm_check_denied":
            await self._warm_check_denied()
        else:
            raise ValueError(f"the script asked for an unknown action {name!r}")

    async def _check(self, photo: str, temperature: float) -> None:
        async with GateClient(self.settings.mqtt, "gate-a") as gate:
            answer = await gate.check(
                sample_jpeg(photo), TemperatureReading(corrected_c=temperature), timeout=30
            )
        assert answer is not None, "the gate got no verdict"

    async def _simulate_gate(self, photo: str, temperature: float) -> None:
        """A check sent by `maskwatch simulate gate`, as a person trying the console by hand sends one."""
        image = self.workdir / f"{photo}.jpg"
        image.write_bytes(sample_jpeg(photo))
        mqtt = self.settings.mqtt
        env = os.environ | {
            "MASKWATCH_MQTT__EMBEDDED": "false",
            "MASKWATCH_MQTT__HOST": mqtt.host,
            "MASKWATCH_MQTT__PORT": str(mqtt.port),
            "MASKWATCH_MQTT__TOPIC_ROOT": mqtt.topic_root,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "stack", "simulate", "gate", "--gate-id", "gate-a",
            "--image", str(image), "--temperature", str(temperature), "--timeout", "30",
            env=env, cwd=str(self.workdir), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        assert '"decision": "open"' in out.decode(), out.decode()

    async def _warm_check_denied(self) -> None:
        """37.3 °C passes the default rules; once the gate controller has read the console's 37.2 °C
        (its directory refreshes every few seconds) the same person is denied for fever."""
        for _ in range(60):
            async with GateClient(self.settings.mqtt, "gate-a") as gate:
                answer = await gate.check(
                    sample_jpeg("mask"), TemperatureReading(corrected_c=37.3), timeout=30
                )
            if isinstance(answer, Verdict) and answer.decision is Decision.DENY:
                assert answer.reasons == [Reason.FEVER], answer.reasons
                return
            await asyncio.sleep(0.5)
        raise AssertionError("the console's fever threshold never reached the gate controller")

    def _dead_delivery(self) -> None:
        """A message to the webhook the console added, given up on as the notifier gives up: the console
        lists it with a retry. The webhook's address does not resolve, so once retried it waits to be
        tried again (pending) rather than dying at once."""
        engine = create_engine(self.settings.database.url)
        try:
            with engine.begin() as conn:
                recipient = conn.execute(
                    sa.select(notification_recipients).where(notification_recipients.c.channel == "webhook")
                ).one()
                key = str(uuid4())
                notification = {  # what the notifier stores with a delivery (services/notifier/service.py)
                    "alert_id": key,
                    "transition": "opened",
                    "kind": "unmasked",
                    "site_id": "default",
                    "site_name": "Default site",
                    "device_id": "hall-1",
                    "at": datetime.now(UTC).isoformat(),
                    "unmasked_since": None,
                    "offline_since": None,
                    "why": None,
                    "link": "",
                    "snapshot": None,
                }
                (delivery_id,) = plan_deliveries(
                    conn,
                    alert_key=key,
                    transition="opened",
                    notification=notification,
                    recipients=[recipient],
                )
                record_failure(conn, delivery_id, "webhook answered 503", dead=True)
        finally:
            engine.dispose()

    async def _alert(self) -> None:
        """Someone unmasked on the waiting-room camera, with pictures, as the monitoring service raises it."""
        alert_id = uuid4()
        store = SnapshotStore(self.settings.snapshots)
        snapshot = store.save(str(alert_id), "snapshot", sample_jpeg("no_mask"))
        crop = store.save(str(alert_id), "crop", sample_jpeg("no_mask"))
        now = datetime.now(UTC)
        opened = AlertTransition(
            alert_id=alert_id,
            transition=Transition.OPENED,
            at=now,
            kind=AlertKind.UNMASKED,
            site_id="default",
            device_id="hall-1",
            track=7,
            box=(10, 20, 110, 140),
            unmasked_since=now - timedelta(seconds=75),
            snapshot=snapshot,
            crop=crop,
        )
        await append(self.stack.queue, Streams(self.settings.queue.prefix).alerts, opened)


async def drive(script: Path, env: dict[str, str], actions: Actions) -> tuple[int, str]:
    """Run the browser script, doing the actions it asks for; its exit status and what it printed."""
    process = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        cwd=str(DASHBOARD),
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    lines: list[str] = []
    try:
        while True:
            raw = await process.stdout.readline()
            if not raw:
                break
            line = raw.decode(errors="replace").rstrip("\n")
            lines.append(line)
            print(line, file=sys.stderr)
            if line.startswith("ACTION "):
                await actions.run(line.removeprefix("ACTION ").strip())
                process.stdin.write(b"OK\n")
                await process.stdin.drain()
        return await process.wait(), "\n".join(lines)
    finally:
        if process.returncode is None:  # a failed action or the test's timeout: no browser left behind
            process.kill()
            await process.wait()


async def test_the_console_in_a_browser(tmp_path, mosquitto, redis_url, new_postgres):
    """On the real Mosquitto, Redis and PostgreSQL (a database of its own), as a venue runs it."""
    missing = _missing()
    if missing:
        pytest.skip(missing)
    host, port = mosquitto
    run = uuid4().hex[:8]
    settings = Settings(
        mqtt=MqttSettings(
            host=host, port=port, embedded=False, topic_root=f"console/{run}", persistent_sessions=False
        ),
        queue=QueueSettings(url=redis_url, prefix=f"console-{run}", claim_idle_ms=3000),
        database=DatabaseSettings(url=new_postgres()),
        worker=WorkerSettings(batch_size=8, block_ms=50, check_deadline_s=30),  # never "too late" here
        ingest=IngestSettings(http_port=free_port()),
        api=ApiSettings(port=free_port(), dashboard_dir=DIST),
        snapshots=SnapshotSettings(directory=tmp_path / "snapshots"),
        face_crops=FaceCropSettings(directory=tmp_path / "faces"),
        site_timezone=SITE_ZONE,
        # Devices the admin registers get accounts in the test's own password file, not the repository's.
        provisioning=ProvisioningSettings(mosquitto_passwd_file=tmp_path / "passwd"),
        allow_unregistered_gates=True,  # a test bench: gates with made-up ids
    )
    seed(settings)
    stack = Stack(settings)
    await stack.start(timeout=120)
    try:
        env = {
            **os.environ,
            "CONSOLE_URL": f"http://127.0.0.1:{settings.api.port}",
            "CHROMIUM": str(CHROMIUM),
            "ADMIN_EMAIL": ADMIN[0],
            "ADMIN_PASSWORD": ADMIN[1],
            "VIEWER_EMAIL": VIEWER[0],
            "VIEWER_PASSWORD": VIEWER[1],
            "SITE_ZONE": SITE_ZONE,
            "SCREENSHOTS": os.environ.get(
                "MASKWATCH_SCREENSHOTS", str(DASHBOARD / "test-results" / "screenshots")
            ),
        }
        status, output = await drive(SCRIPT, env, Actions(stack, tmp_path))
    finally:
        await stack.close()
    assert status == 0, f"the browser script failed:\n{output[-6000:]}"
