"""The NiceGUI pages (SPEC §6): thin layers over the services, never over the REST API."""

from __future__ import annotations

from fastapi import FastAPI
from nicegui import ui

from ..services import Services


def install_ui(app: FastAPI, services: Services) -> None:
    """Pages, static assets and the sign-in middleware on NiceGUI's `app`. Call before
    `ui.run`, which adds the session middleware outside these (they need the session)."""
    from ..middleware import BodyLimits
    from . import auth, from_outside, main_page
    from .theme import ASSETS_URL, assets_dir

    # Quasar gives every q-item role="listitem"; inside a q-menu (role="menu") assistive
    # technology needs "menuitem" (axe: aria-required-children, critical).
    ui.menu_item.default_props("role=menuitem")
    access = auth.Access(services)
    app.add_static_files(ASSETS_URL, assets_dir())
    # Innermost, so the app reads a body straight through its counter (a BaseHTTPMiddleware in
    # between would wrap its 413 in an exception group); nothing outside it reads bodies.
    app.add_middleware(BodyLimits, authorize=access.may_send_body)
    app.add_middleware(auth.AuthMiddleware, access=access)
    auth.register(services)
    main_page.register(services)
    from_outside.register()
