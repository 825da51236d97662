"""Web security of the admin API: Secure cookies in production, the origin check on cookie changes,
forwarded headers from trusted proxies only, the sign-in limits (in memory and in Redis, one suite for
both) and the request body cap."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from redis import Redis

from maskwatch.database.schema import audit_log
from services.api.app import create_app
from services.api.commander import RecordingGateCommander
from services.api.config import ApiSettings, OidcSettings
from services.api.proxies import TrustedProxies
from services.api.ratelimit import MemoryWindows, RedisWindows, SignInLimiter, Windows, address_key
from services.api.routes.oidc import FLOW_COOKIE, OidcClient
from stack.service_table import build_api_app
from stack.settings import load_settings
from tests.api.conftest import PASSWORD, SECRET, World, build_world

OWN = "http://testserver"
LOGIN = "/api/v1/auth/login"
OPEN_GATE = "/api/v1/gates/a-1/open"
PRODUCTION = {
    "environment": "production",
    "secret_key": "s3cr3t-long-random",
    "mqtt": {"embedded": False, "password": "a-real-password"},
}


def login(client: TestClient, email: str = "root@example.org", password: str = PASSWORD, **kw: Any):
    return client.post(LOGIN, json={"email": email, "password": password}, **kw)


def is_problem(response: httpx.Response, status: int, kind: str) -> bool:
    return (
        response.status_code == status
        and response.headers["content-type"] == "application/problem+json"
        and response.json()["type"].endswith("/" + kind)
    )


def signed_in(world: World) -> TestClient:
    """A browser on the API's own page, signed in as the admin of every site."""
    client = world.client()
    assert login(client).status_code == 200
    return client


@pytest.fixture
def make_world(new_postgres, password_hash) -> Iterator[Any]:
    """Worlds with settings of the test's choosing, each on a PostgreSQL database of its own."""
    made: list[World] = []

    def make(api: ApiSettings | None = None, **options: Any) -> World:
        made.append(build_world(new_postgres(), password_hash, api, **options))
        return made[-1]

    yield make
    for world in made:
        world.app.state.maskwatch.login_limiter.close()  # type: ignore[attr-defined]
        world.engine.dispose()


# Secure cookies ---------------------------------------------------------------------------------------


def test_production_makes_the_cookies_secure():
    assert load_settings(**PRODUCTION).api.cookie_secure is True
    assert load_settings(**PRODUCTION, api={"cookie_secure": True}).api.cookie_secure is True
    assert load_settings().api.cookie_secure is False  # local: as configured


def test_production_refuses_to_start_with_insecure_cookies(monkeypatch):
    monkeypatch.setenv("MASKWATCH_API__COOKIE_SECURE", "false")
    assert load_settings().api.cookie_secure is False
    with pytest.raises(ValueError, match="COOKIE_SECURE"):
        load_settings(**PRODUCTION)


def test_production_sends_the_session_and_oidc_cookies_secure_only(make_world):
    oidc = OidcSettings(
        issuer="https://sso.example.org/realms/x",
        client_id="maskwatch",
        redirect_uri=f"{OWN}/api/v1/auth/oidc/callback",
    )
    api = load_settings(**PRODUCTION, api={"oidc": oidc.model_dump()}).api
    world = make_world(api)
    assert "Secure" in login(world.client()).headers["set-cookie"]

    def provider(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "issuer": oidc.issuer,
                "authorization_endpoint": f"{oidc.issuer}/authorize",
                "token_endpoint": f"{oidc.issuer}/token",
                "jwks_uri": f"{oidc.issuer}/jwks",
            },
        )

    world.app.state.oidc_client = OidcClient(
        world.app.state.maskwatch.api.oidc, httpx.MockTransport(provider)
    )
    start = world.client().get("/api/v1/auth/oidc/login", follow_redirects=False)
    assert start.status_code == 302
    assert start.headers["set-cookie"].startswith(f"{FLOW_COOKIE}=")
    assert "Secure" in start.headers["set-cookie"]


