"""Who the client is behind a reverse proxy: `X-Forwarded-For` and `-Proto`, from trusted proxies only.

Anyone can send `X-Forwarded-For`; believed from anywhere, it lets a client pick
a fresh address for every sign-in attempt and walk past the per-address limit.
So the headers count only when the peer is one of `trusted_proxies`, and then
the client is the rightmost address in `X-Forwarded-For` that is not itself a
trusted proxy: entries to its left were written by the client and prove
nothing. `X-Forwarded-Proto` from a trusted proxy sets the scheme, which the
origin check compares (a TLS proxy in front of plain HTTP).

This runs in the app, not in uvicorn, so the one setting governs every way the
API is served (`maskwatch api`, the in-process stack) and the tests; both start
uvicorn with its own forwarded-header handling off.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP in an `X-Forwarded-For` entry (`203.0.113.7`, `203.0.113.7:4711`, `[2001:db8::1]:4711`)."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else value
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


class TrustedProxies:
    def __init__(self, app: ASGIApp, proxies: Sequence[str]) -> None:
        self.app = app
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(p, strict=False) for p in proxies)

    def trusted(self, host: str | None) -> bool:
        address = _address(host) if host else None
        if address is None:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client")
        if scope["type"] in ("http", "websocket") and peer and self.trusted(peer[0]):
            forwarded: list[str] = []
            proto: str | None = None
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    forwarded += value.decode("latin-1").split(",")
                elif name == b"x-forwarded-proto":
                    proto = value.decode("latin-1").strip().lower()
            client = self.client(forwarded)
            if client is not None:
                scope["client"] = (client, 0)
            if proto in ("http", "https") and scope["type"] == "http":
                scope["scheme"] = proto
        await self.app(scope, receive, send)

    def client(self, forwarded: list[str]) -> str | None:
        """The rightmost hop that is not a trusted proxy (the leftmost if all are); None if there are none
        or the one found is not an address."""
        hops = [hop.strip() for hop in forwarded if hop.strip()]
        for hop in reversed(hops):
            if not self.trusted(hop):
                address = _address(hop)
                return str(address) if address is not None else None
        if hops:
            address = _address(hops[0])
            return str(address) if address is not None else None
        return None
