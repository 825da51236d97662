"""The Grafana dashboard on the statistics database shows the API's numbers, read as Grafana's role.

Grafana cannot run here, so each panel's SQL gets Grafana's time macros and
the site variable filled in as Grafana fills them (tests/deploy/grafana_sql.py)
and runs on the real PostgreSQL, signed in as the read-only role that
deploy/postgres/grafana-role.sql makes, over the demo's visits
(tests/deploy/demo_figures.py). Every panel is compared with what the admin
API answers for the same site and days.

The figures count people: a person denied who tries again at the same gate
within the retry window is one visitor (maskwatch/database/figures.py). The
demo has such people, marked by the stats writer, at the range's edges and
where the roll-ups meet the raw rows, so a panel that counts attempts where
the API counts visitors shows different numbers and fails here.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from maskwatch.database.engine import create_engine
from maskwatch.database.figures import RETRY
from maskwatch.database.schema import check_reasons
from tests.deploy.demo_figures import DAYS, SITES, DemoWorld, load_demo
from tests.deploy.grafana_sql import sql_panels, substitute, variable_queries
from tests.deploy.scratch_database import scratch_database

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/grafana/dashboards/maskwatch-figures.json"
ROLE_SQL = ROOT / "deploy/postgres/grafana-role.sql"
MILLISECOND = timedelta(milliseconds=1)

pytestmark = pytest.mark.timeout(300)

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class ApiView:
    """What the API says about one site over [first, last] local days."""

    summary: dict[str, Any]
    hours: list[dict[str, Any]]
    gates: list[dict[str, Any]]
    open_alerts: list[dict[str, Any]]


@pytest.fixture(scope="module")
def database(postgres_url: str) -> Iterator[str]:
    with scratch_database(postgres_url, "mw_grafana") as url:
        yield url


@pytest.fixture(scope="module")
def demo(database: str) -> Iterator[DemoWorld]:
    world = load_demo(database)
    yield world
    world.api.close()
    world.engine.dispose()


@pytest.fixture(scope="module")
def reader(database: str, demo: DemoWorld) -> Iterator[sa.Engine]:
    """The database as Grafana's role sees it: the role made by the shipped script, signed in as it."""
    if shutil.which("psql") is None:
        pytest.fail("psql (PostgreSQL's client) runs deploy/postgres/grafana-role.sql", pytrace=False)
    role, password = f"mw_grafana_{uuid.uuid4().hex[:10]}", "it's a secret; with $ and quotes'"
    command = ["psql", "-X", "-q", "-v", f"role={role}", "-v", f"password={password}", "-f", str(ROLE_SQL)]
    for _ in range(2):  # compose runs it after every migration: a second run must change nothing
        subprocess.run(
            [*command, database],
            check=True,
            capture_output=True,
        )
    as_role = sa.make_url(database).set(username=role, password=password)
    engine = create_engine(as_role.render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with psycopg.connect(database, autocommit=True) as owner:
        owner.execute(f'DROP OWNED BY "{role}"')
        owner.execute(f'DROP ROLE "{role}"')


def _api_view(demo: DemoWorld, site: str, first: date, last: date) -> ApiView:
    query = f"from={first}&to={last}"

    def get(path: str) -> dict[str, Any]:
        response = demo.api.get(path)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    base = f"/api/v1/sites/{site}/stats"
    alerts = get(f"/api/v1/alerts?site={site}&state=open&limit=500")
    assert alerts["total"] == len(alerts["_embedded"]["items"])
    return ApiView(
        summary=get(f"{base}?{query}"),
        hours=get(f"{base}/hourly?{query}")["hours"],
        gates=get(f"{base}/gates?{query}")["gates"],
        open_alerts=alerts["_embedded"]["items"],
    )


def _run(reader: sa.Engine, sql: str) -> Rows:
    with reader.connect() as conn:
        # Grafana's session keeps whatever zone the server is set to: no panel may depend on it, so the
        # tests read in an unlikely one (+12:45, and +13:45 in its summer).
        conn.execute(sa.text("SET TIME ZONE 'Pacific/Chatham'"))
        return [dict(row._mapping) for row in conn.execute(sa.text(sql))]


def _instant(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _figures(rows: Rows, api: ApiView) -> None:
    (row,) = rows
    expected = api.summary["figures"]
    assert row == {k: expected[k] for k in ("visitors", "passed", "denied")}


def _attempts(rows: Rows, api: ApiView) -> None:
    (row,) = rows
    expected = api.summary["figures"]
    assert row == {k: expected[k] for k in ("attempts", "attempts_passed", "attempts_denied", "retries")}


def _open_count(rows: Rows, api: ApiView) -> None:
    assert rows == [{"open_alerts": len(api.open_alerts)}]


def _per_hour(rows: Rows, api: ApiView) -> None:
    shown = {_instant(r["time"]): (r["passed"], r["denied"]) for r in rows}
    expected = {
        _instant(h["start"]): (h["figures"]["passed"], h["figures"]["denied"])
        for h in api.hours
        if h["figures"]["attempts"]  # an hour with nothing but a retry has checks, and no visitor
    }
    assert shown == expected
    assert len(shown) == len(rows)  # no local hour split in two


def _by_reason(rows: Rows, api: ApiView) -> None:
    assert {r["reason"]: r["denied"] for r in rows} == api.summary["figures"]["denied_by_reason"]
    assert [r["denied"] for r in rows] == sorted((r["denied"] for r in rows), reverse=True)


def _per_gate(rows: Rows, api: ApiView) -> None:
    columns = ("visitors", "passed", "denied", "attempts", "retries")
    shown = {r["gate"]: tuple(r[k] for k in columns) for r in rows}
    expected = {g["gate_id"]: tuple(g["figures"][k] for k in columns) for g in api.gates}
    assert shown == expected


def _open_list(rows: Rows, api: ApiView) -> None:
    assert [r["alert_id"] for r in rows] == [a["alert_id"] for a in api.open_alerts]


COMPARISONS: dict[str, Callable[[Rows, ApiView], None]] = {
    "Visitors, passed, denied": _figures,
    "Attempts and retries": _attempts,
    "Open alerts": _open_count,
    "Visitors per hour": _per_hour,
    "Denied by reason": _by_reason,
    "Per gate": _per_gate,
    "Open alerts, newest first": _open_list,
}


def _compare_every_panel(reader: sa.Engine, demo: DemoWorld, site: str, first: date, last: date) -> None:
    api = _api_view(demo, site, first, last)
    # The dashboard's time range for those local days: Grafana's `to` is the last millisecond in it.
    start, end = _instant(api.summary["start"]), _instant(api.summary["end"]) - MILLISECOND
    assert api.summary["figures"]["visitors"] > 0  # the demo data reaches every site and day compared
    for panel in sql_panels(DASHBOARD):
        rows = _run(reader, substitute(panel.sql, start, end, {"site": site}))
        COMPARISONS[panel.title](rows, api)


def test_every_panel_is_compared_with_the_api():
    assert [p.title for p in sql_panels(DASHBOARD)] == list(COMPARISONS)


@pytest.mark.parametrize("day", DAYS, ids=str)
@pytest.mark.parametrize("site", list(SITES))
def test_each_panel_shows_the_api_figures_of_a_site_and_day(reader, demo, site, day):
    _compare_every_panel(reader, demo, site, day, day)


@pytest.mark.parametrize("site", list(SITES))
def test_each_panel_shows_the_api_figures_over_several_days(reader, demo, site):
    """Three days: whole UTC days come from the daily roll-up, as in the API."""
    day = DAYS[-1]
    _compare_every_panel(reader, demo, site, day - timedelta(days=1), day + timedelta(days=1))


def test_the_demo_has_people_trying_again(demo):
    """What the comparisons rest on: the stats writer marked the demo's retries, and only those, and they
    change the figures of every site and day, down to an hour and a gate with more passes than visitors."""
    with demo.engine.connect() as conn:
        marked = conn.execute(sa.select(check_reasons.c.check_id).where(check_reasons.c.reason == RETRY))
        assert set(marked.scalars()) == demo.retries
    for site in SITES:
        for day in DAYS:
            api = _api_view(demo, site, day, day)
            figures = api.summary["figures"]
            assert figures["retries"] > 0, (site, day)
            assert figures["visitors"] == figures["attempts"] - figures["retries"]
            assert RETRY not in figures["denied_by_reason"]
            assert any(h["figures"]["passed"] > h["figures"]["visitors"] for h in api.hours), (site, day)
            assert any(g["figures"]["passed"] > g["figures"]["visitors"] for g in api.gates), (site, day)


def test_the_site_picker_lists_every_site(reader, demo):
    (query,) = variable_queries(DASHBOARD).values()
    rows = _run(reader, query)
    assert [r["__value"] for r in rows] == sorted(SITES)
    assert all(r["__text"] for r in rows)


def test_a_quote_in_the_site_variable_stays_a_value(reader, demo):
    """${site:sqlstring}: Grafana quotes the value, so a crafted one selects nothing rather than more."""
    crafted = "x' OR 'a' = 'a"
    for panel in sql_panels(DASHBOARD):
        day = datetime(2026, 6, 15, tzinfo=UTC)
        rows = _run(reader, substitute(panel.sql, day, day + timedelta(days=1), {"site": crafted}))
        assert all(not any(v for k, v in row.items() if k != "time") for row in rows), panel.title


def test_grafanas_role_reads_the_figures_and_nothing_else(reader, demo):
    with reader.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM checks")).scalar_one() > 0
    secrets = ("users", "api_tokens", "notification_recipients", "deliveries", "server_keys", "cameras")
    for forbidden in (*secrets, "audit_log"):
        with reader.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(f"SELECT * FROM {forbidden}"))
    for change in (
        "DELETE FROM checks",
        "UPDATE alerts SET resolved_at = now()",
        "CREATE TABLE grafana_was_here (id int)",
    ):
        with reader.connect() as conn, pytest.raises(sa.exc.DBAPIError):
            conn.execute(sa.text(change))
