"""Sign-in through OpenID Connect against a fake provider served on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from maskwatch.database.schema import audit_log, users
from services.api.config import ApiSettings, OidcSettings
from tests.api.conftest import build_world
from tests.api.databases import fresh_sqlite
from tests.ports import free_port

CLIENT_ID = "maskwatch"
CLIENT_SECRET = "provider-issued-secret"
REDIRECT_URI = "http://testserver/api/v1/auth/oidc/callback"


@dataclass
class FakeProvider:
    """Discovery, JWKS, authorize and token endpoints; tests change `claims`/`signing_key` per test."""

    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"}))
    signing_key: RSAKey | None = None
    email: str = "operator_a@example.org"
    claims: dict[str, Any] = field(default_factory=dict)
    token_status: int = 200
    jwks_fetches: int = 0
    codes: dict[str, dict[str, str]] = field(default_factory=dict)

    def reset(self) -> None:
        self.key = RSAKey.generate_key(2048, {"kid": "k1"})
        self.signing_key = None
        self.email = "operator_a@example.org"
        self.claims = {}
        self.token_status = 200
        self.jwks_fetches = 0

    def app(self) -> Starlette:
        async def discovery(request: Request) -> JSONResponse:
            return JSONResponse(
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token",
                    "jwks_uri": f"{self.issuer}/jwks",
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
            )

        async def jwks(request: Request) -> JSONResponse:
            self.jwks_fetches += 1
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        async def authorize(request: Request) -> RedirectResponse:
            q = request.query_params
            assert q["response_type"] == "code"
            assert q["client_id"] == CLIENT_ID
            assert q["code_challenge_method"] == "S256"
            assert set(q["scope"].split()) >= {"openid", "email"}
            code = f"code-{len(self.codes)}"
            self.codes[code] = {"nonce": q["nonce"], "challenge": q["code_challenge"]}
            return RedirectResponse(f"{q['redirect_uri']}?code={code}&state={q['state']}", status_code=302)

        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != expected:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            grant = self.codes.pop(str(form["code"]), None)
            verifier = str(form["code_verifier"])
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
            if grant is None or challenge.decode() != grant["challenge"] or self.token_status != 200:
                return JSONResponse({"error": "invalid_grant"}, status_code=self.token_status or 400)
            now = int(time.time())
            claims = {
                "iss": self.issuer,
                "sub": "user-123",
                "aud": CLIENT_ID,
                "iat": now,
                "exp": now + 300,
                "nonce": grant["nonce"],
                "email": self.email,
                "email_verified": True,
            } | self.claims
            claims = {k: v for k, v in claims.items() if v is not None}
            key = self.signing_key or self.key
            id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
            return JSONResponse({"access_token": "at", "token_type": "Bearer", "id_token": id_token})

        return Starlette(
            routes=[
                Route("/realms/test/.well-known/openid-configuration", discovery),
                Route("/realms/test/jwks", jwks),
                Route("/realms/test/authorize", authorize),
                Route("/realms/test/token", token, methods=["POST"]),
            ]
        )


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeProvider]:
    port = free_port()
    fake = FakeProvider(issuer=f"http://127.0.0.1:{port}/realms/test")
    server = uvicorn.Server(uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the fake provider did not start"
        time.sleep(0.02)
    yield fake
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def oidc_world(provider, tmp_path, password_hash):
    provider.reset()
    oidc = OidcSettings(
        issuer=provider.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uri=REDIRECT_URI
    )
    world = build_world(fresh_sqlite(tmp_path), password_hash, ApiSettings(oidc=oidc))
    yield world
    world.engine.dispose()


def sign_in(world, *, tamper_state: bool = False):
    """Follow the browser's way: login → provider → callback. Returns the client and the callback answer."""
    client = world.client()
    start = client.get("/api/v1/auth/oidc/login", follow_redirects=False)
    assert start.status_code == 302, start.text
    assert "HttpOnly" in start.headers["set-cookie"]
    authorize = start.headers["location"]
    assert authorize.startswith(world_issuer(world) + "/authorize?")
    back = httpx.get(authorize, follow_redirects=False)
    assert back.status_code == 302
    callback = urlsplit(back.headers["location"])
    query = callback.query
    if tamper_state:
        query = query.replace("state=", "state=x")
    return client, client.get(f"{callback.path}?{query}", follow_redirects=False)


def world_issuer(world) -> str:
    issuer: str = world.app.state.maskwatch.api.oidc.issuer
    return issuer


def actions(world) -> list[tuple[str, str, dict[str, Any]]]:
    with world.engine.connect() as c:
        rows = c.execute(sa.select(audit_log).order_by(audit_log.c.audit_id)).all()
    return [(r.action, r.target, r.details) for r in rows]


