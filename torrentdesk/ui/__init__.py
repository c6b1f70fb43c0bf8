"""The NiceGUI pages (SPEC §6): thin layers over the services, never over the REST API."""

from __future__ import annotations

from fastapi import FastAPI

from ..services import Services


def install_ui(app: FastAPI, services: Services) -> None:
    """Pages, static assets and the sign-in middleware on NiceGUI's `app`. Call before
    `ui.run`, which adds the session middleware outside this one (it needs the session)."""
    from . import auth, main_page
    from .theme import ASSETS_URL, assets_dir

    app.add_static_files(ASSETS_URL, assets_dir())
    app.add_middleware(auth.AuthMiddleware, services=services)
    auth.register(services)
    main_page.register(services)
