"""A Mosquitto of the test's own, on a free loopback port, that a test may stop and restart."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.ports import free_port


class PrivateBroker:
    def __init__(
        self, folder: Path, *, extra_config: str = "", persistence: bool = False, user: str | None = None
    ) -> None:
        """`persistence` keeps sessions and queued messages across `stop()`/`start()`, as the deployed
        broker does (deploy/mosquitto/mosquitto.conf). `user`: started as root, run as this user, as a
        packaged Mosquitto does (its files must then be readable by that user)."""
        self.folder = folder
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"
        stored = (
            f"persistence true\npersistence_location {folder}/\n" if persistence else "persistence false\n"
        )
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n{stored}"
            # As root, mosquitto would drop to its own user and could not read files the test wrote.
            + (f"user {user or 'root'}\n" if os.geteuid() == 0 else "")
            + (extra_config or "allow_anonymous true\n")
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        # Its log goes to a file: a pipe nobody reads fills up under a flood of warnings (messages
        # dropped for a slow client), and a broker blocked writing to it answers nobody.
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [binary, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=log
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError as exc:
                if self.process.poll() is not None:
                    raise RuntimeError(f"mosquitto exited: {self.log.read_text(errors='replace')}") from exc
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def reload(self) -> None:
        """SIGHUP: Mosquitto reads its password and ACL files again."""
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
