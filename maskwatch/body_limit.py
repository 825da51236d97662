"""Request bodies over `max_bytes` are refused with 413 before they are read, for every HTTP door.

FastAPI reads a body whole into memory before it validates anything, sign-in
and authentication included, so without a cap any client, anonymous ones too,
could make a route buffer gigabytes. A body announced larger than the cap
(`Content-Length`) is refused without reading a byte of it; one sent without a
length (chunked) is read only up to the cap, then refused.

Pure ASGI rather than a route dependency, because by the time a dependency runs
FastAPI has already read the body. Each application says how its 413 reads
(`refusal`): the API answers a problem document, the device door FastAPI's
usual `{"detail": …}`.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Refusal = Callable[[Scope, str], Response]
"""Builds the 413 for a request (its scope) from the sentence saying why."""


def plain_refusal(scope: Scope, detail: str) -> Response:
    return JSONResponse({"detail": detail}, status_code=413)


class BodyTooLarge(Exception):
    """Raised to the app by `receive` once the body passes the cap."""


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, refusal: Refusal = plain_refusal) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.refusal = refusal

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.refusal(scope, f"the request body is larger than {self.max_bytes} bytes")
        response.headers["Connection"] = "close"  # the rest of the body is never read
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_bytes:
            await self.refuse(scope, receive, send)
            return

        received = 0
        exceeded = False
        started = False
        refused = False

        async def capped_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # Once the body passed the cap, whatever the app answers (FastAPI turns a failed body read
            # into a 400) becomes the 413.
            nonlocal started, refused
            if exceeded and not started:
                if not refused:
                    refused = True
                    await self.refuse(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, capped_receive, guarded_send)
        except BodyTooLarge:
            if started:
                raise
            if not refused:
                await self.refuse(scope, receive, send)
