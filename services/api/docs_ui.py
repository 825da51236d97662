"""`/docs` (Swagger UI) from files in an installed package, so it works on a venue's network without
the internet: FastAPI's default page loads its script and style from a CDN.

ReDoc has no packaged copy, so `/redoc` is not served; `/docs` and `/openapi.json` cover the same.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"


def swagger_ui_folder() -> Path:
    """The Swagger UI release the `swagger-ui-bundle` package ships (found by name, not imported: the
    package has no type information, and its folder name carries the release)."""
    vendor = Path(str(files("swagger_ui_bundle") / "vendor"))
    return max(vendor.glob("swagger-ui-*"))


def mount_docs(app: FastAPI) -> None:
    """Serve Swagger UI at `/docs` with its files under `/docs/assets` (create the app with docs_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_folder()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - documentation",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )
