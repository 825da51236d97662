"""The demo's gate visits over several days at sites in three time zones, recorded as the stack records them.

Sites are created through the admin API, gates registered as `maskwatch
device add` registers them, verdicts and alert transitions written by the
stats service's own writer (so the roll-up triggers run as in production),
and an alert acknowledged through the API. The visits are the demo's
(`stack.demo.run.VISITS`: a pass and each kind of denial), plus a pass that a
soft-mode policy flagged, which the figures must not count as a denial.

The days are chosen to be awkward: Berlin's 23-hour and 25-hour days, a
half-hour zone (Asia/Kolkata), and checks on both sides of every midnight.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import cycle
from uuid import uuid4
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from maskwatch.contracts import AlertKind, AlertTransition, Decision, Reason, Timings, Transition, Verdict
from maskwatch.database.figures import day_range
from maskwatch.database.gates import register_gate
from maskwatch.database.schema import alerts
from maskwatch.queue import open_queue
from services.api.accounts import create_account
from services.api.app import create_app
from services.api.commander import RecordingGateCommander
from services.api.config import ApiSettings
from services.api.security import Role, issue_token
from services.stats.writer import StatsWriter
from stack.demo.run import VISITS

SECRET = "test-secret-key-for-the-grafana-figures"
SITES = {"default": "UTC", "berlin": "Europe/Berlin", "kolkata": "Asia/Kolkata"}
"""`default` exists from the first migration; the others are created through the API."""
GATES = {
    "default": ["entrance-1", "entrance-2", "entrance-3"],  # the demo's gates, at the demo's site
    "berlin": ["berlin-north", "berlin-south"],
    "kolkata": ["kolkata-main"],
}
STRAY_GATE = "never-registered"
"""Its checks count for the default site, in the API and on the dashboard alike."""
DAYS = (date(2026, 3, 29), date(2026, 10, 25), date(2026, 6, 15))
"""Berlin's spring-forward and fall-back days, and an ordinary one."""
STEP = timedelta(minutes=37)


@dataclass(frozen=True)
class DemoWorld:
    engine: sa.Engine
    api: TestClient


def _verdict(gate_id: str, at: datetime, expected: str) -> Verdict:
    """The demo's expected outcome ("open", "deny: fever", "flagged: no_mask") as the controller says it."""
    outcome, _, reasons = expected.partition(": ")
    listed = [Reason(r) for r in reasons.split(",") if r]
    return Verdict(
        gate_id=gate_id,
        check_id=uuid4(),
        captured_at=at,
        decided_at=at,
        decision=Decision.DENY if outcome == "deny" else Decision.OPEN,
        reasons=listed if outcome == "deny" else [],
        flags=listed if outcome == "flagged" else [],
        message="demo",
        temperature_c=36.6,
        timings=Timings(queue_ms=1, decode_ms=1, detect_ms=2, classify_ms=1, total_ms=6),
    )


def _instants(day: date, tz: ZoneInfo) -> Iterator[datetime]:
    """Every STEP from two hours before the local day to two hours after the next, and both edges of it."""
    start, end = day_range(day, tz)
    t = start - timedelta(days=1, hours=2)
    while t < end + timedelta(days=1, hours=2):
        yield t
        t += STEP
    yield start
    yield end - timedelta(seconds=1)


def _verdicts() -> list[Verdict]:
    outcomes = cycle([*(v.expected for v in VISITS), "flagged: no_mask"])
    out: list[Verdict] = []
    for site, zone in SITES.items():
        gates = cycle([*GATES[site], STRAY_GATE] if site == "default" else GATES[site])
        for day in DAYS:
            out.extend(_verdict(next(gates), at, next(outcomes)) for at in _instants(day, ZoneInfo(zone)))
    return out


def _opened(site: str, n: int) -> AlertTransition:
    return AlertTransition(
        alert_id=uuid4(),
        transition=Transition.OPENED,
        at=datetime(2026, 6, 15, 9, n, tzinfo=UTC),
        kind=AlertKind.UNMASKED,
        site_id=site,
        device_id=f"{site}-camera",
        track=n,
        unmasked_since=datetime(2026, 6, 15, 8, 58, tzinfo=UTC),
    )


def _alerts(engine: sa.Engine, writer: StatsWriter, api: TestClient) -> None:
    """Per site: alerts left open, one acknowledged through the API, one resolved by its camera."""
    for count, site in enumerate(SITES, start=1):
        opened = [_opened(site, n) for n in range(count + 2)]
        writer.write([], [], opened)
        resolved = opened[1].model_copy(update={"transition": Transition.RESOLVED, "why": "masked"})
        writer.write([], [], [resolved])
        with engine.connect() as conn:
            acked = conn.execute(
                sa.select(alerts.c.alert_id).where(alerts.c.alert_key == str(opened[0].alert_id))
            ).scalar_one()
        assert api.post(f"/api/v1/alerts/{acked}/acknowledge").status_code == 200


def _admin_client(engine: sa.Engine) -> TestClient:
    # No gate is opened from here: the recording commander stands in for the broker.
    app = create_app(
        ApiSettings(), secret_key=SecretStr(SECRET), engine=engine, commander=RecordingGateCommander()
    )
    with engine.begin() as conn:
        user_id = create_account(
            conn, "grafana-figures@example.org", None, Role.ADMIN, all_sites=True, site_ids=[]
        )
        _, token = issue_token(conn, SECRET.encode(), user_id, kind="api", name="figures", ttl=None)
    client = TestClient(app, raise_server_exceptions=True)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def load_demo(database_url: str) -> DemoWorld:
    """The demo's visits and some alerts in the (migrated) database, and an admin's API client over it."""
    from maskwatch.database.engine import create_engine

    engine = create_engine(database_url)
    api = _admin_client(engine)
    for site, zone in SITES.items():
        if site != "default":
            body = {"site_id": site, "name": site.title(), "time_zone": zone}
            assert api.post("/api/v1/sites", json=body).status_code == 201
        for gate in GATES[site]:
            register_gate(engine, gate, site_id=site)
    writer = StatsWriter(engine, open_queue("memory://"))
    writer.write(_verdicts(), [])
    _alerts(engine, writer, api)
    return DemoWorld(engine, api)
