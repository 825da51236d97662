"""The demo's gate visits over several days at sites in three time zones, recorded as the stack records them.

Sites are created through the admin API, gates registered as `maskwatch
device add` registers them, verdicts and alert transitions written by the
stats service's own writer (so the roll-up triggers run as in production),
and an alert acknowledged through the API. The visits are the demo's
(`stack.demo.run.VISITS`: a pass and each kind of denial), plus a pass that a
soft-mode policy flagged, which the figures must not count as a denial.

Among them, people trying again (`RETRIES`): denied, then passing at the same
gate a few seconds later; denied twice in a row; denied twice, then passing;
and, as counterexamples, the next person right after a pass and a denial after
the retry window. The stats writer marks the retries as it marks them in
production, so the figures count people (visitors) apart from attempts.

The days are chosen to be awkward: Berlin's 23-hour and 25-hour days, a
half-hour zone (Asia/Kolkata), and checks on both sides of every midnight.
The retries straddle the range's edges (a visit that began the day before),
UTC hours and UTC midnight (where the roll-ups and the raw rows meet), and a
local hour with no other denial and a gate with no other check (so each has
more passes than visitors, and no denied visitor).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import cycle
from uuid import UUID, uuid4
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
from services.stats.settings import StatsSettings
from services.stats.writer import StatsWriter
from stack.demo.run import VISITS

SECRET = "test-secret-key-for-the-grafana-figures"
SITES = {"default": "UTC", "berlin": "Europe/Berlin", "kolkata": "Asia/Kolkata"}
"""`default` exists from the first migration; the others are created through the API."""
GATES = {
    "default": ["entrance-1", "entrance-2", "entrance-3"],  # the demo's gates, at the demo's site
    "berlin": ["berlin-north", "berlin-south"],
    "kolkata": ["kolkata-main", "kolkata-side"],
}
STAFF_GATES = {"default": "entrance-staff", "berlin": "berlin-staff", "kolkata": "kolkata-staff"}
"""Registered, and used by nobody but a person denied there just before a day who passed just after its
midnight: in that day the gate has a pass and no visitor, so its denied visitors (never below zero) are 0."""
STRAY_GATE = "never-registered"
"""Its checks count for the default site, in the API and on the dashboard alike."""
DAYS = (date(2026, 3, 29), date(2026, 10, 25), date(2026, 6, 15))
"""Berlin's spring-forward and fall-back days, and an ordinary one."""
STEP = timedelta(minutes=37)
RETRY_WINDOW_S = 30.0
"""The stats writer's retry window (`stats.retry_window_s`), its default."""
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Attempt:
    """One check of a person at a gate, seconds from the moment the scene is placed at."""

    after_s: float
    expected: str
    retry: bool
    """Whether the stats writer is to mark it a retry of the denial before it."""


RETRIES: dict[str, tuple[Attempt, ...]] = {
    "denied, then passes on the second try": (
        Attempt(-10, "deny: no_mask", retry=False),
        Attempt(10, "open", retry=True),
    ),
    "denied twice in a row": (
        Attempt(-20, "deny: no_mask", retry=False),
        Attempt(5, "deny: no_mask", retry=True),
    ),
    "denied twice, passes on the third try": (
        Attempt(-25, "deny: multiple_faces", retry=False),
        Attempt(-5, "deny: no_mask", retry=True),
        Attempt(15, "open", retry=True),
    ),
    "the next person right after a pass, and a denial after the window": (
        Attempt(-10, "open", retry=False),
        Attempt(5, "deny: fever", retry=False),
        Attempt(5 + RETRY_WINDOW_S + 10, "deny: no_face", retry=False),
    ),
}
"""People trying again at one gate, each with what the stats writer makes of every attempt."""
CLEAR = timedelta(minutes=3)
"""No other check at a scene's gate this close to it, so the scene's attempts are all its own."""


