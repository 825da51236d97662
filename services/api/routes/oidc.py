"""Sign-in through an OpenID Connect provider (Keycloak, Amazon Cognito, …) to a session cookie.

The authorization code flow with PKCE (S256): `login` sends the browser to the provider with a fresh
state, nonce and code verifier, kept in a short-lived cookie signed with the server's secret key;
`callback` checks the state, exchanges the code, verifies the ID token (signature against the
provider's JWKS, issuer, audience, expiry, nonce) and signs in the existing account whose email the
token carries, with the same session cookie as the password sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from datetime import timedelta
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from maskwatch.metrics import SIGNIN_FAILURES
from services.api import audit
from services.api.accounts import create_account, load_account, normalize_email
from services.api.config import OidcSettings
from services.api.deps import SessionDep, StateDep
from services.api.paging import API
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.routes.auth import set_session_cookie
from services.api.security import Role, issue_token

router = APIRouter(prefix=f"{API}/auth/oidc", tags=["auth"], responses=PROBLEM_RESPONSES)

FLOW_COOKIE = "maskwatch_oidc"
FLOW_PATH = f"{API}/auth/oidc"
FLOW_TTL_S = 600
METADATA_TTL_S = 3600.0
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
"""Asymmetric algorithms only: never `none`, never HMAC with the client secret."""
_BAD_GATEWAY = PROBLEM_RESPONSES[400] | {"description": "The OpenID provider failed or answered nonsense"}


class ProviderError(Exception):
    """The provider could not be reached or answered something unusable."""


class InvalidIdToken(Exception):
    """The ID token failed verification."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class OidcClient:
    """Discovery, JWKS and token requests to one provider; discovery and keys are cached."""

    def __init__(self, config: OidcSettings, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.issuer = config.issuer.rstrip("/")
        self._transport = transport
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None

    def _client(self) -> httpx.Client:
        return httpx.Client(timeout=self.config.timeout_s, transport=self._transport)

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            with self._client() as http:
                response = http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(f"GET {url} failed: {exc}") from exc
        if not isinstance(body, dict):
            raise ProviderError(f"GET {url} did not return a JSON object")
        return body

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_TTL_S:
                return self._metadata
        body = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
        for field in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(body.get(field), str):
                raise ProviderError(f"the discovery document has no {field}")
        if str(body["issuer"]).rstrip("/") != self.issuer:
            raise ProviderError(f"the discovery document names issuer {body['issuer']!r}")
        with self._lock:
            self._metadata, self._metadata_at = body, time.monotonic()
        return body

    def keys(self, *, refresh: bool = False) -> KeySet:
        with self._lock:
            if self._keys is not None and not refresh:
                return self._keys
        body = self._get_json(str(self.metadata()["jwks_uri"]))
        try:
            keys = KeySet.import_key_set(body)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise ProviderError(f"the JWKS cannot be read: {exc}") from exc
        with self._lock:
            self._keys = keys
        return keys

    def authorization_url(self, state: str, nonce: str, verifier: str) -> str:
        challenge = _b64url(hashlib.sha256(verifier.encode()).digest())
        url = httpx.URL(str(self.metadata()["authorization_endpoint"]))
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "scope": self.config.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return str(url.copy_merge_params(params))

    def exchange(self, code: str, verifier: str) -> str:
        """The ID token for an authorization code."""
        config = self.config
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": config.redirect_uri,
            "code_verifier": verifier,
            "client_id": config.client_id,
        }
        auth: httpx.Auth | httpx._client.UseClientDefault = httpx.USE_CLIENT_DEFAULT
        if config.client_secret is not None:
            secret = config.client_secret.get_secret_value()
            if config.token_auth_method == "client_secret_post":
                form["client_secret"] = secret
            else:
                auth = httpx.BasicAuth(config.client_id, secret)
        url = str(self.metadata()["token_endpoint"])
        try:
            with self._client() as http:
                response = http.post(url, data=form, auth=auth, headers={"Accept": "application/json"})
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(f"the token request failed: {exc}") from exc
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise ProviderError(f"the token endpoint answered {response.status_code} ({error or 'no error'})")
        id_token = body.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise ProviderError("the token response has no id_token")
        return id_token

    def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of a valid ID token; raises InvalidIdToken otherwise."""
        try:
            header = json.loads(_unb64url(id_token.split(".")[0]))
        except (ValueError, IndexError) as exc:
            raise InvalidIdToken("the ID token is not a JWS") from exc
        if not isinstance(header, dict):
            raise InvalidIdToken("the ID token is not a JWS")
        supported = self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in ALGORITHMS if a in supported] or ["RS256"]
        if header.get("alg") not in algorithms:
            raise InvalidIdToken(f"the ID token is signed with {header.get('alg')!r}")
        keys = self.keys()
        kid = header.get("kid")
        if kid is not None and all(key.kid != kid for key in keys.keys):
            keys = self.keys(refresh=True)  # the provider may have rotated its keys
        try:
            token = jwt.decode(id_token, keys, algorithms=algorithms)
        except (JoseError, ValueError) as exc:
            raise InvalidIdToken(f"the ID token's signature is not valid ({exc})") from exc
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=self.config.leeway_s,
            iss={"essential": True, "value": str(self.metadata()["issuer"])},
            aud={"essential": True, "value": self.config.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except (JoseError, ValueError) as exc:
            raise InvalidIdToken(f"the ID token's claims are not valid ({exc})") from exc
        aud = claims["aud"]
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.config.client_id:
            raise InvalidIdToken("the ID token has several audiences and another authorized party")
        return claims


_clients_lock = threading.Lock()


def get_oidc(request: Request, state: StateDep) -> OidcClient:
    """The app's provider client; 404 when OpenID Connect sign-in is not configured."""
    config = state.api.oidc
    if config is None:
        raise Problem(404, "not-found", "sign-in through OpenID Connect is not configured")
    with _clients_lock:
        client: OidcClient | None = getattr(request.app.state, "oidc_client", None)
        if client is None or client.config is not config:
            client = OidcClient(config)
            request.app.state.oidc_client = client
    return client


