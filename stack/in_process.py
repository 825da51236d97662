"""Services in this process: the embedded setup (`maskwatch up` on defaults), one container's
service (`maskwatch run NAME`), and the harness the end-to-end tests use.

A service that stops with an error it could not heal (its consumer loop waits out
outages; what escapes is a bug or a dependency gone for good) is never left dead
behind a running process: `wait()` returns with its name, so a one-service
process exits non-zero and its supervisor (compose, systemd, `maskwatch up`)
starts it again; the all-in-one embedded setup restarts it here instead, with
capped backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from maskwatch.embedded_broker import EmbeddedBroker
from maskwatch.queue import open_queue
from stack.health import HealthServer
from stack.service_table import SERVICE_NAMES, ServiceContext, service
from stack.settings import Settings

if TYPE_CHECKING:
    from services.inference.model.interface import Engine

log = logging.getLogger(__name__)

RESTART_START_S = 1.0
RESTART_CAP_S = 60.0


class Stack:
    """Every service in this process: the embedded setup, and the harness the end-to-end tests use."""

    def __init__(
        self,
        settings: Settings,
        services: tuple[str, ...] = SERVICE_NAMES,
        *,
        engine: Engine | None = None,
        restart: bool = False,
    ) -> None:
        """`engine` replaces the configured model, for tests that script what the camera saw.
        `restart`: a failed service is started again here (the embedded setup), rather than ending
        `wait()` for a supervisor outside to restart the process."""
        self.settings = settings
        self._engine = engine
        self._restart = restart
        self.failed: list[str] = []
        """Services that stopped with an error and were not restarted here."""
        self._failure = asyncio.Event()
        self.services = services
        self.queue = open_queue(settings.queue.url, claim_idle_ms=settings.queue.claim_idle_ms)
        self.stop = asyncio.Event()
        self._broker: EmbeddedBroker | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._readies: list[asyncio.Event] = []
        self._health: HealthServer | None = None

    def ready(self) -> bool:
        """Every service connected and working (a service clears its event while it reconnects)."""
        return bool(self._readies) and all(r.is_set() for r in self._readies)

    async def start(self, timeout: float = 60.0) -> None:
        if self.settings.metrics_port is not None:
            self._health = HealthServer(live=lambda: not self.failed, ready=self.ready)
            await self._health.start(self.settings.metrics_host, self.settings.metrics_port)
        if self.settings.mqtt.embedded:
            accounts = self.settings.provisioning.mosquitto_passwd_file
            self._broker = EmbeddedBroker(self.settings.mqtt, accounts)
            await self._broker.start()
        readies = self._readies
        for name in self.services:
            ready = asyncio.Event()
            readies.append(ready)
            self._tasks.append(asyncio.create_task(self._guard(name, ready)))
        all_ready: asyncio.Future[Any] = asyncio.gather(*(r.wait() for r in readies))
        watched: list[asyncio.Future[Any]] = [all_ready, *self._tasks]
        await asyncio.wait(watched, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        all_ready.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await all_ready
        ended = [t for t in self._tasks if t.done()]
        if ended:
            await self.close()
            error = ended[0].exception() if not ended[0].cancelled() else None
            raise RuntimeError("a service stopped while starting") from error
        if not all(r.is_set() for r in readies):
            await self.close()
            raise TimeoutError(f"services not ready within {timeout}s")
        log.info("stack ready: %s", ", ".join(self.services))

    async def _guard(self, name: str, ready: asyncio.Event) -> None:
        failures = 0
        while True:
            context = ServiceContext(self.settings, self.queue, self.stop, ready, engine=self._engine)
            try:
                await service(name).run(context)
                if self.stop.is_set():
                    return
                raise RuntimeError(f"{name} ended on its own")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s stopped with an error", name)
                if not self._restart or self.stop.is_set():
                    self.failed.append(name)
                    self._failure.set()
                    raise
            failures += 1
            delay = min(RESTART_CAP_S, RESTART_START_S * 2 ** (failures - 1))
            log.error("%s restarting in %.1fs (failure %d)", name, delay, failures)
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=delay)
                return
            except TimeoutError:
                pass

    async def wait(self) -> list[str]:
        """Until stopped, or until a service fails for good; returns the failed services (none when
        stopped)."""
        stopped = asyncio.create_task(self.stop.wait())
        failed = asyncio.create_task(self._failure.wait())
        await asyncio.wait({stopped, failed}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        failed.cancel()
        return list(self.failed)

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
        if self._health is not None:
            await self._health.close()
