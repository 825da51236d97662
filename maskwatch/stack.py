"""How each server-side service is assembled from the settings and run.

The same functions serve the container of each service (`maskwatch run NAME`)
and the one-process embedded setup (`maskwatch up` with the defaults).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any, Literal

from maskwatch.embedded_broker import EmbeddedBroker
from maskwatch.queue import WorkQueue, open_queue
from maskwatch.settings import Settings
from maskwatch.streams import Streams

if TYPE_CHECKING:
    import sqlalchemy as sa

    from services.inference.model.api import Engine

log = logging.getLogger(__name__)

ServiceName = Literal["ingest", "inference", "gate-controller", "stats", "api"]
SERVICE_NAMES: tuple[ServiceName, ...] = ("ingest", "inference", "gate-controller", "stats", "api")
GATE_PATH: tuple[ServiceName, ...] = ("ingest", "inference", "gate-controller", "stats")
"""What a gate check passes through; enough for the demo and the gate tests."""


async def run_service(
    name: ServiceName,
    settings: Settings,
    queue: WorkQueue,
    stop: asyncio.Event,
    ready: asyncio.Event,
    *,
    engine: Engine | None = None,
) -> None:
    """Build one service and run it until `stop`; `ready` is set once it can take work."""
    streams = Streams(settings.queue.prefix)
    if name == "ingest":
        from services.ingest.bridge import IngestBridge
        from services.ingest.http_checks import create_check_app

        bridge = IngestBridge(
            settings.mqtt, queue, streams=streams, identifier=f"{settings.queue.prefix}-ingest"
        )
        if settings.ingest.http_port is None:
            await _run_signalling(bridge.run(stop), bridge.ready, ready)
            return
        app = create_check_app(settings, verdict_timeout_s=settings.ingest.http_verdict_timeout_s)
        http_ready = asyncio.Event()

        async def all_ready() -> None:
            await bridge.ready.wait()
            await http_ready.wait()
            ready.set()

        waiter = asyncio.create_task(all_ready())
        try:
            await asyncio.gather(
                bridge.run(stop),
                serve_asgi(
                    app,
                    settings.ingest.http_host,
                    settings.ingest.http_port,
                    stop,
                    http_ready,
                    what="HTTP check endpoint",
                ),
            )
        finally:
            waiter.cancel()
    elif name == "inference":
        from services.inference.engine import build_engine
        from services.inference.worker import InferenceWorker

        if engine is None:
            engine = await asyncio.to_thread(build_engine, settings.inference_model)
        ready.set()
        await InferenceWorker(engine, queue, settings).run(stop)
    elif name == "gate-controller":
        from services.gate_controller.controller import GateController
        from services.gate_controller.directory import GateDirectory

        async with _migrated_database(settings) as database:
            controller = GateController(
                queue,
                settings,
                name=f"{settings.queue.prefix}-gate-controller",
                directory=GateDirectory(database),
            )
            await _run_signalling(controller.run(stop), controller.ready, ready)
    elif name == "stats":
        from services.stats.writer import StatsWriter

        async with _migrated_database(settings) as database:
            ready.set()
            await StatsWriter(database, queue, settings).run(stop)
    elif name == "api":
        from services.api.app import create_app
        from services.stats.database import migrate

        await asyncio.to_thread(migrate, settings.database.url)
        app = create_app(settings)
        await serve_asgi(app, settings.api.host, settings.api.port, stop, ready, what="admin API")
    else:  # pragma: no cover - exhaustive over ServiceName
        raise ValueError(f"unknown service {name}")


@contextlib.asynccontextmanager
async def _migrated_database(settings: Settings) -> AsyncIterator[sa.Engine]:
    """The statistics database, migrated first: any service using it may be the first to start."""
    from services.stats.database import create_engine, migrate

    await asyncio.to_thread(migrate, settings.database.url)
    database = create_engine(settings.database.url)
    try:
        yield database
    finally:
        database.dispose()


async def serve_asgi(
    app: Any, host: str, port: int, stop: asyncio.Event, started: asyncio.Event, *, what: str
) -> None:
    """Serve an ASGI app with uvicorn in this event loop until `stop`; `started` once it listens."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", proxy_headers=True)
    )

    async def stop_server() -> None:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for this
            await asyncio.sleep(0.02)
        started.set()
        log.info("%s listening on http://%s:%d", what, host, port)
        await stop.wait()
        server.should_exit = True

    stopper = asyncio.create_task(stop_server())
    try:
        await server.serve()
    except SystemExit as exc:  # uvicorn exits when it cannot bind
        raise RuntimeError(f"{what} could not listen on {host}:{port}") from exc
    finally:
        stopper.cancel()


async def _run_signalling(main: Awaitable[None], inner: asyncio.Event, outer: asyncio.Event) -> None:
    async def relay() -> None:
        await inner.wait()
        outer.set()

    relay_task = asyncio.create_task(relay())
    try:
        await main
    finally:
        relay_task.cancel()


class Stack:
    """Every service in this process: the embedded setup, and the harness the end-to-end tests use."""

    def __init__(
        self,
        settings: Settings,
        services: tuple[ServiceName, ...] = SERVICE_NAMES,
        *,
        engine: Engine | None = None,
    ) -> None:
        """`engine` replaces the configured model, for tests that script what the camera saw."""
        self.settings = settings
        self._engine = engine
        self.services = services
        self.queue = open_queue(settings.queue.url, claim_idle_ms=settings.queue.claim_idle_ms)
        self.stop = asyncio.Event()
        self._broker: EmbeddedBroker | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, timeout: float = 60.0) -> None:
        if self.settings.metrics_port is not None:
            from maskwatch.metrics import start_metrics_server

            start_metrics_server(self.settings.metrics_port)
        if self.settings.mqtt.embedded:
            self._broker = EmbeddedBroker(self.settings.mqtt.host, self.settings.mqtt.port)
            await self._broker.start()
        readies = []
        for name in self.services:
            ready = asyncio.Event()
            readies.append(ready)
            self._tasks.append(
                asyncio.create_task(
                    self._guard(
                        name,
                        run_service(name, self.settings, self.queue, self.stop, ready, engine=self._engine),
                    )
                )
            )
        all_ready: asyncio.Future[Any] = asyncio.gather(*(r.wait() for r in readies))
        watched: list[asyncio.Future[Any]] = [all_ready, *self._tasks]
        await asyncio.wait(watched, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        all_ready.cancel()
        ended = [t for t in self._tasks if t.done()]
        if ended:
            await self.close()
            error = ended[0].exception() if not ended[0].cancelled() else None
            raise RuntimeError("a service stopped while starting") from error
        if not all(r.is_set() for r in readies):
            await self.close()
            raise TimeoutError(f"services not ready within {timeout}s")
        log.info("stack ready: %s", ", ".join(self.services))

    async def _guard(self, name: str, main: Awaitable[None]) -> None:
        try:
            await main
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s stopped with an error", name)
            raise

    async def wait(self) -> None:
        await self.stop.wait()

    async def close(self) -> None:
        self.stop.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.queue.close()
        if self._broker is not None:
            await self._broker.stop()
