"""Every route × every role × the caller's own site and another: a viewer never opens a gate, and a
user of site A can neither read nor change site B (its resources answer 404, as if they did not exist).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

import pytest
import sqlalchemy as sa

from maskwatch.database.schema import gates
from services.api.security import Role
from tests.api.conftest import PEOPLE, World

CALLERS = [None, "root", "admin_a", "operator_a", "viewer_a", "operator_b"]
Request = tuple[str, str, dict[str, object] | None]


def _new_user(w: World, site: str) -> Request:
    email = f"{uuid4().hex[:8]}@example.org"
    return "POST", "/api/v1/users", {"email": email, "password": "x" * 12, "role": "viewer", "sites": [site]}


def _new_gate(w: World, site: str) -> str:
    """A gate of its own for a route that revokes or deletes it."""
    gate_id = f"{site}-{uuid4().hex[:8]}"
    with w.engine.begin() as conn:
        conn.execute(
            sa.insert(gates).values(gate_id=gate_id, site_id=site, name="n", created_at=datetime.now(UTC))
        )
    return gate_id


# name: (kind, success status, request builder(world, site))
SITE_ROUTES: dict[str, tuple[str, int, Callable[[World, str], Request]]] = {
    "site": ("read", 200, lambda w, s: ("GET", f"/api/v1/sites/{s}", None)),
    "stats today": ("read", 200, lambda w, s: ("GET", f"/api/v1/sites/{s}/stats/today", None)),
    "stats range": (
        "read",
        200,
        lambda w, s: ("GET", f"/api/v1/sites/{s}/stats?from=2026-01-01&to=2026-12-31", None),
    ),
    "stats hourly": ("read", 200, lambda w, s: ("GET", f"/api/v1/sites/{s}/stats/hourly", None)),
    "stats gates": ("read", 200, lambda w, s: ("GET", f"/api/v1/sites/{s}/stats/gates", None)),
    "gates of site": ("read", 200, lambda w, s: ("GET", f"/api/v1/gates?site={s}", None)),
    "gate": ("read", 200, lambda w, s: ("GET", f"/api/v1/gates/{s}-1", None)),
    "checks of site": ("read", 200, lambda w, s: ("GET", f"/api/v1/checks?site={s}", None)),
    "check": ("read", 200, lambda w, s: ("GET", f"/api/v1/checks/{w.checks[s]}", None)),
    "alerts of site": ("read", 200, lambda w, s: ("GET", f"/api/v1/alerts?site={s}", None)),
    "alert": ("read", 200, lambda w, s: ("GET", f"/api/v1/alerts/{w.alerts[s]}", None)),
    "open gate": ("operate", 202, lambda w, s: ("POST", f"/api/v1/gates/{s}-1/open", {"reason": "stuck"})),
    "acknowledge alert": (
        "operate",
        200,
        lambda w, s: ("POST", f"/api/v1/alerts/{w.new_alert(s)}/acknowledge", None),
    ),
    "register gate": (
        "administer",
        201,
        lambda w, s: (
            "POST",
            "/api/v1/gates",
            {"gate_id": f"{s}-{uuid4().hex[:6]}", "site_id": s, "name": "n"},
        ),
    ),
    "rename gate": ("administer", 200, lambda w, s: ("PATCH", f"/api/v1/gates/{s}-1", {"name": f"{s} gate"})),
    "rename site": ("global", 200, lambda w, s: ("PATCH", f"/api/v1/sites/{s}", {"name": f"Site {s}"})),
    "create user for site": ("global", 201, _new_user),
    "devices of site": ("administer", 200, lambda w, s: ("GET", f"/api/v1/devices?site={s}", None)),
    "device": ("administer", 200, lambda w, s: ("GET", f"/api/v1/devices/{s}-1", None)),
    "register device": (
        "administer",
        201,
        lambda w, s: (
            "POST",
            "/api/v1/devices",
            {"kind": "camera", "device_id": f"{s}-{uuid4().hex[:8]}", "site_id": s},
        ),
    ),
    "rotate device": (
        "administer",
        200,
        lambda w, s: ("POST", f"/api/v1/devices/{_new_gate(w, s)}/rotate", None),
    ),
    "revoke device": (
        "administer",
        200,
        lambda w, s: ("POST", f"/api/v1/devices/{_new_gate(w, s)}/revoke", None),
    ),
    "delete device": ("administer", 204, lambda w, s: ("DELETE", f"/api/v1/devices/{_new_gate(w, s)}", None)),
}

OTHER_ROUTES: dict[str, tuple[str, int, Callable[[World], Request]]] = {
    "root": ("public", 200, lambda w: ("GET", "/api/v1/", None)),
    "me": ("any", 200, lambda w: ("GET", "/api/v1/auth/me", None)),
    "tokens": ("any", 200, lambda w: ("GET", "/api/v1/tokens", None)),
    "new token": ("any", 201, lambda w: ("POST", "/api/v1/tokens", {"name": "ci"})),
    "sites": ("any", 200, lambda w: ("GET", "/api/v1/sites", None)),
    "site stats": ("any", 200, lambda w: ("GET", "/api/v1/stats/sites", None)),
    "gates": ("any", 200, lambda w: ("GET", "/api/v1/gates", None)),
    "checks": ("any", 200, lambda w: ("GET", "/api/v1/checks", None)),
    "alerts": ("any", 200, lambda w: ("GET", "/api/v1/alerts", None)),
    "users": ("global", 200, lambda w: ("GET", "/api/v1/users", None)),
    "user": ("global", 200, lambda w: ("GET", f"/api/v1/users/{w.user_ids['viewer_a']}", None)),
    "change user": (
        "global",
        200,
        lambda w: ("PATCH", f"/api/v1/users/{w.user_ids['operator_b']}", {"role": "operator"}),
    ),
    "audit": ("global", 200, lambda w: ("GET", "/api/v1/audit", None)),
    "devices": ("admin", 200, lambda w: ("GET", "/api/v1/devices", None)),
    "new site": (
        "global",
        201,
        lambda w: ("POST", "/api/v1/sites", {"site_id": uuid4().hex[:8], "name": "x", "time_zone": "UTC"}),
    ),
}


def expected(who: str | None, kind: str, ok: int, site: str | None = None) -> int:
    if kind == "public":
        return ok
    if who is None:
        return 401
    role, all_sites, sites = PEOPLE[who]
    if kind == "any":
        return ok
    if kind == "admin":
        return ok if role == Role.ADMIN else 403
    if kind == "global":
        return ok if role == Role.ADMIN and all_sites else 403
    if not (all_sites or site in sites):
        return 404
    if kind == "operate" and role == Role.VIEWER:
        return 403
    if kind == "administer" and role != Role.ADMIN:
        return 403
    return ok


def call(world: World, who: str | None, request: Request):
    method, url, body = request
    return world.client(who).request(method, url, json=body)


@pytest.mark.parametrize("site", ["a", "b"])
@pytest.mark.parametrize("route", list(SITE_ROUTES))
@pytest.mark.parametrize("who", CALLERS)
def test_site_routes(shared_world, who, route, site):
    kind, ok, build = SITE_ROUTES[route]
    response = call(shared_world, who, build(shared_world, site))
    assert response.status_code == expected(who, kind, ok, site), response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == response.status_code


@pytest.mark.parametrize("route", list(OTHER_ROUTES))
@pytest.mark.parametrize("who", CALLERS)
def test_other_routes(shared_world, who, route):
    kind, ok, build = OTHER_ROUTES[route]
    response = call(shared_world, who, build(shared_world))
    assert response.status_code == expected(who, kind, ok), response.text


@pytest.mark.parametrize("who", CALLERS[1:])
@pytest.mark.parametrize("collection", ["sites", "gates", "checks", "alerts"])
def test_collections_hold_only_the_callers_sites(shared_world, who, collection):
    _, all_sites, sites = PEOPLE[who]
    body = shared_world.client(who).get(f"/api/v1/{collection}?limit=500").json()
    seen = {item["site_id"] for item in body["_embedded"]["items"]}
    assert seen
    if not all_sites:
        assert seen <= set(sites)


def test_the_live_stream_refuses_anonymous_callers(shared_world):
    response = shared_world.client().get("/api/v1/events")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
