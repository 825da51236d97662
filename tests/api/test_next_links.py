"""Level 3 all the way: collections offer `create` (method and schema) to those who may create, the
sign-in answer links onwards, figures link to their gates and to the days around them, and `/docs`
needs nothing from the internet."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.api.conftest import PASSWORD

COLLECTIONS = {
    # collection: (who may create, who may not)
    "/api/v1/gates": ("admin_a", "operator_a"),
    "/api/v1/cameras": ("admin_a", "viewer_a"),
    "/api/v1/sites": ("root", "admin_a"),
    "/api/v1/tokens": ("viewer_a", None),
    "/api/v1/sites/a/recipients": ("admin_a", None),
    "/api/v1/devices": ("admin_a", None),
}


def _resolve(spec: dict, pointer: str) -> dict:
    assert pointer.startswith("/openapi.json#/")
    node = spec
    for part in pointer.split("#/", 1)[1].split("/"):
        node = node[part]
    return node


@pytest.mark.parametrize("collection", list(COLLECTIONS))
def test_collections_offer_create_with_its_schema_only_to_who_may_create(shared_world, collection):
    may, may_not = COLLECTIONS[collection]
    spec = shared_world.client().get("/openapi.json").json()
    create = shared_world.client(may).get(collection).json()["_links"]["create"]
    assert create["method"] == "POST"
    assert create["href"] == collection
    assert _resolve(spec, create["schema"])["type"] == "object"
    assert "post" in spec["paths"][collection.replace("/sites/a/", "/sites/{site_id}/")]
    if may_not is not None:
        assert "create" not in shared_world.client(may_not).get(collection).json()["_links"]


def test_the_sign_in_answer_links_to_what_the_user_can_do_next(shared_world):
    client = shared_world.client()
    operator = client.post(
        "/api/v1/auth/login", json={"email": "operator_a@example.org", "password": PASSWORD}
    )
    assert operator.status_code == 200, operator.text
    links = operator.json()["_links"]
    assert {"start", "sites", "gates", "alerts", "events", "logout", "site_stats"} <= set(links)
    assert "users" not in links
    assert "devices" not in links
    root = client.post("/api/v1/auth/login", json={"email": "root@example.org", "password": PASSWORD})
    assert {"users", "audit", "devices"} <= set(root.json()["_links"])


def test_per_gate_figures_link_to_their_gate(shared_world):
    body = shared_world.client("viewer_a").get("/api/v1/sites/a/stats/gates").json()
    a1 = next(g for g in body["gates"] if g["gate_id"] == "a-1")
    assert a1["_links"]["gate"]["href"] == "/api/v1/gates/a-1"
    assert shared_world.client("viewer_a").get(a1["_links"]["gate"]["href"]).status_code == 200
    stray = shared_world.client("root").get("/api/v1/sites/default/stats/gates").json()["gates"]
    unregistered = next(g for g in stray if g["gate_id"] == "stray-9")
    assert "gate" not in unregistered["_links"]  # nobody registered it: no page to go to
    assert "checks" in unregistered["_links"]


def test_figures_for_a_day_link_to_the_day_before_and_after(shared_world):
    client = shared_world.client("viewer_a")
    day = client.get("/api/v1/sites/a/stats?from=2026-03-10").json()
    assert day["_links"]["previous_day"]["href"] == "/api/v1/sites/a/stats?from=2026-03-09&to=2026-03-09"
    assert day["_links"]["next_day"]["href"] == "/api/v1/sites/a/stats?from=2026-03-11&to=2026-03-11"
    after = client.get(day["_links"]["next_day"]["href"]).json()
    assert after["first_day"] == after["last_day"] == "2026-03-11"
    hourly = client.get("/api/v1/sites/a/stats/hourly?from=2026-03-10").json()["_links"]
    assert hourly["previous_day"]["href"].startswith("/api/v1/sites/a/stats/hourly?from=2026-03-09")

    today = client.get("/api/v1/sites/a/stats/today").json()
    first = date.fromisoformat(today["first_day"])
    assert today["_links"]["previous_day"]["href"].endswith(
        f"from={first - timedelta(days=1)}&to={first - timedelta(days=1)}"
    )
    assert "next_day" not in today["_links"]  # tomorrow has no figures yet


def test_docs_load_only_local_assets_that_are_served(shared_world):
    client = shared_world.client()
    page = client.get("/docs")
    assert page.status_code == 200
    references = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    references += re.findall(r"""url:\s*["']([^"']+)["']""", page.text)
    assert references
    assert not [r for r in references if "//" in r], "the page must not load anything from another host"
    for reference in references:
        answer = client.get(reference)
        assert answer.status_code == 200, reference
        assert answer.content
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
