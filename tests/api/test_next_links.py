"""Level 3 all the way: collections offer `create` (method and schema) to those who may create, the
sign-in answer links onwards, figures link to their gates and to the days around them, and `/docs`
needs nothing from the internet."""

from __future__ import annotations

import base64
import hashlib
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


@pytest.mark.parametrize("page_path", ["/docs", "/redoc"])
def test_docs_load_only_local_assets_that_are_served(shared_world, page_path):
    client = shared_world.client()
    page = client.get(page_path)
    assert page.status_code == 200
    references = re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']""", page.text)
    references += re.findall(r"""url:\s*["']([^"']+)["']""", page.text)
    assert "/openapi.json" in references
    assert not [r for r in references if "//" in r], "the page must not load anything from another host"
    for reference in references:
        answer = client.get(reference)
        assert answer.status_code == 200, reference
        assert answer.content


def test_docs_serve_a_swagger_ui_that_renders_openapi_3_1(shared_world):
    client = shared_world.client()
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    page = client.get("/docs").text
    assert "/docs/assets/swagger-ui-bundle.js" in page
    assert "/docs/assets/swagger-ui.css" in page
    bundle = client.get("/docs/assets/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in bundle
    # Swagger UI renders OpenAPI 3.1 from release 5 on; 4.x answers "Unable to render this definition".
    assert "isOAS31" in bundle
    assert "/docs/assets/redoc.standalone.js" in client.get("/redoc").text
    assert "Redoc" in client.get("/docs/assets/redoc.standalone.js").text


def test_docs_pages_keep_the_browser_on_this_server(shared_world):
    """ReDoc's sidebar would fetch its maker's logo and Swagger UI would call an online validator: the
    pages' policy allows this server only, and the one inline script (Swagger UI's start) by its hash."""
    client = shared_world.client()
    docs, redoc = client.get("/docs"), client.get("/redoc")
    assert '"validatorUrl": null' in docs.text
    for page in (docs, redoc):
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "img-src 'self' data:;" in policy
        assert "connect-src 'self';" in policy
        assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
        inline = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
        for script in inline:
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in policy
        assert policy.count("'sha256-") == len(inline)
    assert len(re.findall(r"<script>", docs.text)) == 1
