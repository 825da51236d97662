"""API settings, meant to sit under `Settings.api` (`MASKWATCH_API__*`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


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
    after_login_url: str = "/api/v1/"
    """Where the browser goes once signed in (a path on this server)."""
    leeway_s: int = Field(default=60, ge=0, le=600)
    """Clock skew allowed on the ID token's `exp` and `iat`."""
    timeout_s: float = Field(default=10.0, gt=0)
    """Timeout of each request to the provider."""


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    cookie_secure: bool = False
    """Send the session cookie over HTTPS only; turn on behind TLS (production always should)."""
    session_hours: float = Field(default=12.0, gt=0)
    login_attempts: int = Field(default=5, ge=1)
    """Failed sign-ins allowed per client address and email within `login_window_s`."""
    login_window_s: float = Field(default=300.0, gt=0)
    events_poll_s: float = Field(default=0.5, gt=0)
    """How often the live stream looks for new checks and alerts in the database."""
    oidc: OidcSettings | None = None
    """OpenID Connect sign-in; off unless configured."""
