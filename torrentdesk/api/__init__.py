"""The REST API (SPEC §5): thin FastAPI routers over the services."""

from __future__ import annotations

from fastapi import FastAPI

from ..services import Services
from . import actions, admin, auth, away, local, rules, servers, torrents, transfers, views
from .docs import install_docs
from .errors import install_error_handlers


def install_api(app: FastAPI, services: Services) -> None:
    """Serve the API and its docs on `app`: NiceGUI's FastAPI app, or in tests a bare one made
    without FastAPI's own docs (`docs_url=None, redoc_url=None, openapi_url=None`)."""
    app.state.services = services
    modules = (auth, servers, torrents, actions, rules, transfers, away, views, local, admin)
    routers = [module.router for module in modules]
    # Our routers have no lifespan, yet each include wraps the app's in one more layer; the UI
    # tests mount the same NiceGUI app once per test, and ten layers a test overflowed the stack
    # after ~100 tests. The app's own lifespan is all there is to keep.
    lifespan = app.router.lifespan_context
    for router in routers:
        app.include_router(router)
    app.router.lifespan_context = lifespan
    install_docs(app, routers)
    install_error_handlers(app)
