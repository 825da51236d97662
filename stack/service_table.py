"""Every server-side service, declared once: its name, how it is built from the settings, what it is for.

`maskwatch up`, `maskwatch run NAME`, compose.yaml's test and the in-process
stack all read this table, so adding a service is adding one entry (and its
runner) here. A runner builds its service from the sections of the settings it
needs and runs it until `stop`, setting `ready` once it can take work.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from maskwatch.queue import WorkQueue
from stack.asgi import serve_asgi
from stack.settings import Settings

if TYPE_CHECKING:
    import sqlalchemy as sa
    from fastapi import FastAPI

    from services.inference.model.interface import Engine
    from services.notifier.delivery import Deliverer


@dataclass(frozen=True)
class ServiceContext:
    settings: Settings
    queue: WorkQueue
    stop: asyncio.Event
    ready: asyncio.Event
    engine: Engine | None = None
    """Replaces the configured model, for tests that script what the camera saw."""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    run: Callable[[ServiceContext], Awaitable[None]]
    summary: str
    on_gate_path: bool
    """Whether a gate check passes through it (enough for the demo and the gate tests)."""
    nice: int = 0
    """The CPU priority its own process takes (`maskwatch run`, a container): services no gate waits
    on give way to those a person at the gate does, so a busy minute of figures or alerts does not
    stretch a verdict. They catch up when the gate path is idle; nothing they read is dropped."""


async def run_ingest(ctx: ServiceContext) -> None:
    from maskwatch.streams import Streams
    from services.ingest.bridge import IngestBridge
    from services.ingest.http_checks import create_check_app

    settings = ctx.settings
    prefix = settings.queue.prefix
    bridge = IngestBridge(
        settings.mqtt,
        ctx.queue,
        streams=Streams(prefix),
        identifier=f"{prefix}-ingest",
        max_image_pixels=settings.ingest.max_image_pixels,
    )
    if settings.ingest.http_port is None:
        await _run_signalling(bridge.run(ctx.stop), bridge.ready, ctx.ready)
        return
    app = create_check_app(
        settings.mqtt,
        settings.http_device_auth(),
        client_prefix=prefix,
        verdict_timeout_s=settings.ingest.http_verdict_timeout_s,
    )
    http_ready = asyncio.Event()

    async def all_ready() -> None:
        await bridge.ready.wait()
        await http_ready.wait()
        ctx.ready.set()

    waiter = asyncio.create_task(all_ready())
    try:
        await asyncio.gather(
            bridge.run(ctx.stop),
            serve_asgi(
                app,
                settings.ingest.http_host,
                settings.ingest.http_port,
                ctx.stop,
                http_ready,
                what="HTTP check endpoint",
            ),
        )
    finally:
        waiter.cancel()


async def run_inference(ctx: ServiceContext) -> None:
    import cv2

    from services.inference.engine import build_engine
    from services.inference.face_thumbnails import FaceThumbnails
    from services.inference.low_priority import low_priority_executor
    from services.inference.session_tuning import worker_model_config, worker_settings_for
    from services.inference.worker import InferenceWorker

    settings = ctx.settings
    worker = worker_settings_for(settings.inference_model, settings.worker)
    model = worker_model_config(settings.inference_model, worker)
    # OpenCV's own pool (decoding, resizing, frame quality) follows the worker's threads: with a worker
    # per core, a pool as wide as the machine would only fight the other workers for their cores.
    cv2.setNumThreads(worker.onnx_threads)
    frames = low_priority_executor(worker.frame_nice)
    try:
        engine = ctx.engine
        frame_engine = engine
        if engine is None:
            engine = await asyncio.to_thread(build_engine, model)
            if (
                worker.frames_on_own_engine
            ):  # built in the low-priority thread: its pool inherits the priority
                loop = asyncio.get_running_loop()
                frame_engine = await loop.run_in_executor(frames, build_engine, model)
        ctx.ready.set()
        await InferenceWorker(
            engine,
            ctx.queue,
            settings.queue,
            worker,
            frame_engine=frame_engine,
            frame_executor=frames,
            name=f"{settings.queue.prefix}-inference-{worker.instance or _host_and_pid()}",
            thumbnails=FaceThumbnails(settings.face_crops),
        ).run(ctx.stop)
    finally:
        frames.shutdown(wait=False)


def _host_and_pid() -> str:
    """Unique among the workers sharing the checks: each takes its own pending entries back."""
    import os
    import socket

    return f"{socket.gethostname()}-{os.getpid()}"


async def run_gate_controller(ctx: ServiceContext) -> None:
    from services.gate_controller.controller import GateController
    from services.gate_controller.directory import GateDirectory

    settings = ctx.settings
    async with _migrated_database(settings) as database:
        controller = GateController(
            ctx.queue,
            mqtt=settings.mqtt,
            queue_settings=settings.queue,
            consumer=settings.gate_controller,
            policy=settings.policy,
            name=f"{settings.queue.prefix}-gate-controller",
            directory=GateDirectory(database),
            allow_unregistered=settings.allow_unregistered_gates,
        )
        await _run_signalling(controller.run(ctx.stop), controller.ready, ctx.ready)


async def run_stats(ctx: ServiceContext) -> None:
    from services.stats.writer import StatsWriter

    settings = ctx.settings
    async with _migrated_database(settings) as database:
        ctx.ready.set()
        await StatsWriter(database, ctx.queue, settings.queue, settings.stats).run(ctx.stop)


async def run_monitoring(ctx: ServiceContext) -> None:
    from maskwatch.snapshots import SnapshotStore
    from services.monitoring.service import MonitoringService

    settings = ctx.settings
    async with _migrated_database(settings) as database:
        service = MonitoringService(
            ctx.queue,
            database,
            SnapshotStore(settings.snapshots),
            queue_settings=settings.queue,
            consumer=settings.monitoring,
            name=f"{settings.queue.prefix}-monitoring",
        )
        ctx.ready.set()
        await service.run(ctx.stop)


async def run_camera_reader(ctx: ServiceContext) -> None:
    from maskwatch.streams import Streams
    from services.camera_reader.service import CameraReaderService

    settings = ctx.settings
    async with _migrated_database(settings) as database:
        reader = CameraReaderService(ctx.queue, database, Streams(settings.queue.prefix))
        await _run_signalling(reader.run(ctx.stop), reader.ready, ctx.ready)


def _deliverer(settings: Settings, database: sa.Engine) -> Deliverer:
    """The channels from the notifier's settings. Web Push is always on: without a key in the settings
    it signs with the VAPID key stored in the database, the one the API hands browsers to subscribe with
    (whichever of the two needs it first makes it)."""
    from maskwatch.database import server_keys
    from maskwatch.notification_keys import VAPID_KEY_NAME, generate_vapid_keys
    from maskwatch.snapshots import SnapshotStore
    from services.notifier.channels import build_channel
    from services.notifier.channels.webhook import WebhookChannel
    from services.notifier.delivery import Deliverer
    from services.notifier.rate_limits import MemoryRateLimiter, RateLimiter, RedisRateLimiter
    from services.notifier.settings import RetryPolicy

    sections = dict(settings.notifier.channels)
    webpush = dict(sections.get("webpush") or {})
    if not webpush.get("vapid_private_key"):
        with database.begin() as connection:
            webpush["vapid_private_key"] = server_keys.get_or_create(
                connection, VAPID_KEY_NAME, lambda: generate_vapid_keys()[0]
            )
    webpush.setdefault("subject", "mailto:admin@localhost")
    sections["webpush"] = webpush
    channels = {name: build_channel(name, config) for name, config in sections.items()}
    channels.setdefault(WebhookChannel.name, WebhookChannel())  # needs no settings of its own
    policy = RetryPolicy(intervals_s=settings.notifier.retry_intervals_s)
    limiter: RateLimiter
    if settings.queue.url.startswith("memory://"):
        limiter = MemoryRateLimiter()  # the embedded setup delivers in one process
    else:
        limiter = RedisRateLimiter(settings.queue.url, settings.queue.prefix)  # shared by every rq worker
    return Deliverer(
        database,
        channels,
        policy,
        SnapshotStore(settings.snapshots),
        rate_limits=settings.notifier.rate_limits,
        limiter=limiter,
    )


async def run_notifier(ctx: ServiceContext) -> None:
    from services.notifier.runners import DeliveryRunner, InProcessRunner, RqRunner
    from services.notifier.service import NotifierService

    settings = ctx.settings
    async with _migrated_database(settings) as database:
        in_process = None
        runner: DeliveryRunner
        if settings.queue.url.startswith("memory://"):  # no Redis: deliveries run here, not on rq
            runner = in_process = InProcessRunner(_deliverer(settings, database))
        else:
            runner = RqRunner(settings.queue.url, settings.queue.prefix)
        service = NotifierService(
            ctx.queue,
            database,
            runner,
            queue_settings=settings.queue,
            consumer=settings.notifier,
            dashboard_url=settings.notifier.dashboard_url,
            name=f"{settings.queue.prefix}-notifier",
        )
        ctx.ready.set()
        try:
            await service.run(ctx.stop)
        finally:
            if in_process is not None:
                await in_process.close()


async def run_notifier_worker(ctx: ServiceContext) -> None:
    import threading

    from services.notifier.runners import use_deliverer, work_until

    settings = ctx.settings
    if settings.queue.url.startswith("memory://"):  # the notifier runs its deliveries itself
        ctx.ready.set()
        await ctx.stop.wait()
        return
    async with _migrated_database(settings) as database:
        use_deliverer(_deliverer(settings, database))
        stop = threading.Event()
        ctx.ready.set()
        worker = asyncio.create_task(
            asyncio.to_thread(work_until, stop, settings.queue.url, settings.queue.prefix)
        )
        try:
            await ctx.stop.wait()
        finally:
            stop.set()
            await worker


async def run_device_health(ctx: ServiceContext) -> None:
    from maskwatch.streams import Streams
    from services.device_health.service import DeviceHealthService

    settings = ctx.settings
    async with _migrated_database(settings) as database:
        service = DeviceHealthService(
            settings.mqtt,
            ctx.queue,
            database,
            Streams(settings.queue.prefix),
            offline_after_s=settings.device_offline_after_s,
            identifier=f"{settings.queue.prefix}-device-health",
            allow_unregistered=settings.allow_unregistered_gates,
        )
        await _run_signalling(service.run(ctx.stop), service.ready, ctx.ready)


def build_api_app(settings: Settings, queue: WorkQueue | None) -> FastAPI:
    """The admin API as settings describe it, announcing on `queue` (None: to no other service)."""
    from pydantic import SecretStr

    from services.api.app import create_app

    # The key the notifier signs Web Push with, when its settings name one: browsers must subscribe with it.
    vapid_key = (settings.notifier.channels.get("webpush") or {}).get("vapid_private_key")
    return create_app(
        settings.api,
        database_url=settings.database.url,
        mqtt=settings.mqtt,
        secret_key=settings.signing_key(),
        site_timezone=settings.site_timezone,
        queue=queue,
        queue_prefix=settings.queue.prefix,
        snapshots=settings.snapshots,
        notification_channels=frozenset({"webhook", "webpush", *settings.notifier.channels}),
        vapid_private_key=SecretStr(vapid_key) if isinstance(vapid_key, str) and vapid_key else None,
        # With Redis, every API replica shares the sign-in limits.
        redis_url=None if settings.queue.url.startswith("memory://") else settings.queue.url,
        policy=settings.policy,
        face_crops=settings.face_crops,
        # Admins provision devices from the console: accounts in the broker's password file.
        device_accounts=settings.provisioning.device_accounts(),
        broker_address=settings.device_broker_address(),
    )


async def run_api(ctx: ServiceContext) -> None:
    from maskwatch.database.engine import migrate

    settings = ctx.settings
    await asyncio.to_thread(migrate, settings.database.url)
    app = build_api_app(settings, ctx.queue)
    await serve_asgi(
        app, settings.api.host, settings.api.port, ctx.stop, ctx.ready, what="admin API", proxy_headers=False
    )


BACKGROUND = 5
"""Nice 5: about a third of a gate-path service's share of a busy core, plenty to keep up on average."""

SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("ingest", run_ingest, "MQTT and HTTP checks → validated → stream checks", True),
    ServiceSpec("inference", run_inference, "checks → faces and masks → stream analyses", True),
    ServiceSpec("gate-controller", run_gate_controller, "analyses → policy → verdict to the gate", True),
    ServiceSpec(
        "stats", run_stats, "verdicts, rejections and alert transitions → the database", True, BACKGROUND
    ),
    ServiceSpec("camera-reader", run_camera_reader, "IP cameras' RTSP streams → stream frames", False),
    ServiceSpec(
        "monitoring", run_monitoring, "camera analyses → tracks → alerts (indoor cameras)", False, BACKGROUND
    ),
    ServiceSpec(
        "device-health",
        run_device_health,
        "gates' and cameras' last wills → offline alerts",
        False,
        BACKGROUND,
    ),
    ServiceSpec("notifier", run_notifier, "alert transitions → deliveries, once each", False, BACKGROUND),
    ServiceSpec("notifier-worker", run_notifier_worker, "delivery jobs on rq → channels", False, BACKGROUND),
    ServiceSpec("api", run_api, "the admin REST API", False, BACKGROUND),
)
SERVICE_NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)
GATE_PATH: tuple[str, ...] = tuple(s.name for s in SERVICES if s.on_gate_path)


def service(name: str) -> ServiceSpec:
    for spec in SERVICES:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown service {name!r}; choose one of {', '.join(SERVICE_NAMES)}")


@contextlib.asynccontextmanager
async def _migrated_database(settings: Settings) -> AsyncIterator[sa.Engine]:
    """The database, migrated first: any service using it may be the first to start."""
    from maskwatch.database.engine import create_engine, migrate

    await asyncio.to_thread(migrate, settings.database.url)
    database = create_engine(settings.database.url)
    try:
        yield database
    finally:
        database.dispose()


async def _run_signalling(main: Awaitable[None], inner: asyncio.Event, outer: asyncio.Event) -> None:
    async def relay() -> None:
        await inner.wait()
        outer.set()

    relay_task = asyncio.create_task(relay())
    try:
        await main
    finally:
        relay_task.cancel()
