"""A redis-server of a test's own, on a free loopback port, that the test stops and starts."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis

from tests.ports import free_port


class PrivateRedis:
    """A redis-server of the test's own, with its data in an append-only file, that the test restarts."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, keep_data: bool = True) -> None:
        """Start it; `keep_data=False` starts it empty, as a Redis that lost its disk would."""
        if not keep_data:
            for old in self.directory.glob("appendonly*"):
                if old.is_dir():
                    for part in old.iterdir():
                        part.unlink()
                    old.rmdir()
                else:
                    old.unlink()
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the private Redis did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: Redis flushes its append-only file and exits
            self.process.wait(10)
            self.process = None
