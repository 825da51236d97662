"""The gate path's services as separate processes, each started the way its container starts it
(`maskwatch run NAME`), that a drill kills with SIGKILL and starts again."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

READY_WAIT_S = 180.0
"""Generous: four services importing the model and connecting at once on a shared two-core machine."""


class ServiceProcess:
    def __init__(self, name: str, env: dict[str, str], metrics_port: int, log_dir: Path) -> None:
        self.name = name
        self.env = env | {"MASKWATCH_METRICS_PORT": str(metrics_port)}
        self.metrics_port = metrics_port
        self.log = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "stack", "run", self.name], env=self.env, stdout=log, stderr=log
            )
        self.starts += 1

    def ready(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.metrics_port}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout_s: float = READY_WAIT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.ready():
                return
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready within {timeout_s:.0f}s:\n{self.tail()}")

    def kill(self) -> None:
        """kill -9: no goodbye, no flush, whatever it held left pending."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> None:
        """SIGTERM, without waiting: the service finishes its batch and leaves."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
