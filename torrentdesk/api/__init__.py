"""The REST API (SPEC §5): thin FastAPI routers over the services."""

from __future__ import annotations

from fastapi import FastAPI

from ..services import Services
from . import actions, admin, auth, local, rules, servers, torrents, transfers, views
from .docs import install_docs
from .errors import install_error_handlers


def install_api(app: FastAPI, services: Services) -> None:
    """Serve the API and its docs on `app`: NiceGUI's FastAPI app, or in tests a bare one made
    without FastAPI's own docs (`docs_url=None, redoc_url=None, openapi_url=None`)."""
    app.state.services = services
    modules = (auth, servers, torrents, actions, rules, transfers, views, local, admin)
    routers = [module.router for module in modules]
    for router in routers:
        app.include_router(router)
    install_docs(app, routers)
    install_error_handlers(app)
