"""Sign-in to a cookie, sign-out, rate limiting, API tokens, and `maskwatch user add`."""

from __future__ import annotations

import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from maskwatch.database.schema import audit_log, users
from services.api.config import ApiSettings
from stack.admin_cli import user_add_command
from tests.api.conftest import PASSWORD, build_world


def login(client, email="operator_a@example.org", password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_sign_in_sets_an_httponly_samesite_cookie_that_works_until_sign_out(world):
    client = world.client()
    response = login(client)
    assert response.status_code == 200
    assert response.json()["email"] == "operator_a@example.org"
    cookie = response.headers["set-cookie"]
    assert "maskwatch_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["_links"]["self"]["href"] == "/api/v1/auth/me"
    token = client.cookies["maskwatch_session"]
    assert client.post("/api/v1/auth/logout").status_code == 204
    # The session ends on the server: replaying the old cookie no longer works.
    replay = world.client()
    replay.cookies.set("maskwatch_session", token)
    assert replay.get("/api/v1/auth/me").status_code == 401
    with world.engine.connect() as c:
        actions = list(c.execute(sa.select(audit_log.c.action).order_by(audit_log.c.audit_id)).scalars())
    assert actions[-2:] == ["auth.login", "auth.logout"]


def test_wrong_passwords_are_problems_and_slow_the_account_down_without_locking_it(
    new_postgres, password_hash
):
    world = build_world(new_postgres(), password_hash, ApiSettings(login_attempts=3, login_window_s=60))
    client = world.client()
    for _ in range(3):
        response = login(client, password="wrong password")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
    limited = login(client, password="wrong password")  # the account is over its limit now
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.json()["type"].endswith("/too-many-sign-ins")
    # The right password still signs in (tests/api/test_web_security.py has the whole policy).
    assert login(client).status_code == 200
    assert login(client, email="viewer_a@example.org").status_code == 200
    assert login(client, email="nobody@example.org").status_code == 401
    world.engine.dispose()


def test_secure_cookies_when_configured(new_postgres, password_hash):
    world = build_world(new_postgres(), password_hash, ApiSettings(cookie_secure=True))
    assert "Secure" in login(world.client()).headers["set-cookie"]
    world.engine.dispose()


def test_disabled_users_cannot_sign_in_or_use_their_tokens(world):
    root = world.client("root")
    response = root.patch(f"/api/v1/users/{world.user_ids['viewer_a']}", json={"disabled": True})
    assert response.status_code == 200
    assert login(world.client(), email="viewer_a@example.org").status_code == 401
    assert world.client("viewer_a").get("/api/v1/auth/me").status_code == 401


def test_api_tokens_are_shown_once_work_as_bearer_and_can_be_revoked(world):
    viewer = world.client("viewer_a")
    created = viewer.post("/api/v1/tokens", json={"name": "grafana"})
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("mw_")
    listed = viewer.get("/api/v1/tokens").json()["_embedded"]["items"]
    assert [t["name"] for t in listed] == ["t", "grafana"]  # the seeded token, then the new one
    assert all(t["token"] is None for t in listed)
    integration = world.client()
    integration.headers["Authorization"] = f"Bearer {token}"
    assert integration.get("/api/v1/sites/a/stats/today").status_code == 200
    assert integration.get("/api/v1/sites/b/stats/today").status_code == 404
    href = created.json()["_links"]["revoke"]["href"]
    assert viewer.delete(href).status_code == 204
    assert integration.get("/api/v1/sites/a/stats/today").status_code == 401
    # Someone else's token is not yours to revoke.
    other = world.client("operator_a").post("/api/v1/tokens", json={"name": "x"}).json()
    assert viewer.delete(other["_links"]["self"]["href"]).status_code == 404


def test_admins_create_users_who_can_sign_in(world):
    root = world.client("root")
    body = {"email": "New@Example.org", "password": "a long password", "role": "viewer", "sites": ["b"]}
    created = root.post("/api/v1/users", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "new@example.org"
    assert root.post("/api/v1/users", json=body).status_code == 409
    unknown = root.post("/api/v1/users", json=body | {"email": "x@example.org", "sites": ["nowhere"]})
    assert unknown.status_code == 422
    new = world.client()
    assert login(new, email="new@example.org", password="a long password").status_code == 200
    assert new.get("/api/v1/sites/b").status_code == 200
    assert new.get("/api/v1/sites/a").status_code == 404
    assert root.delete(created.headers["location"]).status_code == 204
    assert root.delete(f"/api/v1/users/{world.user_ids['root']}").status_code == 409


def test_user_add_creates_the_first_admin(new_postgres, monkeypatch):
    url = new_postgres()
    monkeypatch.setenv("MASKWATCH_DATABASE__URL", url)
    app = typer.Typer()
    app.command()(user_add_command)
    runner = CliRunner()
    password = "first admin password"
    result = runner.invoke(app, ["admin@example.org"], input=f"{password}\n{password}\n")
    assert result.exit_code == 0, result.output
    assert "admin" in result.output
    again = runner.invoke(app, ["admin@example.org"], input=f"{password}\n{password}\n")
    assert again.exit_code == 1
    short = runner.invoke(app, ["b@example.org", "--role", "viewer"], input="short\nshort\n")
    assert short.exit_code == 2
    from maskwatch.database.engine import create_engine

    engine = create_engine(url)
    with engine.connect() as c:
        row = c.execute(sa.select(users)).one()
        assert (row.email, row.role, row.all_sites) == ("admin@example.org", "admin", True)
        assert row.password_hash.startswith("$argon2id$")
        assert c.execute(sa.select(audit_log.c.action)).scalars().all() == ["user.create"]
    engine.dispose()
