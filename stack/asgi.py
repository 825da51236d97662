"""Serving an ASGI app (the admin API, the HTTP check door) inside a service's event loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)


async def serve_asgi(
    app: Any,
    host: str,
    port: int,
    stop: asyncio.Event,
    started: asyncio.Event,
    *,
    what: str,
    proxy_headers: bool = True,
) -> None:
    """Serve an ASGI app with uvicorn in this event loop until `stop`; `started` once it listens.

    `proxy_headers=False` for an app that reads `X-Forwarded-*` itself, from the proxies it trusts (the
    admin API): uvicorn's own handling would already have replaced the peer address it needs.
    """
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", proxy_headers=proxy_headers)
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