OidcDep = Annotated[OidcClient, Depends(get_oidc)]


def _flow_key(secret_key: bytes) -> bytes:
    return hmac.new(secret_key, b"maskwatch oidc flow cookie", hashlib.sha256).digest()


def sign_flow(secret_key: bytes, flow: dict[str, Any]) -> str:
    payload = _b64url(json.dumps(flow, separators=(",", ":")).encode())
    mac = hmac.new(_flow_key(secret_key), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64url(mac)}"


def read_flow(secret_key: bytes, value: str | None) -> dict[str, Any] | None:
    """The flow a cookie carries if its signature holds and it has not expired, else None."""
    if not value or value.count(".") != 1:
        return None
    payload, mac = value.split(".")
    expected = _b64url(hmac.new(_flow_key(secret_key), payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        flow = json.loads(_unb64url(payload))
    except ValueError:
        return None
    if not isinstance(flow, dict) or not isinstance(flow.get("exp"), int) or flow["exp"] < time.time():
        return None
    if not all(isinstance(flow.get(k), str) for k in ("state", "nonce", "verifier")):
        return None
    return flow


@router.get(
    "/login",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "To the provider's sign-in page"}, 502: _BAD_GATEWAY},
    summary="Sign in through the OpenID Connect provider (browser redirect)",
)
def oidc_login(state: StateDep, oidc: OidcDep) -> Response:
    flow_state, nonce, verifier = (secrets.token_urlsafe(n) for n in (32, 32, 48))
    flow = {"state": flow_state, "nonce": nonce, "verifier": verifier, "exp": int(time.time()) + FLOW_TTL_S}
    try:
        url = oidc.authorization_url(flow_state, nonce, verifier)
    except ProviderError as exc:
        raise Problem(502, "oidc-provider-error", str(exc)) from exc
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        FLOW_COOKIE,
        sign_flow(state.secret_key, flow),
        max_age=FLOW_TTL_S,
        httponly=True,
        samesite="lax",
        secure=state.api.cookie_secure,
        path=FLOW_PATH,
    )
    return response


@router.get(
    "/callback",
    status_code=303,
    response_class=RedirectResponse,
    responses={303: {"description": "Signed in; the session cookie is set"}, 502: _BAD_GATEWAY},
    summary="Where the provider sends the browser back; sets the session cookie",
)
def oidc_callback(
    request: Request,
    conn: SessionDep,
    state: StateDep,
    oidc: OidcDep,
    code: str | None = None,
    returned_state: Annotated[str | None, Query(alias="state")] = None,
    error: str | None = None,
) -> Response:
    client = request.client.host if request.client else "unknown"

    def fail(status: int, kind: str, detail: str, email: str = "-", user_id: int | None = None) -> Problem:
        SIGNIN_FAILURES.inc()
        audit.record(conn, None, "auth.oidc_failed", email, user_id=user_id, client=client, reason=detail)
        conn.commit()
        return Problem(status, kind, detail)

    flow = read_flow(state.secret_key, request.cookies.get(FLOW_COOKIE))
    if flow is None:
        raise fail(400, "oidc-state", "no sign-in in progress here (or it expired); start again")
    if returned_state is None or not hmac.compare_digest(returned_state, flow["state"]):
        raise fail(400, "oidc-state", "the state does not match the sign-in in progress")
    if error is not None:
        raise fail(401, "unauthenticated", f"the provider refused the sign-in: {error[:100]}")
    if not code:
        raise fail(400, "bad-request", "the provider sent no code")
    try:
        claims = oidc.verify(oidc.exchange(code, flow["verifier"]), flow["nonce"])
    except ProviderError as exc:
        raise fail(502, "oidc-provider-error", str(exc)) from exc
    except InvalidIdToken as exc:
        raise fail(401, "unauthenticated", str(exc)) from exc

    config = oidc.config
    email = claims.get(config.email_claim)
    if not isinstance(email, str) or "@" not in email:
        raise fail(403, "forbidden", f"the ID token carries no email in {config.email_claim!r}")
    email = normalize_email(email)
    if "email_verified" in claims and claims["email_verified"] not in (True, "true"):
        raise fail(403, "forbidden", "the provider has not verified this email", email)
    account = load_account(conn, email=email)
    if account is None and config.create_unknown_users:
        user_id = create_account(conn, email, None, Role.VIEWER, all_sites=False, site_ids=[])
        audit.record(conn, None, "user.create", email, user_id=user_id, via="oidc", role=Role.VIEWER.value)
        account = load_account(conn, user_id=user_id)
    if account is None:
        raise fail(403, "forbidden", "no Maskwatch account has this email", email)
    if account.disabled:
        raise fail(403, "forbidden", "this account is disabled", email, account.user_id)

    ttl = timedelta(hours=state.api.session_hours)
    _, token = issue_token(conn, state.secret_key, account.user_id, kind="session", name=client, ttl=ttl)
    audit.record(
        conn,
        None,
        "auth.oidc_signin",
        account.email,
        user_id=account.user_id,
        client=client,
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
    )
    conn.commit()
    response = RedirectResponse(config.after_login_url, status_code=303)
    set_session_cookie(response, token, ttl, secure=state.api.cookie_secure)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response
