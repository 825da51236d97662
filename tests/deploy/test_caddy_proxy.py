"""compose's `proxy` service, for real: the shipped Caddyfile puts TLS in front of the admin API.

Caddy (Debian's package) runs deploy/caddy/Caddyfile with only what a loopback
test must change: the upstream `api:8000` becomes the API's loopback port,
MASKWATCH_PUBLIC_HOST comes from the environment as compose passes it, and a
global options block in front picks free loopback ports (TCP only: no HTTP/3,
whose UDP port nothing here checks), keeps Caddy's state (its local CA) in a
temp folder, turns the admin endpoint off and leaves the system's trust store
alone. The API is the real `api` service (stack/in_process.py), trusting
the proxy at 127.0.0.1 as compose's MASKWATCH_API__TRUSTED_PROXIES trusts the
proxy's network.

Through the proxy: the API answers over HTTPS with a certificate that chains to
the root Caddy wrote (verified against that root alone, never skipped); the API
takes its own origin to be `https://` plus the public host, which only
`X-Forwarded-Proto: https` and the passed-on `Host` can tell it, so a browser on
the console signs in while a page claiming the `http://` origin is refused; the
live event stream reaches the client as it is written; a client's own
`X-Forwarded-For` does not reach the API; plain HTTP is redirected to HTTPS. Every
wait is for a condition, bounded only against a hang. Skipped when the `caddy` binary is absent.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from maskwatch.database.engine import create_engine, migrate
from maskwatch.mqtt import MqttSettings
from services.api.accounts import create_account
from services.api.config import ApiSettings
from services.api.deps import SESSION_COOKIE
from services.api.security import Role
from stack.in_process import Stack
from stack.settings import DatabaseSettings, ProvisioningSettings, QueueSettings, Settings
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "deploy/caddy/Caddyfile"
CADDY = shutil.which("caddy")
UPSTREAM = "reverse_proxy api:8000"
ADMIN = ("admin@example.org", "admin password 1234")
CONSOLE_PAGE = "<!doctype html><title>Maskwatch console</title>"
STARTUP_S = 60.0
STOP_S = 10.0

pytestmark = [
    pytest.mark.skipif(
        CADDY is None, reason="no `caddy` binary (Debian: apt-get install caddy; .ci/run installs it)"
    ),
    pytest.mark.timeout(180),
]


@dataclass
class Proxy:
    https_port: int
    http_port: int
    root_ca: Path
    """Caddy's local CA root, the one to install on the admins' machines."""

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.https_port}"

    def tls(self) -> ssl.SSLContext:
        """Trusts Caddy's root and nothing else."""
        return ssl.create_default_context(cafile=self.root_ca)


def loopback_caddyfile(shipped: str, *, api_port: int, http_port: int, https_port: int, storage: Path) -> str:
    """The shipped Caddyfile with the upstream on loopback, behind global options for a test."""
    assert shipped.count(UPSTREAM) == 1, f"{CADDYFILE} no longer proxies to {UPSTREAM!r}"
    site = shipped.replace(UPSTREAM, f"reverse_proxy 127.0.0.1:{api_port}")
    options = f"""{{
	http_port {http_port}
	https_port {https_port}
	default_bind 127.0.0.1
	admin off
	storage file_system {{
		root {storage}
	}}
	skip_install_trust
	servers {{
		protocols h1 h2
	}}
}}

"""
    return options + site


def api_settings(tmp_path: Path) -> Settings:
    """The API as compose configures it, on loopback: secure cookies, the proxy trusted."""
    return Settings(
        secret_key=SecretStr("caddy-proxy-test-secret-key-0123456789"),
        mqtt=MqttSettings(embedded=False, port=free_port()),
        queue=QueueSettings(url="memory://", prefix="caddy-proxy"),
        database=DatabaseSettings(url=f"sqlite:///{tmp_path}/maskwatch.db"),
        api=ApiSettings(
            port=free_port(),
            cookie_secure=True,
            trusted_proxies=["127.0.0.1"],
            dashboard_dir=tmp_path / "console",
        ),
        provisioning=ProvisioningSettings(mosquitto_passwd_file=tmp_path / "passwd"),
    )


