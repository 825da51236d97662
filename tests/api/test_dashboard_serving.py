"""The API serves the built web console at `/`, falls back to its page for the console's own
addresses, and leaves every API path (found or not) to the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from maskwatch.database.engine import migrate
from services.api.app import create_app
from services.api.commander import RecordingGateCommander
from services.api.config import ApiSettings

INDEX = "<!doctype html><title>console</title><div id=root></div>"


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db')}/api.db"
    migrate(url)
    return url


@pytest.fixture
def built(tmp_path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text("console.log('hi')")
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return dist


def client(database: str, directory: Path | None, **api: object) -> TestClient:
    app = create_app(
        ApiSettings.model_validate(api),
        secret_key=SecretStr("test-secret-key-for-the-api"),
        database_url=database,
        commander=RecordingGateCommander(),
        dashboard_dir=directory,
    )
    return TestClient(app)


def test_the_root_and_the_consoles_own_addresses_answer_its_page(database, built):
    with client(database, built) as c:
        for path in ("/", "/alerts", "/alerts/42", "/gates/gate-a?tab=cameras", "/index.html"):
            r = c.get(path)
            assert r.status_code == 200, path
            assert r.text == INDEX, path
            assert r.headers["content-type"].startswith("text/html"), path
            assert r.headers["cache-control"] == "no-cache", path
            assert "script-src 'self'" in r.headers["content-security-policy"], path


def test_built_files_are_served_with_their_types_and_hashed_ones_cached_for_good(database, built):
    with client(database, built) as c:
        script = c.get("/assets/index-abc123.js")
        icon = c.get("/favicon.svg")
        head = c.head("/assets/index-abc123.js")
    assert script.status_code == 200
    assert script.text == "console.log('hi')"
    assert "javascript" in script.headers["content-type"]
    assert "immutable" in script.headers["cache-control"]
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.headers["cache-control"] == "no-cache"
    assert head.status_code == 200


def test_the_manifest_and_the_service_worker_are_typed_and_never_stale(database, built):
    (built / "manifest.webmanifest").write_text('{"name": "Maskwatch"}')
    (built / "sw.js").write_text("self.addEventListener('push', () => {})")
    with client(database, built) as c:
        manifest = c.get("/manifest.webmanifest")
        worker = c.get("/sw.js")
    assert manifest.status_code == 200
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json() == {"name": "Maskwatch"}
    assert worker.status_code == 200
    assert "javascript" in worker.headers["content-type"]
    assert worker.headers["cache-control"] == "no-cache, max-age=0"
    assert worker.text.startswith("self.addEventListener")


def test_a_missing_hashed_asset_is_a_404_not_the_page(database, built):
    with client(database, built) as c:
        r = c.get("/assets/index-gone.js")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api", "/docs/nothing", "/metrics/x", "/redoc/x"])
def test_unknown_api_paths_keep_the_apis_404(database, built, path):
    with client(database, built) as c:
        r = c.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


def test_api_routes_docs_and_methods_are_untouched(database, built):
    with client(database, built) as c:
        root = c.get("/api/v1/")
        spec = c.get("/openapi.json")
        docs = c.get("/docs")
        redoc = c.get("/redoc")
        metrics = c.get("/metrics")
        wrong_method = c.delete("/api/v1/")
        post_elsewhere = c.post("/alerts/42", headers={"Origin": "http://testserver"})
    assert root.status_code == 200
    assert root.json()["_links"]["login"]["href"] == "/api/v1/auth/login"
    assert spec.status_code == 200
    assert all(not p.startswith("/{") for p in spec.json()["paths"])  # the console is not in the spec
    assert docs.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in docs.text
    assert redoc.status_code == 200
    assert "/docs/assets/redoc.standalone.js" in redoc.text
    assert metrics.status_code == 200
    assert wrong_method.status_code == 405
    assert post_elsewhere.status_code == 404


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"])
def test_no_file_outside_the_build_is_served(database, built, path):
    with client(database, built) as c:
        r = c.get(path)
    assert "outside the build" not in r.text
    assert r.status_code in (200, 404)


def test_without_a_build_the_root_says_how_to_build_it(database, tmp_path):
    with client(database, tmp_path / "not-built") as c:
        root = c.get("/")
        deep = c.get("/alerts/7")
        api = c.get("/api/v1/")
    for r in (root, deep):
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/plain")
        assert "not built" in r.text
        assert "npm run build" in r.text
    assert api.status_code == 200


def test_the_directory_can_come_from_the_settings(database, built, tmp_path):
    app = create_app(
        ApiSettings(dashboard_dir=built),
        secret_key=SecretStr("test-secret-key-for-the-api"),
        database_url=database,
        commander=RecordingGateCommander(),
    )
    with TestClient(app) as c:
        assert c.get("/gates").text == INDEX
