"""A webhook receiver on loopback that verifies each request's signature, records what it accepts, and
fails (or stalls) on request, for the notifier's tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from services.notifier.channels.webhook import new_webhook_secret, verify


@dataclass
class Receiver:
    url: str = ""
    failures_left: int = 0
    """Answer 500 this many times before accepting."""
    status_when_failing: int = 500
    delay_s: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    secret: str = field(default_factory=new_webhook_secret)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(state.delay_s)
            with state.lock:
                state.attempts += 1
                failing = state.failures_left > 0
                if failing:
                    state.failures_left -= 1
            if failing:
                self.send_response(state.status_when_failing)
                self.end_headers()
                return
            verify(state.secret, dict(self.headers), body)  # raises (and 500s) if the signature is wrong
            with state.lock:
                state.received.append({"id": self.headers["webhook-id"], "body": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
