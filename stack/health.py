"""Each service process's own small HTTP endpoint: `/metrics`, `/healthz` and `/readyz`.

- `/healthz` (live): the process answers and none of its services has failed for
  good. A supervisor restarts a process that stops being live.
- `/readyz` (ready): every service in the process is connected and working (its
  broker session is up, its consumer is reading). Not ready is normal for a while
  after a start or during an outage the service is waiting out; a load balancer or
  `depends_on: service_healthy` waits for it.
- `/metrics`: Prometheus's exposition of this process's counters.

One listener for all three keeps one port per container, the one Prometheus
already scrapes. It runs on the process's event loop rather than in a thread of
its own, so a loop that is stuck stops answering `/healthz`, which is the point.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from http import HTTPStatus

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = logging.getLogger(__name__)

READ_LIMIT = 8192
"""A request line and headers at most; nothing here takes a body."""


class HealthServer:
    def __init__(self, *, live: Callable[[], bool], ready: Callable[[], bool]) -> None:
        self._live = live
        self._ready = ready
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._answer, host, port, limit=READ_LIMIT)
        log.info("health and metrics on http://%s:%d (/healthz, /readyz, /metrics)", host, port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            method, _, rest = request.decode("latin-1").partition(" ")
            path = rest.partition(" ")[0].partition("?")[0]
            status, content_type, body = self._route(method, path)
            head = (
                f"HTTP/1.1 {status.value} {status.phrase}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + (body if method != "HEAD" else b""))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # a client that went away or sent nonsense gets nothing
        finally:
            writer.close()

    def _route(self, method: str, path: str) -> tuple[HTTPStatus, str, bytes]:
        if method not in ("GET", "HEAD"):
            return HTTPStatus.METHOD_NOT_ALLOWED, "text/plain", b"GET only\n"
        if path == "/metrics":
            return HTTPStatus.OK, CONTENT_TYPE_LATEST, generate_latest(REGISTRY)
        if path == "/healthz":
            return _verdict(self._live(), b"live\n", b"a service failed\n")
        if path == "/readyz":
            return _verdict(self._live() and self._ready(), b"ready\n", b"not ready\n")
        return HTTPStatus.NOT_FOUND, "text/plain", b"/healthz, /readyz or /metrics\n"


def _verdict(ok: bool, yes: bytes, no: bytes) -> tuple[HTTPStatus, str, bytes]:
    return (HTTPStatus.OK, "text/plain", yes) if ok else (HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", no)