def seed(settings: Settings) -> None:
    """An admin account, and a console page of this test's own (the API serves it as the console)."""
    assert settings.api.dashboard_dir is not None
    settings.api.dashboard_dir.mkdir()
    (settings.api.dashboard_dir / "index.html").write_text(CONSOLE_PAGE)
    url = settings.database.url
    migrate(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        create_account(conn, ADMIN[0], ADMIN[1], Role.ADMIN, all_sites=True, site_ids=[])
    engine.dispose()


async def stop(caddy: asyncio.subprocess.Process) -> None:
    caddy.terminate()
    try:
        await asyncio.wait_for(caddy.wait(), STOP_S)
    except TimeoutError:
        caddy.kill()
        await caddy.wait()


def read_log(log: Path) -> str:
    return log.read_text(errors="replace")


async def wait_until_served(caddy: asyncio.subprocess.Process, proxy: Proxy, log: Path) -> None:
    """Until the API answers through Caddy over verified HTTPS (Caddy makes its CA and the
    certificate after it starts listening)."""
    deadline = time.monotonic() + STARTUP_S
    problem = "Caddy wrote no root certificate"
    while time.monotonic() < deadline:
        if caddy.returncode is not None:
            pytest.fail(f"caddy exited with {caddy.returncode}:\n{read_log(log)}")
        if proxy.root_ca.is_file():
            try:
                async with httpx.AsyncClient(verify=proxy.tls(), timeout=5) as client:
                    response = await client.get(f"{proxy.origin}/api/v1/")
                if response.status_code == 200:
                    return
                problem = f"GET /api/v1/ answered {response.status_code}"
            except (httpx.HTTPError, ssl.SSLError) as exc:
                problem = repr(exc)
        await asyncio.sleep(0.2)
    pytest.fail(f"the API was not served through Caddy: {problem}\n{read_log(log)}")


def prepare(tmp_path: Path, api_port: int) -> tuple[Proxy, list[str], dict[str, str]]:
    """Caddy's config, command line and environment, its state under `tmp_path`."""
    storage = tmp_path / "caddy-data"
    served = Proxy(
        https_port=free_port(),
        http_port=free_port(),
        root_ca=storage / "pki/authorities/local/root.crt",
    )
    config = tmp_path / "Caddyfile"
    config.write_text(
        loopback_caddyfile(
            CADDYFILE.read_text(),
            api_port=api_port,
            http_port=served.http_port,
            https_port=served.https_port,
            storage=storage,
        )
    )
    home = tmp_path / "home"
    env = os.environ | {
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        # As compose passes it; the port only because this test cannot have 443.
        "MASKWATCH_PUBLIC_HOST": f"localhost:{served.https_port}",
    }
    assert CADDY is not None
    return served, [CADDY, "run", "--config", str(config), "--adapter", "caddyfile"], env


@pytest.fixture
async def proxy(tmp_path: Path) -> AsyncIterator[Proxy]:
    settings = api_settings(tmp_path)
    seed(settings)
    stack = Stack(settings, ("api",))
    await stack.start(timeout=60)
    served, command, env = prepare(tmp_path, settings.api.port)
    log = tmp_path / "caddy.log"
    try:
        with log.open("wb") as out:
            caddy = await asyncio.create_subprocess_exec(*command, env=env, stdout=out, stderr=out)
        try:
            await wait_until_served(caddy, served, log)
            yield served
        finally:
            await stop(caddy)
    finally:
        await stack.close()


async def test_https_answers_with_a_certificate_from_caddys_own_ca(proxy: Proxy) -> None:
    async with httpx.AsyncClient(verify=proxy.tls(), timeout=10) as client:
        root = await client.get(f"{proxy.origin}/api/v1/")
        console = await client.get(f"{proxy.origin}/alerts")
    assert root.status_code == 200
    assert root.headers["content-type"].startswith(("application/hal+json", "application/json"))
    assert "_links" in root.json()
    assert console.status_code == 200
    assert console.headers["content-type"].startswith("text/html")
    assert console.text == CONSOLE_PAGE
    # The system's CAs (certifi's) do not know Caddy's root: it is the verification above that passed.
    async with httpx.AsyncClient(timeout=10) as stranger:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await stranger.get(f"{proxy.origin}/api/v1/")


async def test_the_api_takes_its_origin_from_the_proxy_https_and_public_host(proxy: Proxy) -> None:
    """A sign-in from the console's page (Origin https://<public host>) passes the origin check, one
    from a page claiming the http:// origin does not."""
    credentials = {"email": ADMIN[0], "password": ADMIN[1]}
    async with httpx.AsyncClient(base_url=proxy.origin, verify=proxy.tls(), timeout=10) as client:
        foreign = await client.post(
            "/api/v1/auth/login", json=credentials, headers={"Origin": f"http://localhost:{proxy.https_port}"}
        )
        signed_in = await client.post(
            "/api/v1/auth/login", json=credentials, headers={"Origin": proxy.origin}
        )
        me = await client.get("/api/v1/auth/me")
    # The API's own origin is https://<public host>: what X-Forwarded-Proto and Host told it.
    assert foreign.status_code == 403, foreign.text
    assert f"({proxy.origin})" in foreign.json()["detail"]
    assert signed_in.status_code == 200, signed_in.text
    cookie = next(c for c in client.cookies.jar if c.name == SESSION_COOKIE)
    assert cookie.secure
    assert me.status_code == 200, me.text
    assert me.json()["email"] == ADMIN[0]


async def test_a_client_cannot_name_its_own_address_through_the_proxy(proxy: Proxy) -> None:
    """Caddy replaces a client's `X-Forwarded-For` with the address it saw. compose trusts whole
    private networks (where the admins' machines are too), so a claim passed on would be believed."""
    credentials = {"email": ADMIN[0], "password": ADMIN[1]}
    claim = {"Origin": proxy.origin, "X-Forwarded-For": "203.0.113.9"}
    async with httpx.AsyncClient(base_url=proxy.origin, verify=proxy.tls(), timeout=10) as client:
        signed_in = await client.post("/api/v1/auth/login", json=credentials, headers=claim)
        assert signed_in.status_code == 200, signed_in.text
        audit = await client.get("/api/v1/audit", params={"action": "auth.login"})
    assert audit.status_code == 200, audit.text
    [entry] = audit.json()["_embedded"]["items"]
    assert entry["details"]["client"] == "127.0.0.1"


async def test_the_live_stream_comes_through_as_it_is_written(proxy: Proxy) -> None:
    """The console's live view: the stream's opening comment arrives while the stream is still open
    (a proxy that buffered it would hold it until the stream ends)."""
    credentials = {"email": ADMIN[0], "password": ADMIN[1]}
    async with httpx.AsyncClient(base_url=proxy.origin, verify=proxy.tls(), timeout=20) as client:
        signed_in = await client.post(
            "/api/v1/auth/login", json=credentials, headers={"Origin": proxy.origin}
        )
        assert signed_in.status_code == 200, signed_in.text
        async with client.stream("GET", "/api/v1/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            first = await anext(response.aiter_lines())
    assert first == ": connected"


async def test_plain_http_is_redirected_to_https(proxy: Proxy) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"http://localhost:{proxy.http_port}/api/v1/alerts?limit=5")
    assert response.status_code in (301, 302, 307, 308), response.text
    target = urlsplit(response.headers["location"])
    assert (target.scheme, target.hostname) == ("https", "localhost")
    assert (target.path, target.query) == ("/api/v1/alerts", "limit=5")
    # Caddy leaves the port out when it is its own HTTPS port (443 in compose), so accept either.
    assert target.port in (None, 443, proxy.https_port)
