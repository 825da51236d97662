"""Loopback ports for the servers a test (or a benchmark) starts itself.

Why not let the kernel pick (bind to port 0): it hands out a port from the ephemeral range, the range
every outgoing connection's local port is drawn from too. Between picking the port and the server
binding it, any client on the machine (a Redis or PostgreSQL connection of the same test run) may take
it, and the server then fails with "address already in use". The ports here come from below the
ephemeral range, are probed before they are handed out, and are never handed out twice by one process.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_LOWEST = 20000
_handed_out: set[int] = set()


def _ephemeral_start() -> int:
    """The first port of the kernel's ephemeral range (Linux; 32768 elsewhere)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback TCP port where nothing listens, outside the ephemeral range."""
    highest = max(_LOWEST + 1000, _ephemeral_start()) - 1
    for _ in range(1000):
        port = random.randint(_LOWEST, highest)
        if port not in _handed_out and _is_free(port):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free loopback port between {_LOWEST} and {highest}")
