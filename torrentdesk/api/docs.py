"""The API's own documentation: the OpenAPI schema, Swagger UI at /docs and ReDoc at /redoc.

Their scripts and styles come from the installed `fastapi-offline` package, never from a CDN, so
the docs work on a LAN without internet. The schema lists the REST API only: no pages, static
files or NiceGUI internals.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__

TITLE = "torrentdesk"
DESCRIPTION = (
    "Manage many rTorrent, Transmission and qBittorrent servers from one app. Sign in with "
    "`POST /auth/token`, then send the token as `Authorization: Bearer <token>` "
    "(in Swagger UI at /docs: the **Authorize** button)."
)
OPENAPI_URL = "/openapi.json"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
# Pages a browser opens: without a session it is sent to the login page (SPEC §9).
DOC_PAGES = (DOCS_URL, REDOC_URL)
DOCS_ASSETS_URL = "/docs-assets"
# The app's own icon (NiceGUI serves it in the app; the bare API app of the tests has none).
FAVICON_URL = "/favicon.ico"


def docs_assets_dir() -> Path:
    """Swagger UI's and ReDoc's files as `fastapi-offline` ships them (in the PyInstaller
    bundle too: torrentdesk.spec collects its data files)."""
    return Path(fastapi_offline.__file__).resolve().parent / "static"


def install_docs(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Serve the schema of `routers` and the docs pages on `app`, made without FastAPI's own
    docs (NiceGUI's app is; `ui.run` must not be given `fastapi_docs`)."""
    if app.docs_url or app.redoc_url or app.openapi_url:
        raise ValueError(
            "make the app with docs_url=None, redoc_url=None, openapi_url=None: FastAPI's own "
            "docs load from a CDN and would hide these"
        )
    routes = [route for router in routers for route in router.routes]
    app.title = TITLE
    app.version = __version__

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(
                title=TITLE, version=__version__, description=DESCRIPTION, routes=routes
            )
        return app.openapi_schema

    app.openapi = openapi
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=docs_assets_dir()), name="docs-assets")

    @app.get(OPENAPI_URL, include_in_schema=False)
    def openapi_json() -> JSONResponse:
        return JSONResponse(openapi())

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = _root_path(request)
        return get_swagger_ui_html(
            openapi_url=root + OPENAPI_URL,
            title=f"{TITLE} API · Swagger UI",
            swagger_js_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=root + FAVICON_URL,
        )

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = _root_path(request)
        page = get_redoc_html(
            openapi_url=root + OPENAPI_URL,
            title=f"{TITLE} API · ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=root + FAVICON_URL,
            with_google_fonts=False,
        )
        # ReDoc fetches its maker's logo from its CDN (and drops it when that fails): not at all.
        page.headers["Content-Security-Policy"] = "img-src 'self' data:"
        return page


def _root_path(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")
