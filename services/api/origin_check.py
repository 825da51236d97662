"""Cross-site request forgery: changes made with the session cookie must come from our own pages.

A browser attaches the session cookie to any request for this server, whoever's
page sends it. SameSite=Lax keeps it off cross-site POSTs, but not off requests
from a sibling subdomain (same site, another origin) or from old browsers, so a
`POST`, `PUT`, `PATCH` or `DELETE` that the cookie would authenticate must say,
in `Origin` (or, without one, `Referer`), that it comes from the API's own
origin (the request's scheme and `Host`), the OpenID Connect redirect URI's, or
one of `allowed_origins`; otherwise it is refused with 403 before any route
runs. Browsers send `Origin` on every such request and pages cannot forge it.

Requests with `Authorization: Bearer` are left alone: the token authenticates
them, not the cookie, and no page can make a browser add that header to
another origin. Other requests without the cookie carry no session to abuse,
but a foreign `Origin` is still refused, which keeps other sites from signing
a browser in to an account of theirs (login CSRF).
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.config import canonical_origin
from services.api.problems import problem_response

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def own_origin(scope: Scope, headers: Headers) -> str | None:
    """The origin this request was sent to: its scheme (after trusted proxies) and `Host`."""
    host = headers.get("host")
    if host is None and scope.get("server"):
        server_host, server_port = scope["server"]
        host = f"{server_host}:{server_port}" if server_port else server_host
    return canonical_origin(f"{scope.get('scheme', 'http')}://{host}") if host else None


class OriginCheck:
    def __init__(self, app: ASGIApp, *, session_cookie: str, allowed_origins: Iterable[str]) -> None:
        self.app = app
        self.session_cookie = session_cookie
        self.allowed = frozenset(o for o in (canonical_origin(a) for a in allowed_origins) if o)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scheme, token = get_authorization_scheme_param(headers.get("authorization"))
        if scheme.lower() == "bearer" and token:
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope, headers)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        response = problem_response(Request(scope), 403, "cross-origin", refusal)
        await response(scope, receive, send)

    def refusal(self, scope: Scope, headers: Headers) -> str | None:
        """Why this unsafe request is refused, or None when it may go on."""
        if "origin" in headers:
            claimed, sent = canonical_origin(headers["origin"]), f"Origin {headers['origin']!r}"
        elif "referer" in headers:
            claimed = canonical_origin(headers["referer"], path_allowed=True)
            sent = f"Referer {headers['referer']!r}"
        elif self.session_cookie in Request(scope).cookies:
            return "a change made with the session cookie must carry an Origin header"
        else:
            return None
        own = own_origin(scope, headers)
        if claimed is not None and (claimed == own or claimed in self.allowed):
            return None
        return (
            f"cross-origin request refused: {sent} is neither this server ({own or 'unknown'}) "
            "nor one of MASKWATCH_API__ALLOWED_ORIGINS"
        )
