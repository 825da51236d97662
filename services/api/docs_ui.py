"""`/docs` (Swagger UI) and `/redoc` (ReDoc) from files in an installed package, so they work on a
venue's network without the internet: FastAPI's default pages load their scripts and styles from a CDN.

The files come from the `fastapi-offline` package, whose Swagger UI (5.x) renders the OpenAPI 3.1 spec
FastAPI writes; only the files are used, the app itself is a plain FastAPI one. Both pages carry a
Content-Security-Policy that keeps the browser on this server: ReDoc's sidebar otherwise fetches its
maker's logo from the internet, and Swagger UI would send the spec's address to an online validator.
"""

from __future__ import annotations

import hashlib
import re
from base64 import b64encode
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"

# Both renderers set inline styles; ReDoc runs its search in a worker made from a blob: URL.
POLICY = (
    "default-src 'self'; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def docs_assets_folder() -> Path:
    """The folder of Swagger UI's and ReDoc's files that the `fastapi-offline` package ships (found by
    name, not imported: only its files are needed)."""
    return Path(str(files("fastapi_offline") / "static"))


def confined(page: HTMLResponse) -> HTMLResponse:
    """The page with a policy allowing files from this server and the page's own inline scripts only."""
    hashes = [
        b64encode(hashlib.sha256(script).digest()).decode() for script in INLINE_SCRIPT.findall(page.body)
    ]
    page.headers["Content-Security-Policy"] = POLICY.format(scripts="".join(f" 'sha256-{h}'" for h in hashes))
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page


def mount_docs(app: FastAPI) -> None:
    """Serve Swagger UI at `/docs` and ReDoc at `/redoc`, their files under `/docs/assets` (create the
    app with docs_url=None and redoc_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=docs_assets_folder()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return confined(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} - documentation",
                swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS}/favicon.png",
                swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
            )
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return confined(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS}/favicon.png",
                with_google_fonts=False,
            )
        )
