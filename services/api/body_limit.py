"""Request bodies over `max_body_bytes` are refused with 413 before they are read.

FastAPI reads a JSON body whole into memory before validating it, so without a
cap a client could make any route, sign-in included, buffer gigabytes. A body
announced larger than the cap (`Content-Length`) is refused without reading a
byte of it; one sent without a length (chunked) is read only up to the cap,
then refused. The API has no uploads, so 1 MiB by default is generous.

Pure ASGI rather than a route dependency, because by the time a dependency runs
FastAPI has already read the body.
"""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.problems import problem_response


class BodyTooLarge(Exception):
    """Raised to the app by `receive` once the body passes the cap."""


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is larger than {self.max_bytes} bytes"
        response = problem_response(Request(scope), 413, "too-large", detail, headers={"Connection": "close"})
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