# The origin check ---------------------------------------------------------------------------------------


def test_changes_with_the_session_cookie_must_come_from_our_own_origin(world):
    client = signed_in(world)
    assert client.post(OPEN_GATE, json={"reason": "own page"}).status_code == 202
    refused = {
        "no Origin": {"Origin": ""},
        "foreign": {"Origin": "https://evil.example"},
        "null": {"Origin": "null"},
        "another port": {"Origin": "http://testserver:8080"},
        "another scheme": {"Origin": "https://testserver"},
        "foreign Referer": {"Origin": "", "Referer": "https://evil.example/page"},
    }
    for why, headers in refused.items():
        sent = {k: v for k, v in headers.items() if v}
        client.headers.pop("Origin", None)
        response = client.post(OPEN_GATE, json={"reason": why}, headers=sent)
        assert is_problem(response, 403, "cross-origin"), (why, response.text)
        for method in ("put", "patch", "delete"):
            assert getattr(client, method)("/api/v1/gates/a-1", headers=sent).status_code == 403, why
    assert [reason for _, _, reason, _ in world.commander.sent] == ["own page"]
    assert "evil.example" in client.post(OPEN_GATE, headers={"Origin": "https://evil.example"}).text

    # Same origin in other spellings, or only a Referer of our own page, is fine.
    for headers in (
        {"Origin": "HTTP://TESTSERVER:80"},
        {"Referer": "http://testserver/dashboard/gates?site=a"},
    ):
        assert client.post(OPEN_GATE, json={"reason": "ok"}, headers=headers).status_code == 202
    # Reading is never refused; the session survives a refused sign-out.
    assert client.get("/api/v1/auth/me", headers={"Origin": "https://evil.example"}).status_code == 200
    assert client.post("/api/v1/auth/logout", headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.get("/api/v1/auth/me").status_code == 200
    assert client.post("/api/v1/auth/logout", headers={"Origin": OWN}).status_code == 204


def test_bearer_requests_do_not_need_an_origin(world):
    root = world.client("root")
    assert root.post(OPEN_GATE, json={"reason": "script"}).status_code == 202
    evil = {"Origin": "https://evil.example"}
    assert root.post(OPEN_GATE, json={"reason": "any origin"}, headers=evil).status_code == 202
    # With a session cookie as well, the bearer token is what authenticates.
    root.cookies.set("maskwatch_session", "whatever")
    assert root.post(OPEN_GATE, json={"reason": "both"}, headers=evil).status_code == 202
    # Another scheme than Bearer does not count: the cookie would authenticate, so Origin is checked.
    basic = signed_in(world)
    basic.headers["Authorization"] = "Basic cm9vdDpyb290"
    assert basic.post(OPEN_GATE, json={"reason": "x"}, headers=evil).status_code == 403


def test_sign_in_refuses_a_foreign_origin_but_not_a_missing_one(world):
    client = world.client()
    refused = login(client, headers={"Origin": "https://evil.example"})
    assert is_problem(refused, 403, "cross-origin")
    assert "set-cookie" not in refused.headers
    assert is_problem(login(client, headers={"Origin": "null"}), 403, "cross-origin")
    assert login(client).status_code == 200  # our own page
    script = TestClient(world.app)  # curl: no Origin, no cookie yet
    assert login(script).status_code == 200
    with world.engine.connect() as c:
        actions = c.execute(sa.select(audit_log.c.action)).scalars().all()
    assert actions.count("auth.login") == 2
    assert "auth.login_failed" not in actions


def test_allowed_origins_and_the_oidc_redirect_uri_origin_may_send_changes(make_world):
    oidc = OidcSettings(
        issuer="https://sso.example.org/realms/x",
        client_id="maskwatch",
        redirect_uri="https://maskwatch.example.org/api/v1/auth/oidc/callback",
    )
    world = make_world(ApiSettings(allowed_origins=["https://Dash.Example.org"], oidc=oidc))
    client = signed_in(world)
    for origin in (
        "https://dash.example.org",
        "https://dash.example.org:443",
        "https://maskwatch.example.org",
    ):
        assert client.post(OPEN_GATE, json={"reason": origin}, headers={"Origin": origin}).status_code == 202
    for origin in ("http://dash.example.org", "https://example.org", "https://maskwatch.example.org:8443"):
        assert client.post(OPEN_GATE, json={"reason": origin}, headers={"Origin": origin}).status_code == 403


@pytest.mark.parametrize("origin", ["https://x.example/path", "ftp://x.example", "null", "x.example"])
def test_allowed_origins_must_be_origins(origin):
    with pytest.raises(ValidationError, match="not an origin"):
        ApiSettings(allowed_origins=[origin])


# Forwarded headers --------------------------------------------------------------------------------------


def audited_clients(world: World) -> list[str]:
    with world.engine.connect() as c:
        details = c.execute(sa.select(audit_log.c.details).order_by(audit_log.c.audit_id)).scalars()
        return [d["client"] for d in details if "client" in d]


def test_forwarded_for_is_ignored_without_trusted_proxies(make_world):
    world = make_world(ApiSettings(login_address_attempts=3, login_attempts=100))
    client = TestClient(world.app, client=("203.0.113.9", 4711))
    for n in range(3):
        forged = {"X-Forwarded-For": f"198.51.100.{n}", "X-Forwarded-Proto": "https"}
        assert login(client, f"guess{n}@example.org", "wrong", headers=forged).status_code == 401
    rotated = {"X-Forwarded-For": "198.51.100.99"}
    assert is_problem(login(client, headers=rotated), 429, "too-many-sign-ins")
    assert audited_clients(world) == ["203.0.113.9"] * 3
    # An X-Forwarded-Proto from anyone does not make our origin https either.
    browser = TestClient(world.app, client=("192.0.2.1", 1), headers={"Origin": OWN})
    assert login(browser).status_code == 200
    https = {"Origin": "https://testserver", "X-Forwarded-Proto": "https"}
    assert browser.post(OPEN_GATE, json={"reason": "x"}, headers=https).status_code == 403


def test_a_trusted_proxy_names_the_client_and_forged_hops_do_not_count(make_world):
    world = make_world(
        ApiSettings(trusted_proxies=["10.0.0.0/8"], login_address_attempts=3, login_attempts=100)
    )
    proxy = TestClient(world.app, client=("10.1.2.3", 4711))
    for n in range(3):
        # The client forged the first hop; the proxy appended the address it saw.
        hops = {"X-Forwarded-For": f"192.0.2.{n}, 198.51.100.7"}
        assert login(proxy, f"guess{n}@example.org", "wrong", headers=hops).status_code == 401
    refused = login(proxy, headers={"X-Forwarded-For": "192.0.2.200, 198.51.100.7"})
    assert is_problem(refused, 429, "too-many-sign-ins")
    # Another client behind the same proxy (through a second proxy of ours) is not affected.
    other = {"X-Forwarded-For": "198.51.100.8, 10.9.9.9"}
    assert login(proxy, headers=other).status_code == 200
    # A peer that is not a trusted proxy is the client, whatever it forwards.
    direct = TestClient(world.app, client=("192.0.2.50", 1))
    assert login(direct, headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 200
    assert audited_clients(world) == ["198.51.100.7"] * 3 + ["198.51.100.8", "192.0.2.50"]

    # Behind a TLS proxy the page's origin is https: X-Forwarded-Proto says so.
    browser = TestClient(world.app, client=("10.1.2.3", 1), headers={"X-Forwarded-For": "198.51.100.20"})
    assert (
        login(browser, headers={"Origin": "https://testserver", "X-Forwarded-Proto": "https"}).status_code
        == 200
    )
    tls = {"Origin": "https://testserver", "X-Forwarded-Proto": "https"}
    assert browser.post(OPEN_GATE, json={"reason": "tls"}, headers=tls).status_code == 202
    assert browser.post(OPEN_GATE, json={"reason": "x"}, headers=tls | {"Origin": OWN}).status_code == 403


def test_trusted_proxies_pick_the_rightmost_untrusted_hop():
    proxies = TrustedProxies(app=None, proxies=["10.0.0.0/8", "2001:db8:ffff::/48"])  # type: ignore[arg-type]
    assert proxies.client(["203.0.113.1", " 198.51.100.7", "10.0.0.2"]) == "198.51.100.7"
    assert proxies.client(["[2001:db8::5]:4711", "2001:db8:ffff::1"]) == "2001:db8::5"
    assert proxies.client(["198.51.100.7:4711"]) == "198.51.100.7"
    assert proxies.client(["10.0.0.7", "10.0.0.2"]) == "10.0.0.7"  # every hop ours: the first
    assert proxies.client(["unknown"]) is None
    assert proxies.client([]) is None
    assert proxies.trusted("::ffff:10.0.0.1")
    assert not proxies.trusted("testclient")


def test_trusted_proxies_must_be_addresses_or_networks():
    assert ApiSettings(trusted_proxies=[" 10.0.0.0/8", "::1"]).trusted_proxies == ["10.0.0.0/8", "::1"]
    with pytest.raises(ValidationError, match="not an IP address"):
        ApiSettings(trusted_proxies=["proxy.example.org"])


# The sign-in limits, in memory and in Redis ------------------------------------------------------------


@dataclass
class Clock:
    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def backend(request) -> str:
    return str(request.param)


@dataclass(frozen=True)
class RedisSpace:
    url: str
    prefix: str


@pytest.fixture
def redis_space(backend, unique_id, request) -> Iterator[RedisSpace | None]:
    """For the Redis backend, Redis and a key prefix of the test's own (its keys deleted after)."""
    if backend == "memory":
        yield None
        return
    space = RedisSpace(request.getfixturevalue("redis_url"), unique_id)
    yield space
    redis = Redis.from_url(space.url)
    keys = list(redis.scan_iter(f"{space.prefix}:*"))
    if keys:
        redis.delete(*keys)
    redis.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def windows(redis_space, clock) -> Iterator[Windows]:
    made: Windows = (
        MemoryWindows(clock)
        if redis_space is None
        else RedisWindows(redis_space.url, redis_space.prefix, clock)
    )
    yield made
    made.close()


def limiter(windows: Windows, per_address: int = 20, per_account: int = 5) -> SignInLimiter:
    return SignInLimiter(windows, per_address=per_address, per_account=per_account, window_s=60)


def test_an_address_over_its_limit_waits_until_its_oldest_failure_expires(windows, clock):
    signin = limiter(windows, per_address=3, per_account=100)
    for n in range(3):
        attempt = signin.admit("203.0.113.9")
        assert attempt.retry_after_s == 0
        assert signin.failed(attempt, f"guess{n}@example.org") == 0
        clock.now += 10
    assert signin.admit("203.0.113.9").retry_after_s == pytest.approx(30)  # 60 s after the first
    assert signin.admit("203.0.113.10").retry_after_s == 0  # another address
    clock.now += 30
    assert signin.admit("203.0.113.9").retry_after_s == 0
    assert signin.admit("203.0.113.9").retry_after_s == pytest.approx(10)  # that took the freed slot


def test_successes_do_not_count_against_an_address(windows):
    signin = limiter(windows, per_address=2)
    for _ in range(5):
        attempt = signin.admit("203.0.113.9")
        assert attempt.retry_after_s == 0
        signin.succeeded(attempt, "root@example.org")
    signin.failed(signin.admit("203.0.113.9"), "root@example.org")
    assert signin.admit("203.0.113.9").retry_after_s == 0  # one failure, one attempt in flight
    assert signin.admit("203.0.113.9").retry_after_s > 0


def test_five_bad_guesses_from_a_shared_address_do_not_lock_the_user_out(windows, clock):
    signin = limiter(windows)
    for _ in range(5):
        assert signin.failed(signin.admit("192.0.2.1"), "user@example.org") == 0
        clock.now += 1
    # The account is over its limit: a sixth wrong password is told to wait...
    assert signin.failed(signin.admit("192.0.2.1"), "user@example.org") == pytest.approx(55)
    # ...but the address is not, so the user's right password is checked and signs in.
    attempt = signin.admit("192.0.2.1")
    assert attempt.retry_after_s == 0
    signin.succeeded(attempt, "user@example.org")
    assert signin.failed(signin.admit("192.0.2.1"), "user@example.org") == 0  # forgiven


def test_the_account_limit_counts_failures_from_every_address(windows, clock):
    signin = limiter(windows, per_account=3)
    waits = []
    for n in range(6):
        attempt = signin.admit(f"198.51.100.{n}")
        assert attempt.retry_after_s == 0  # never refused before the password is checked
        waits.append(signin.failed(attempt, "user@example.org"))
        clock.now += 10
    # The 4th to 6th failures come 30, 40, 50 s after the 1st to 3rd: each waits for one to expire.
    assert waits == [0, 0, 0, pytest.approx(30), pytest.approx(30), pytest.approx(30)]
    clock.now += 60
    assert signin.failed(signin.admit("198.51.100.0"), "user@example.org") == 0
    assert signin.failed(signin.admit("198.51.100.0"), "other@example.org") == 0


def test_ipv6_addresses_count_per_64(windows):
    signin = limiter(windows, per_address=2)
    signin.failed(signin.admit("2001:db8:0:1::1"), "a@example.org")
    signin.failed(signin.admit("2001:db8:0:1:ffff::2"), "b@example.org")
    assert signin.admit("2001:db8:0:1::3").retry_after_s > 0
    assert signin.admit("2001:db8:0:2::1").retry_after_s == 0
    assert address_key("::ffff:203.0.113.9") == address_key("203.0.113.9")
    assert address_key("testclient") == "address:testclient"


def test_windows_keep_their_newest_entries_and_forget_released_ones(windows, clock):
    assert windows.take("k", "a", 2, 60) == 0
    clock.now += 1
    assert windows.take("k", "b", 2, 60) == 0
    assert windows.take("k", "c", 2, 60) == pytest.approx(59)
    windows.release("k", "a")
    assert windows.take("k", "c", 2, 60) == 0
    for n in range(5):
        clock.now += 1
        windows.take("k", f"forced{n}", 2, 60, force=True)
    assert windows.take("k", "d", 2, 60) == pytest.approx(59)  # only the newest two count
    windows.clear("k")
    assert windows.take("k", "d", 2, 60) == 0


@pytest.mark.parametrize("backend", ["redis"])
def test_redis_windows_are_small_and_expire(redis_space, windows):
    signin = limiter(windows, per_account=3)
    for _ in range(10):
        signin.failed(signin.admit("192.0.2.1"), "user@example.org")
    redis = Redis.from_url(redis_space.url)
    keys = list(redis.scan_iter(f"{redis_space.prefix}:signin:*"))
    assert len(keys) == 2  # the address and the account
    for key in keys:
        assert redis.zcard(key) <= 10
        assert 0 < redis.pttl(key) <= 61_000
    assert all(b"user@example.org" not in key for key in keys)
    redis.close()


def test_a_shared_address_does_not_lock_the_user_out_and_replicas_share_the_limits(redis_space, make_world):
    options = (
        {} if redis_space is None else {"redis_url": redis_space.url, "queue_prefix": redis_space.prefix}
    )
    api = ApiSettings(login_attempts=5, login_address_attempts=8)
    world = make_world(api, **options)
    client = world.client()
    for _ in range(5):
        assert login(client, password="wrong").status_code == 401
    assert is_problem(login(client, password="wrong"), 429, "too-many-sign-ins")
    assert login(client).status_code == 200  # the real user, from the same address
    for n in range(2):
        assert login(client, f"guess{n}@example.org", "wrong").status_code == 401
    refused = login(client)  # 8 failures from this address: now even the right password waits
    assert is_problem(refused, 429, "too-many-sign-ins")
    assert int(refused.headers["retry-after"]) > 0

    replica = create_app(
        api, secret_key=SecretStr(SECRET), engine=world.engine, commander=RecordingGateCommander(), **options
    )
    other = TestClient(replica, headers={"Origin": OWN})
    assert login(other).status_code == (200 if redis_space is None else 429)
    replica.state.maskwatch.login_limiter.close()


def test_build_api_app_keeps_the_limits_in_redis_when_the_queue_is_there(new_postgres, redis_url, unique_id):
    database = {"url": new_postgres()}
    redis_app = build_api_app(
        load_settings(database=database, queue={"url": redis_url, "prefix": unique_id}), None
    )
    assert isinstance(redis_app.state.maskwatch.login_limiter.windows, RedisWindows)
    redis_app.state.maskwatch.login_limiter.close()
    memory_app = build_api_app(load_settings(database=database), None)
    assert isinstance(memory_app.state.maskwatch.login_limiter.windows, MemoryWindows)


# The body cap -----------------------------------------------------------------------------------------


async def call(app: Any, headers: dict[str, str], chunks: Iterator[bytes]) -> tuple[list[dict], int]:
    """Send a sign-in to the app over ASGI, its body in `chunks`; returns what it sent back and the
    number of body bytes it read."""
    read = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal read
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": LOGIN,
        "raw_path": LOGIN.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("192.0.2.1", 4711),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    return sent, read


def endless() -> Iterator[bytes]:
    while True:
        yield b"x" * 65536


def answer(sent: list[dict]) -> tuple[int, dict[str, str], dict]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, json.loads(body)


async def test_a_body_announced_too_large_is_refused_unread(world):
    headers = {"host": "testserver", "content-type": "application/json", "content-length": str(50 * 2**20)}
    sent, read = await call(world.app, headers, endless())
    status, response_headers, problem = answer(sent)
    assert (status, read) == (413, 0)
    assert response_headers["content-type"] == "application/problem+json"
    assert problem["type"].endswith("/too-large")
    assert problem["instance"] == LOGIN


async def test_a_chunked_body_is_read_only_up_to_the_cap(world):
    headers = {"host": "testserver", "content-type": "application/json", "transfer-encoding": "chunked"}
    sent, read = await call(world.app, headers, endless())
    status, _, problem = answer(sent)
    assert status == 413
    assert problem["type"].endswith("/too-large")
    assert 2**20 < read <= 2**20 + 65536
    assert len([m for m in sent if m["type"] == "http.response.start"]) == 1


def test_bodies_under_the_cap_pass_and_larger_ones_are_problems(make_world):
    world = make_world(ApiSettings(max_body_bytes=2048))
    client = world.client()
    assert login(client).status_code == 200
    assert is_problem(login(client, password="x" * 4096), 413, "too-large")
    chunked = client.post(LOGIN, content=iter([b'{"email": "', b"x" * 4096, b'"}']))
    assert is_problem(chunked, 413, "too-large")


def test_the_api_takes_no_uploads(world):
    """The body cap is safe because every request body the API accepts is JSON."""
    spec = world.client().get("/openapi.json").json()
    types = {
        content_type
        for path in spec["paths"].values()
        for operation in path.values()
        for content_type in operation.get("requestBody", {}).get("content", {})
    }
    assert types == {"application/json"}
