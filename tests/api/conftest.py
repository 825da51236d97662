"""A seeded world for API tests: two sites, their gates, checks and alerts, and a user per role.

Users get API tokens directly (no password hashing per test), so a test calls
the API as any of them with `world.client(name)`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from maskwatch.contracts import AlertKind, AlertTransition, Decision, Reason, Timings, Transition, Verdict
from maskwatch.database.alerts import open_alert, record_transition
from maskwatch.database.engine import create_engine
from maskwatch.database.schema import alerts, gates, sites, user_sites, users
from maskwatch.device_accounts import DeviceAccounts
from maskwatch.queue import WorkQueue, open_queue
from maskwatch.snapshots import SnapshotSettings
from services.api.app import create_app
from services.api.commander import RecordingGateCommander
from services.api.config import ApiSettings
from services.api.security import Role, hash_password, issue_token
from services.stats.writer import StatsWriter
from tests.api.databases import database_url, new_postgres, postgres_template

__all__ = ["database_url", "new_postgres", "postgres_template"]

SECRET = "test-secret-key-for-the-api"
PASSWORD = "correct horse battery staple"
PEOPLE = {
    # name: (role, all sites?, sites)
    "root": (Role.ADMIN, True, []),
    "admin_a": (Role.ADMIN, False, ["a"]),
    "operator_a": (Role.OPERATOR, False, ["a"]),
    "viewer_a": (Role.VIEWER, False, ["a"]),
    "operator_b": (Role.OPERATOR, False, ["b"]),
}


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


def verdict(gate, at, decision=Decision.OPEN, reasons=()):
    return Verdict(
        gate_id=gate,
        check_id=uuid4(),
        captured_at=at,
        decided_at=at,
        decision=decision,
        reasons=list(reasons),
        message="ok",
        temperature_c=36.6,
        timings=Timings(queue_ms=1, decode_ms=1, detect_ms=1, classify_ms=1, total_ms=5),
    )


@dataclass
class World:
    engine: sa.Engine
    app: object
    commander: RecordingGateCommander
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    checks: dict[str, UUID] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    passwd_file: Path = Path("passwd")

    def client(self, who: str | None = None) -> TestClient:
        """`who`'s API token as a bearer; without `who`, a browser on the API's own page (it sends
        `Origin` with every change, as browsers do, and signs in for a session cookie)."""
        client = TestClient(self.app, raise_server_exceptions=True)  # type: ignore[arg-type]
        if who is not None:
            client.headers["Authorization"] = f"Bearer {self.tokens[who]}"
        else:
            client.headers["Origin"] = "http://testserver"
        return client

    def write(self, *verdicts: Verdict) -> None:
        StatsWriter(self.engine, open_queue("memory://")).write(list(verdicts), [])

    def new_alert(self, site: str) -> int:
        with self.engine.begin() as conn:
            return open_alert(conn, site, f"{site}-cam", "no_mask_indoors", {"people": 3})

    def unmasked_alert(
        self,
        site: str,
        camera: str | None = None,
        *,
        at: datetime | None = None,
        snapshot: str | None = None,
        crop: str | None = None,
    ) -> tuple[int, UUID]:
        """An alert raised as the monitoring service raises one (through a transition); its id and key."""
        opened = at or datetime.now(UTC)
        transition = AlertTransition(
            alert_id=uuid4(),
            transition=Transition.OPENED,
            at=opened,
            kind=AlertKind.UNMASKED,
            site_id=site,
            device_id=camera or f"{site}-cam",
            track=7,
            box=(10, 20, 110, 140),
            unmasked_since=opened - timedelta(seconds=75),
            snapshot=snapshot,
            crop=crop,
        )
        with self.engine.begin() as conn:
            record_transition(conn, transition)
            alert_id = conn.execute(
                sa.select(alerts.c.alert_id).where(alerts.c.alert_key == str(transition.alert_id))
            ).scalar_one()
        return int(alert_id), transition.alert_id


def build_world(
    url: str,
    password_hash: str,
    api: ApiSettings | None = None,
    *,
    queue: WorkQueue | None = None,
    snapshots: SnapshotSettings | None = None,
    **options: Any,
) -> World:
    """`options` go to `create_app` as they are (`redis_url`, `queue_prefix`…). Devices get broker
    accounts in a password file of the world's own (`world.passwd_file`)."""
    passwd_file = Path(tempfile.mkdtemp(prefix="mw-passwd-")) / "passwd"
    options.setdefault("device_accounts", DeviceAccounts(passwd_file))
    engine = create_engine(url)
    commander = RecordingGateCommander()
    app = create_app(
        api or ApiSettings(),
        secret_key=SecretStr(SECRET),
        engine=engine,
        commander=commander,
        queue=queue,
        snapshots=snapshots,
        **options,
    )
    world = World(engine, app, commander, passwd_file=options["device_accounts"].passwd_file)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(sites),
            [
                {"site_id": "a", "name": "Site A", "time_zone": "Europe/Berlin", "created_at": now},
                {"site_id": "b", "name": "Site B", "time_zone": "America/New_York", "created_at": now},
            ],
        )
        conn.execute(
            sa.insert(gates),
            [
                {"gate_id": "a-1", "site_id": "a", "name": "A north", "created_at": now},
                {"gate_id": "b-1", "site_id": "b", "name": "B main", "created_at": now},
            ],
        )
        for name, (role, all_sites, site_ids) in PEOPLE.items():
            user_id = conn.execute(
                sa.insert(users)
                .values(
                    email=f"{name}@example.org",
                    password_hash=password_hash,
                    role=role.value,
                    all_sites=all_sites,
                    disabled=False,
                    created_at=now,
                )
                .returning(users.c.user_id)
            ).scalar_one()
            for site in site_ids:
                conn.execute(sa.insert(user_sites).values(user_id=user_id, site_id=site))
            world.user_ids[name] = user_id
            _, world.tokens[name] = issue_token(
                conn, SECRET.encode(), user_id, kind="api", name="t", ttl=None
            )
    recent = now - timedelta(minutes=1)
    a_check = verdict("a-1", recent, Decision.DENY, [Reason.NO_MASK])
    b_check = verdict("b-1", recent)
    stray = verdict("stray-9", recent)
    world.write(a_check, b_check, stray)
    world.checks = {"a": a_check.check_id, "b": b_check.check_id, "default": stray.check_id}
    world.alerts = {"a": world.new_alert("a"), "b": world.new_alert("b")}
    return world


@pytest.fixture
def world(new_postgres, password_hash) -> Iterator[World]:
    """A fresh world on a PostgreSQL database of its own."""
    w = build_world(new_postgres(), password_hash)
    with w.client():
        yield w
    w.engine.dispose()


@pytest.fixture(scope="module")
def shared_world(postgres_url, postgres_template, password_hash) -> Iterator[World]:
    """One world for a whole module of tests that only add to it (the permission matrix)."""
    from tests.api.databases import _create, drop_postgres

    url = _create(postgres_url, f"mw_{uuid4().hex[:12]}", postgres_template)
    w = build_world(url, password_hash)
    with w.client():
        yield w
    w.engine.dispose()
    drop_postgres(url)
