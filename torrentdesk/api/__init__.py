"""The REST API (SPEC §5): thin FastAPI routers over the services."""

from __future__ import annotations

from fastapi import FastAPI

from ..services import Services
from . import actions, auth, servers, torrents
from .errors import install_error_handlers


def install_api(app: FastAPI, services: Services) -> None:
    """Serve the API on `app` (NiceGUI's FastAPI app, or a bare one in tests)."""
    app.state.services = services
    for module in (auth, servers, torrents, actions):
        app.include_router(module.router)
    install_error_handlers(app)
