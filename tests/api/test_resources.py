"""Links, pagination, problems, ETags, audit records and figures through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from maskwatch.contracts import Decision, Reason
from maskwatch.database.schema import audit_log
from tests.api.conftest import PASSWORD, build_world, verdict
from tests.api.databases import fresh_sqlite


def test_the_root_lists_entry_points_for_the_caller(world):
    anonymous = world.client().get("/api/v1/").json()["_links"]
    assert set(anonymous) == {"self", "docs", "openapi", "login"}
    viewer = world.client("viewer_a").get("/api/v1/").json()["_links"]
    assert {"sites", "gates", "checks", "alerts", "events", "me", "logout", "tokens"} <= set(viewer)
    assert "users" not in viewer
    root = world.client("root").get("/api/v1/").json()["_links"]
    assert {"users", "audit"} <= set(root)
    for href in {v["href"] for v in root.values() if "method" not in v} - {"/api/v1/events"}:
        assert world.client("root").get(href).status_code == 200, href


@pytest.mark.parametrize(
    ("who", "actions"),
    [
        ("viewer_a", set()),
        ("operator_a", {"open"}),
        ("admin_a", {"open", "edit"}),
        ("root", {"open", "edit"}),
    ],
)
def test_a_gate_links_to_open_only_for_roles_that_may_open_it(world, who, actions):
    links = world.client(who).get("/api/v1/gates/a-1").json()["_links"]
    assert {"self", "site", "checks"} <= set(links)
    assert set(links) & {"open", "edit"} == actions
    if "open" in links:
        assert links["open"]["method"] == "POST"


def test_opening_a_gate_sends_the_command_and_audits_who_and_why(world):
    response = world.client("operator_a").post("/api/v1/gates/a-1/open", json={"reason": "wheelchair user"})
    assert response.status_code == 202
    command_id = response.json()["command_id"]
    assert world.commander.sent == [("a-1", "operator_a@example.org", "wheelchair user", command_id)]
    with world.engine.connect() as c:
        row = c.execute(sa.select(audit_log).where(audit_log.c.action == "gate.open")).one()
    assert row.user_id == world.user_ids["operator_a"]
    assert row.details["reason"] == "wheelchair user"
    assert row.details["command_id"] == command_id
    assert world.client("viewer_a").post("/api/v1/gates/a-1/open", json={"reason": "x"}).status_code == 403
    assert len(world.commander.sent) == 1


def test_an_open_alert_links_to_acknowledge_until_it_is_acknowledged(world):
    operator = world.client("operator_a")
    href = f"/api/v1/alerts/{world.alerts['a']}"
    first = operator.get(href)
    assert first.json()["_links"]["acknowledge"]["href"] == f"{href}/acknowledge"
    assert "acknowledge" not in world.client("viewer_a").get(href).json()["_links"]
    stale = operator.post(f"{href}/acknowledge", headers={"If-Match": '"not-the-etag"'})
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    done = operator.post(f"{href}/acknowledge", headers={"If-Match": first.headers["etag"]})
    assert done.status_code == 200
    assert done.json()["acknowledged_by"] == world.user_ids["operator_a"]
    assert done.json()["acknowledged_by_email"] == "operator_a@example.org"
    listed = world.client("viewer_a").get("/api/v1/alerts?state=acknowledged").json()["_embedded"]["items"]
    assert [(a["alert_id"], a["acknowledged_by_email"]) for a in listed] == [
        (int(href.rsplit("/", 1)[1]), "operator_a@example.org")
    ]
    assert "acknowledge" not in done.json()["_links"]
    assert operator.post(f"{href}/acknowledge").status_code == 409
    open_only = operator.get("/api/v1/alerts?state=open").json()["_embedded"]["items"]
    assert world.alerts["a"] not in [a["alert_id"] for a in open_only]


def test_etags_answer_304_until_the_resource_changes(world):
    admin = world.client("admin_a")
    first = admin.get("/api/v1/gates/a-1")
    etag = first.headers["etag"]
    assert admin.get("/api/v1/gates/a-1", headers={"If-None-Match": etag}).status_code == 304
    # Links differ by caller; the ETag names the state, so it is the same for everyone.
    assert world.client("viewer_a").get("/api/v1/gates/a-1").headers["etag"] == etag
    renamed = admin.patch("/api/v1/gates/a-1", json={"name": "A south"}, headers={"If-Match": etag})
    assert renamed.status_code == 200
    assert renamed.headers["etag"] != etag
    assert admin.get("/api/v1/gates/a-1", headers={"If-None-Match": etag}).status_code == 200
    lost_update = admin.patch("/api/v1/gates/a-1", json={"name": "A west"}, headers={"If-Match": etag})
    assert lost_update.status_code == 412


def test_collections_paginate_by_links(world):
    base = datetime.now(UTC) - timedelta(hours=2)
    world.write(*[verdict("a-1", base + timedelta(seconds=i)) for i in range(23)])
    client = world.client("viewer_a")
    href = "/api/v1/checks?site=a&limit=10"
    seen: list[str] = []
    pages = 0
    while href:
        body = client.get(href).json()
        pages += 1
        assert body["total"] == 24
        assert body["_links"]["first"]["href"].endswith("offset=0&limit=10")
        seen += [c["check_id"] for c in body["_embedded"]["items"]]
        href = body["_links"].get("next", {}).get("href")
    assert pages == 3
    assert len(seen) == len(set(seen)) == 24
    last = client.get("/api/v1/checks?site=a&limit=10&offset=20").json()
    assert last["_links"]["prev"]["href"].endswith("offset=10&limit=10")
    decided = [
        c["decided_at"] for c in client.get("/api/v1/checks?site=a&limit=50").json()["_embedded"]["items"]
    ]
    assert decided == sorted(decided, reverse=True)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/gates/nope", 404),
        ("/api/v1/nowhere", 404),
        ("/api/v1/checks?limit=0", 422),
        ("/api/v1/checks?since=2026-01-01T00:00:00", 400),
        ("/api/v1/checks/not-a-uuid", 422),
        ("/api/v1/sites/a/stats?from=2026-02-02&to=2026-02-01", 400),
        ("/api/v1/sites/a/stats/hourly?from=2026-01-01&to=2026-03-01", 400),
        ("/api/v1/users", 403),
    ],
)
def test_errors_are_problem_details(world, url, status):
    response = world.client("viewer_a").get(url)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["instance"] == url.split("?")[0]


def test_todays_figures_follow_the_site_time_zone(world):
    berlin = ZoneInfo("Europe/Berlin")
    today = datetime.now(berlin).date()
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=berlin)
    world.write(
        verdict("a-1", midnight + timedelta(minutes=1), Decision.DENY, [Reason.FEVER]),
        verdict("a-1", midnight - timedelta(minutes=1)),  # yesterday in Berlin
    )
    body = world.client("viewer_a").get("/api/v1/sites/a/stats/today").json()
    assert body["time_zone"] == "Europe/Berlin"
    assert body["first_day"] == today.isoformat()
    figures = body["figures"]
    # The seeded check a minute ago is today too, unless the test runs in the first minute of the day.
    seeded_today = (datetime.now(UTC) - timedelta(minutes=1)).astimezone(berlin).date() == today
    assert figures["visitors"] == 1 + seeded_today
    assert figures["denied_by_reason"] == {"fever": 1, "no_mask": 1} if seeded_today else {"fever": 1}
    hourly = world.client("viewer_a").get(body["_links"]["hourly"]["href"]).json()
    assert len(hourly["hours"]) in (23, 24, 25)
    assert hourly["hours"][0]["figures"]["visitors"] >= 1
    everyone = world.client("root").get("/api/v1/stats/sites").json()["sites"]
    assert {s["site_id"] for s in everyone} == {"a", "b", "default"}
    mine = world.client("viewer_a").get("/api/v1/stats/sites").json()["sites"]
    assert [s["site_id"] for s in mine] == ["a"]


def test_metrics_are_served(world):
    world.client("viewer_a").get("/api/v1/sites")
    text = world.client().get("/metrics").text
    assert "maskwatch_api_requests_total" in text
    assert 'route="/api/v1/sites"' in text


def test_the_api_works_on_the_embedded_sqlite_database(tmp_path: Path, password_hash):
    world = build_world(fresh_sqlite(tmp_path), password_hash)
    client = world.client()
    assert (
        client.post(
            "/api/v1/auth/login", json={"email": "root@example.org", "password": PASSWORD}
        ).status_code
        == 200
    )
    assert client.get("/api/v1/sites/a/stats/today").json()["figures"]["visitors"] >= 0
    assert client.get("/api/v1/checks").json()["total"] == 3
    assert client.post("/api/v1/gates/b-1/open", json={"reason": "test"}).status_code == 202
    assert client.post(f"/api/v1/alerts/{world.alerts['b']}/acknowledge").status_code == 200
    assert client.get("/api/v1/audit").json()["total"] >= 3
    world.engine.dispose()