def assert_refused(world, client, response, status: int, reason: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "maskwatch_session" not in client.cookies
    assert client.get("/api/v1/auth/me").status_code == 401
    action, _, details = actions(world)[-1]
    assert action == "auth.oidc_failed"
    assert reason in details["reason"]


def test_sign_in_through_the_provider_starts_a_session_and_is_audited(oidc_world, provider):
    root = oidc_world.client().get("/api/v1/").json()
    assert root["_links"]["oidc_login"]["href"] == "/api/v1/auth/oidc/login"
    client, response = sign_in(oidc_world)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"  # the web console
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("maskwatch_session="))
    assert "HttpOnly" in session
    assert "SameSite=lax" in session
    assert "Path=/" in session
    assert any(c.startswith("maskwatch_oidc=") and "Max-Age=0" in c for c in cookies)
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["email"] == "operator_a@example.org"
    assert client.get("/api/v1/sites/a/stats/today").status_code == 200
    action, target, details = actions(oidc_world)[-1]
    assert (action, target) == ("auth.oidc_signin", "operator_a@example.org")
    assert details["subject"] == "user-123"
    assert details["issuer"] == provider.issuer
    # The provider rotates its key: the unknown kid makes the server fetch the JWKS again, once.
    provider.key = RSAKey.generate_key(2048, {"kid": "k2"})
    fetches = provider.jwks_fetches
    _, again = sign_in(oidc_world)
    assert again.status_code == 303, again.text
    assert provider.jwks_fetches == fetches + 1


def test_a_wrong_state_is_refused(oidc_world):
    client, response = sign_in(oidc_world, tamper_state=True)
    assert_refused(oidc_world, client, response, 400, "state")


def test_a_callback_without_a_sign_in_in_progress_is_refused(oidc_world):
    client = oidc_world.client()
    response = client.get("/api/v1/auth/oidc/callback?code=x&state=y")
    assert_refused(oidc_world, client, response, 400, "no sign-in in progress")


def test_a_wrong_nonce_is_refused(oidc_world, provider):
    provider.claims = {"nonce": "replayed"}
    client, response = sign_in(oidc_world)
    assert_refused(oidc_world, client, response, 401, "nonce")


def test_an_expired_token_is_refused(oidc_world, provider):
    now = int(time.time())
    provider.claims = {"iat": now - 7200, "exp": now - 3600}
    client, response = sign_in(oidc_world)
    assert_refused(oidc_world, client, response, 401, "exp")


def test_a_token_signed_by_another_key_is_refused(oidc_world, provider):
    provider.signing_key = RSAKey.generate_key(2048, {"kid": "k1"})
    client, response = sign_in(oidc_world)
    assert_refused(oidc_world, client, response, 401, "signature")


def test_a_token_for_another_client_is_refused(oidc_world, provider):
    provider.claims = {"aud": "another-client"}
    client, response = sign_in(oidc_world)
    assert_refused(oidc_world, client, response, 401, "aud")


def test_a_token_from_another_issuer_is_refused(oidc_world, provider):
    provider.claims = {"iss": "https://evil.example.org"}
    client, response = sign_in(oidc_world)
    assert_refused(oidc_world, client, response, 401, "iss")


def test_an_unknown_email_is_refused_and_no_account_is_created(oidc_world, provider):
    provider.email = "stranger@example.org"
    client, response = sign_in(oidc_world)
    assert_refused(oidc_world, client, response, 403, "no Maskwatch account")
    with oidc_world.engine.connect() as c:
        assert c.execute(sa.select(users).where(users.c.email == "stranger@example.org")).first() is None


def test_an_unverified_email_is_refused(oidc_world, provider):
    provider.claims = {"email_verified": False}
    client, response = sign_in(oidc_world)
    assert_refused(oidc_world, client, response, 403, "not verified")


def test_a_disabled_user_is_refused(oidc_world):
    root = oidc_world.client("root")
    patched = root.patch(f"/api/v1/users/{oidc_world.user_ids['operator_a']}", json={"disabled": True})
    assert patched.status_code == 200
    client, response = sign_in(oidc_world)
    assert_refused(oidc_world, client, response, 403, "disabled")


def test_provider_errors_are_bad_gateway(oidc_world, provider):
    provider.token_status = 500
    client, response = sign_in(oidc_world)
    assert_refused(oidc_world, client, response, 502, "token endpoint answered 500")


def test_unknown_emails_may_get_a_viewer_account_when_configured(provider, tmp_path, password_hash):
    provider.reset()
    oidc = OidcSettings(
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        create_unknown_users=True,
    )
    world = build_world(fresh_sqlite(tmp_path), password_hash, ApiSettings(oidc=oidc))
    provider.email = "Newcomer@Example.org"
    client, response = sign_in(world)
    assert response.status_code == 303, response.text
    me = client.get("/api/v1/auth/me").json()
    assert (me["email"], me["role"]) == ("newcomer@example.org", "viewer")
    assert client.get("/api/v1/sites/a").status_code == 404
    world.engine.dispose()


def test_without_configuration_oidc_routes_are_not_found(tmp_path, password_hash):
    world = build_world(fresh_sqlite(tmp_path), password_hash)
    client = world.client()
    for path in ("/api/v1/auth/oidc/login", "/api/v1/auth/oidc/callback?code=x&state=y"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert "oidc_login" not in client.get("/api/v1/").json()["_links"]
    world.engine.dispose()
