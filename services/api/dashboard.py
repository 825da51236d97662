"""The web console's built files, served by the API at `/` (a single-page app: docs/dashboard.md).

The console is the router's fallback rather than a route: it only sees requests that no API route
matched, so an unknown `/api` path still answers the API's 404 problem, and a known path called with
the wrong method its 405. A GET for any other path that is not a file answers `index.html`, so
`/alerts/42` (the address notification messages link to) opens the console, whose own router shows the
page. A missing file under `/assets/` is a 404: those names carry a content hash, so a page asking for
one that is gone is out of date, and HTML in place of its script would only hide that.

Without a build (`npm` was not there at `make setup`) the console's addresses answer a short page
saying how to build it; the API works the same either way.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "dashboard" / "dist"
"""Where `npm run build` in the repository's `dashboard/` puts the console."""

RESERVED_PREFIXES = ("/api", "/docs", "/redoc", "/openapi.json", "/metrics")
"""Paths that belong to the API: never answered with the console, even when nothing matched them."""

HASHED_ASSETS = "/assets/"
"""Vite's output folder for files whose names carry a content hash: cached for good."""

MEDIA_TYPES = {".webmanifest": "application/manifest+json"}
"""Types Python's `mimetypes` may not know; a phone reads the manifest only when it is typed as one."""

SERVICE_WORKER = "/sw.js"
"""The push service worker: at the root so that it controls every page, and never served from a cache,
since browsers look for a new one only by fetching this file again."""

NOT_BUILT = """\
The Maskwatch web console is not built.

Build it with `make setup` (needs Node.js 20.19+ and npm), or by hand:

    cd dashboard && npm ci && npm run build

The API itself is running: see /api/v1/ and its documentation at /docs.
"""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Mantine and Recharts set inline styles; every script is a file of the build.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
}


def is_reserved(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in RESERVED_PREFIXES)


class ConsoleFiles:
    """An ASGI app serving the console from `directory`, handing what is not its own to `fallback`."""

    def __init__(self, directory: Path, fallback: ASGIApp) -> None:
        self.directory = directory
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "/")
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or is_reserved(path):
            await self.fallback(scope, receive, send)
            return
        response = self.response_for(path)
        if response is None:
            await self.fallback(scope, receive, send)
            return
        await response(scope, receive, send)

    def response_for(self, path: str) -> Response | None:
        """The file at `path`, `index.html` for the console's own addresses, or None (a 404)."""
        root = self.directory.resolve()
        index = root / "index.html"
        if not index.is_file():
            return PlainTextResponse(NOT_BUILT, status_code=404, headers={"Cache-Control": "no-store"})
        found = self._file(root, path)
        if found is not None:
            hashed = path.startswith(HASHED_ASSETS)
            cache = "public, max-age=31536000, immutable" if hashed else "no-cache"
            if path == SERVICE_WORKER:
                cache = "no-cache, max-age=0"
            return FileResponse(
                found,
                media_type=MEDIA_TYPES.get(found.suffix),
                headers={"Cache-Control": cache, **SECURITY_HEADERS},
            )
        if path.startswith(HASHED_ASSETS):
            return None
        # The page changes with every build: revalidated each time, so a new build is picked up at once.
        return FileResponse(
            index, media_type="text/html", headers={"Cache-Control": "no-cache", **SECURITY_HEADERS}
        )

    @staticmethod
    def _file(root: Path, path: str) -> Path | None:
        """The file `path` names inside `root`; None for a folder, a missing file or a way out of it."""
        relative = path.lstrip("/")
        if not relative or "\x00" in relative:
            return None
        try:
            candidate = (root / relative).resolve()
        except (OSError, ValueError):
            return None
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate


def mount_dashboard(app: FastAPI, directory: Path | None = None) -> None:
    """Serve the console from `directory` (default: the repository's `dashboard/dist`) for every
    request no route of `app` matched."""
    app.router.default = ConsoleFiles(directory or DEFAULT_DIRECTORY, app.router.default)
