"""The audit log filtered as the console's audit page asks: by action, person, site and time, on
PostgreSQL, with each filter narrowing the total the pages count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from maskwatch.database.schema import audit_log


def entry(world, *, at: datetime, action: str, site: str | None, user: str | None = "root") -> None:
    with world.engine.begin() as conn:
        conn.execute(
            sa.insert(audit_log).values(
                at=at,
                user_id=world.user_ids[user] if user else None,
                action=action,
                target="x:1",
                site_id=site,
                details={},
            )
        )


def actions(response) -> list[str]:
    """This test's entries, newest first (the world's own setup may have written others)."""
    assert response.status_code == 200, response.text
    return [e["action"] for e in response.json()["_embedded"]["items"] if e["action"].startswith("test.")]


def test_the_audit_log_by_site_and_time(world):
    noon = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    entry(world, at=noon - timedelta(days=1), action="test.yesterday_a", site="a")
    entry(world, at=noon, action="test.noon_a", site="a", user="admin_a")
    entry(world, at=noon + timedelta(minutes=1), action="test.noon_b", site="b")
    entry(world, at=noon + timedelta(minutes=2), action="test.noon_nowhere", site=None, user=None)
    root = world.client("root")

    assert actions(root.get("/api/v1/audit", params={"site": "a"})) == ["test.noon_a", "test.yesterday_a"]
    day = {"since": "2026-03-01T00:00:00Z", "until": "2026-03-02T00:00:00Z"}
    newest_first = ["test.noon_nowhere", "test.noon_b", "test.noon_a"]
    assert actions(root.get("/api/v1/audit", params=day)) == newest_first
    # A bound with another offset is the same moment: 21:00 in Seoul is noon in UTC.
    seoul = {"since": "2026-03-01T21:00:00+09:00", "until": "2026-03-01T12:01:00"}
    assert actions(root.get("/api/v1/audit", params=seoul)) == ["test.noon_a"]
    both = root.get("/api/v1/audit", params=day | {"site": "a", "user_id": world.user_ids["admin_a"]})
    assert actions(both) == ["test.noon_a"]
    assert both.json()["total"] == 1
    assert root.get("/api/v1/audit", params={"site": "not a slug!"}).status_code == 422
    assert world.client("admin_a").get("/api/v1/audit", params={"site": "a"}).status_code == 403
