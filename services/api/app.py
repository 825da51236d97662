"""The API application: `create_app(...)` wires routes, errors, metrics and the database."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr

from maskwatch.body_limit import BodyLimit
from maskwatch.database.engine import create_engine
from maskwatch.database.schema import DEFAULT_SITE
from maskwatch.database.schema import sites as sites_table
from maskwatch.device_accounts import BrokerAddress, DeviceAccounts
from maskwatch.entry_rules import PolicyConfig
from maskwatch.face_crops import FaceCropSettings
from maskwatch.metrics import API_LATENCY, API_REQUESTS, update_gpu_memory
from maskwatch.mqtt import MqttSettings
from maskwatch.queue import WorkQueue
from maskwatch.snapshots import SnapshotSettings
from services.api import problems
from services.api.commander import GateCommander, MqttGateCommander
from services.api.config import ApiSettings, canonical_origin
from services.api.dashboard import mount_dashboard
from services.api.deps import SESSION_COOKIE
from services.api.docs_ui import mount_docs
from services.api.hal import HalJSONResponse
from services.api.origin_check import OriginCheck
from services.api.proxies import TrustedProxies
from services.api.ratelimit import MemoryWindows, RedisWindows, SignInLimiter, Windows
from services.api.routes import (
    alerts,
    audit,
    auth,
    cameras,
    checks,
    devices,
    events,
    gates,
    notifications,
    oidc,
    root,
    rules,
    sites,
    stats,
    tokens,
    users,
)
from services.api.state import AppState

DESCRIPTION = """
Figures, gates, cameras, checks, alerts, notifications and accounts of a Maskwatch installation.

Every resource carries HAL `_links`: `self`, related resources, and the actions
the caller may take right now (`open` on a gate, `acknowledge` and `resolve` on
an alert).
Collections page with `first`/`prev`/`next` links. Errors are
`application/problem+json`. Sign in with `POST /api/v1/auth/login` (session
cookie) or send `Authorization: Bearer <API token>`.
"""


def _route_name(request: Request) -> str:
    """The route template (`/api/v1/gates/{gate_id}`), so metrics do not grow a label per id."""
    route = request.scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else "unmatched"


def _sync_default_site(engine: sa.Engine, time_zone: str) -> None:
    """The `default` site (unregistered gates) follows `site_timezone` until an admin changes it."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(sites_table)
            .where(sites_table.c.site_id == DEFAULT_SITE, sites_table.c.time_zone == "UTC")
            .values(time_zone=time_zone)
        )


def _broker_address(mqtt: MqttSettings) -> BrokerAddress:
    """Where the server reaches the broker: right for a device only when both are on one network."""
    return BrokerAddress(host=mqtt.host, port=mqtt.port, topic_root=mqtt.topic_root, tls=mqtt.tls)


def create_app(
    api: ApiSettings,
    *,
    secret_key: SecretStr,
    database_url: str | None = None,
    engine: sa.Engine | None = None,
    mqtt: MqttSettings | None = None,
    commander: GateCommander | None = None,
    site_timezone: str = "UTC",
    queue: WorkQueue | None = None,
    queue_prefix: str = "maskwatch",
    snapshots: SnapshotSettings | None = None,
    notification_channels: frozenset[str] = frozenset({"webhook", "webpush"}),
    vapid_private_key: SecretStr | None = None,
    redis_url: str | None = None,
    dashboard_dir: Path | None = None,
    policy: PolicyConfig | None = None,
    face_crops: FaceCropSettings | None = None,
    device_accounts: DeviceAccounts | None = None,
    broker_address: BrokerAddress | None = None,
) -> FastAPI:
    """The API over the database at `database_url` (or `engine`), sending gate commands over `mqtt`
    (or through `commander`: tests pass their own instead of a broker).

    Alerts acknowledged or resolved by hand are announced on `queue` (the alerts stream under
    `queue_prefix`), so the notifier hears of them; without a queue only the database records them.
    The caller owns the queue and closes it. `snapshots` says where alert snapshots are stored.

    A dead delivery retried through the API is announced to the notifier on `queue`; without one the
    notifier sends it when it next starts. `notification_channels` are those the notifier is set up
    for (listed for admins choosing a recipient's channel). `vapid_private_key` is the notifier's
    settings' key, so browsers subscribe with the key the notifier signs with; without it both use the
    key stored in the database.

    With `redis_url` the sign-in limiter counts failures in Redis (under `queue_prefix`), so every API
    replica shares its limits; without it each process counts for itself.

    The web console is served at `/` from `dashboard_dir` (or `api.dashboard_dir`, or the repository's
    `dashboard/dist`) for every path no API route answers.

    `policy` is the installation's entry rules from its settings, shown under the rules admins change
    per site and gate.

    With `device_accounts` admins provision gates and cameras (broker accounts in its password file),
    handing each the configuration for its Pi with `broker_address` (default: `mqtt`'s address).
    """
    if engine is None and database_url is None:
        raise ValueError("create_app needs a database_url or an engine")
    if commander is None and mqtt is None:
        raise ValueError("create_app needs MQTT settings or a commander")
    own_engine = engine is None
    db = engine or create_engine(database_url or "")
    windows: Windows = RedisWindows(redis_url, queue_prefix) if redis_url else MemoryWindows()
    login_limiter = SignInLimiter(
        windows,
        per_address=api.login_address_attempts,
        per_account=api.login_attempts,
        window_s=api.login_window_s,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        _sync_default_site(db, site_timezone)
        yield
        login_limiter.close()
        if own_engine:
            db.dispose()

    app = FastAPI(
        title="Maskwatch admin API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from the package's files by mount_docs, not from a CDN
        redoc_url=None,
        default_response_class=HalJSONResponse,
    )
    app.state.maskwatch = AppState(
        api=api,
        secret=secret_key,
        engine=db,
        commander=commander or MqttGateCommander(mqtt or MqttSettings()),
        login_limiter=login_limiter,
        queue=queue,
        queue_prefix=queue_prefix,
        snapshots=snapshots or SnapshotSettings(),
        notification_channels=notification_channels,
        vapid_private_key=vapid_private_key,
        policy=policy or PolicyConfig(),
        face_crops=face_crops or FaceCropSettings(),
        device_accounts=device_accounts,
        broker_address=broker_address or _broker_address(mqtt or MqttSettings()),
    )
    problems.install(app)
    routers = (
        root,
        auth,
        oidc,
        tokens,
        sites,
        rules,
        stats,
        gates,
        cameras,
        checks,
        alerts,
        notifications,
        users,
        audit,
        events,
        devices,
    )
    for module in routers:
        app.include_router(module.router)
    mount_docs(app)
    mount_dashboard(app, dashboard_dir or api.dashboard_dir)

    # Added innermost first: a request meets the body cap, then the proxy headers, then the origin check.
    redirect_origin = canonical_origin(api.oidc.redirect_uri, path_allowed=True) if api.oidc else None
    allowed_origins = [*api.allowed_origins, *([redirect_origin] if redirect_origin else [])]
    app.add_middleware(OriginCheck, session_cookie=SESSION_COOKIE, allowed_origins=allowed_origins)
    if api.trusted_proxies:
        app.add_middleware(TrustedProxies, proxies=api.trusted_proxies)
    app.add_middleware(BodyLimit, max_bytes=api.max_body_bytes, refusal=problems.too_large)

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = _route_name(request)
        API_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        API_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        update_gpu_memory()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