@dataclass(frozen=True)
class DemoWorld:
    engine: sa.Engine
    api: TestClient
    retries: frozenset[UUID]
    """The checks the stats writer must have marked as retries."""


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


def _verdicts() -> dict[str, list[Verdict]]:
    """The visits once every STEP, per site."""
    outcomes = cycle([*(v.expected for v in VISITS), "flagged: no_mask"])
    out: dict[str, list[Verdict]] = {}
    for site, zone in SITES.items():
        gates = cycle([*GATES[site], STRAY_GATE] if site == "default" else GATES[site])
        out[site] = [
            _verdict(next(gates), at, next(outcomes)) for day in DAYS for at in _instants(day, ZoneInfo(zone))
        ]
    return out


def _only_passes(visits: list[Verdict], start: datetime) -> bool:
    """Whether the visits in the hour from `start` are all passes."""
    return all(v.decision == Decision.OPEN for v in visits if start <= v.decided_at < start + HOUR)


def _scenes(day: date, tz: ZoneInfo, visits: list[Verdict]) -> list[tuple[datetime, str, bool]]:
    """Where the retries of a local day go, and which: across the edges of the day, of UTC hours and days;
    whether at the site's staff gate."""
    start, end = day_range(day, tz)
    first_hour = start.replace(minute=0, second=0, microsecond=0) + HOUR
    utc_midnight = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    # A local hour whose other visits all pass: its retried pass makes it an hour with more passes than
    # visitors, where the denied visitors (never below zero) count none.
    hours = [start + k * HOUR for k in range(6, 20)]
    clamped = next((h for h in hours if _only_passes(visits, h)), None)
    assert clamped is not None, f"no local hour of {day} with passes only: change STEP or VISITS"
    scenes = [
        (start, "denied, then passes on the second try", True),  # the visit began the day before
        (first_hour, "denied twice, passes on the third try", False),
        (
            start + timedelta(hours=3, minutes=17),
            "the next person right after a pass, and a denial after the window",
            False,
        ),
        (clamped, "denied, then passes on the second try", False),
        (end, "denied twice in a row", False),  # the visit goes on into the next day
    ]
    if utc_midnight < end and utc_midnight not in (start, first_hour):
        scenes.append((utc_midnight, "denied twice, passes on the third try", False))
    return sorted(scenes)


def _free_gate(site: str, at: datetime, taken: list[Verdict]) -> str:
    """A gate of the site with no other check within CLEAR of `at`."""
    busy = {v.gate_id for v in taken if abs(v.decided_at - at) < CLEAR}
    return next(g for g in GATES[site] if g not in busy)


def _retries(visits: dict[str, list[Verdict]]) -> list[tuple[Verdict, bool]]:
    """The people trying again, scene after scene, each at a gate of its own at that moment; with each
    attempt, whether it is a retry."""
    out: list[tuple[Verdict, bool]] = []
    for site, zone in SITES.items():
        for day in DAYS:
            for at, scene, staff in _scenes(day, ZoneInfo(zone), visits[site]):
                gate = (
                    STAFF_GATES[site]
                    if staff
                    else _free_gate(site, at, [*visits[site], *(v for v, _ in out)])
                )
                out.extend(
                    (_verdict(gate, at + timedelta(seconds=a.after_s), a.expected), a.retry)
                    for a in RETRIES[scene]
                )
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
        for gate in [*GATES[site], STAFF_GATES[site]]:
            register_gate(engine, gate, site_id=site)
    writer = StatsWriter(
        engine, open_queue("memory://"), settings=StatsSettings(retry_window_s=RETRY_WINDOW_S)
    )
    visits = _verdicts()
    writer.write([v for site in SITES for v in visits[site]], [])
    retries = _retries(visits)
    for verdict, _ in sorted(retries, key=lambda r: r[0].decided_at):
        writer.write([verdict], [])  # one by one, as the gate controller decides them
    _alerts(engine, writer, api)
    return DemoWorld(engine, api, frozenset(v.check_id for v, retry in retries if retry))
