"""API settings, meant to sit under `Settings.api` (`MASKWATCH_API__*`)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator

DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_origin(url: str, *, path_allowed: bool = False) -> str | None:
    """`scheme://host:port` of an http(s) URL, lower-cased and with the port spelled out, so that
    `https://Example.org` and `https://example.org:443` compare equal; None for anything else (`null`,
    another scheme, user info, and, unless `path_allowed` (a Referer), a path, query or fragment)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in DEFAULT_PORTS or not host or parts.username is not None:
        return None
    if not path_allowed and (parts.path not in ("", "/") or parts.query or parts.fragment):
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or DEFAULT_PORTS[scheme]}"


class OidcSettings(BaseModel):
    """Sign-in through an OpenID Connect provider (`MASKWATCH_API__OIDC__*`); absent means off."""

    issuer: str = Field(min_length=1)
    """The provider's issuer URL, exactly as its ID tokens name it in `iss`; discovery is read from
    `{issuer}/.well-known/openid-configuration`."""
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    """The confidential client's secret; leave unset for a public client (PKCE only)."""
    token_auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    """How the secret is sent to the token endpoint."""
    redirect_uri: str = Field(min_length=1)
    """`https://<host>/api/v1/auth/oidc/callback`, registered with the provider."""
    scopes: str = "openid email profile"
    email_claim: str = "email"
    """The ID token claim holding the email that names the Maskwatch account."""
    create_unknown_users: bool = False
    """Let an email without an account sign in as a new viewer with no sites; by default only existing,
    enabled accounts may sign in."""
    after_login_url: str = "/"
    """Where the browser goes once signed in (a path on this server): the web console."""
    leeway_s: int = Field(default=60, ge=0, le=600)
    """Clock skew allowed on the ID token's `exp` and `iat`."""
    timeout_s: float = Field(default=10.0, gt=0)
    """Timeout of each request to the provider."""


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    cookie_secure: bool = False
    """Send the session and OpenID Connect cookies over HTTPS only. Production implies it: the server
    settings turn it on there, and refuse to start if it is explicitly false."""
    session_hours: float = Field(default=12.0, gt=0)
    allowed_origins: list[str] = []
    """Origins (`https://dashboard.example.org`) besides the API's own that may send changes with the
    session cookie; the API's own is the scheme and `Host` of each request (and the OpenID Connect
    redirect URI's). Needed when a proxy rewrites `Host` or hides the scheme and is not trusted."""
    trusted_proxies: list[str] = []
    """Addresses or networks (`10.0.0.5`, `172.16.0.0/12`) of reverse proxies whose `X-Forwarded-For`
    and `X-Forwarded-Proto` are believed. Empty: the peer address is the client and those headers are
    ignored, so a client cannot pick its address for the sign-in limit."""
    login_attempts: int = Field(default=5, ge=1)
    """Failed sign-ins per account within `login_window_s`, from any address, before further failures
    on it answer 429. It only slows guessing down: the right password still signs in (docs/api.md)."""
    login_address_attempts: int = Field(default=20, ge=1)
    """Failed sign-ins per client address (an IPv6 /64), to any accounts, within `login_window_s`;
    beyond it the address is refused (429) without its passwords being checked."""
    login_window_s: float = Field(default=300.0, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    """Largest request body taken (413 beyond it, before it is read); the API has no uploads."""
    events_poll_s: float = Field(default=0.5, gt=0)
    """How often the live stream looks for new checks and alerts in the database."""
    oidc: OidcSettings | None = None
    """OpenID Connect sign-in; off unless configured."""
    open_confirm_s: float = Field(default=5.0, ge=0, le=30)
    """How long a remote open waits for the gate to confirm it opened (0: do not wait)."""
    dashboard_dir: Path | None = None
    """The web console's built files, served at `/`; default: the repository's `dashboard/dist`
    (docs/dashboard.md). Without a build there, `/` says how to make one."""

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        canonical = []
        for origin in origins:
            value = canonical_origin(origin)
            if value is None:
                raise ValueError(f"{origin!r} is not an origin such as https://maskwatch.example.org")
            canonical.append(value)
        return canonical

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"{proxy!r} is not an IP address or network such as 10.0.0.0/8") from exc
        return [proxy.strip() for proxy in proxies]
