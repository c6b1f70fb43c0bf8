"""Web sign-in (SPEC §8): a session in `app.storage.user`, the login page, and a middleware that
keeps every page but the login page behind it.

The REST API keeps its own bearer-token auth: its routes pass through here untouched.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse
from nicegui import Client, app, run, ui
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.routing import BaseRoute, Match

from .. import native
from ..api.docs import DOC_PAGES
from ..services import Services
from ..services.auth import InvalidCredentials, TooManyAttempts
from .theme import FAVICON, setup_page

LOGIN_PATH = "/login"
USER_ID = "user_id"
SESSION_STAMP = "session_stamp"
USERNAME = "username"
# Open without a session: the login page and what it loads, NiceGUI's own machinery (its
# static files and websocket; upload URLs there belong to a page that needed a session).
PUBLIC_PATHS = {
    LOGIN_PATH,
    f"{LOGIN_PATH}/favicon.ico",
    "/health",
    "/favicon.ico",
    native.SIGN_IN_PATH,  # checks its own per-launch key
}
PUBLIC_PREFIXES = ("/_nicegui/", "/assets/")
API_MODULE_PREFIX = "torrentdesk.api."


def current_user_id() -> int | None:
    value = app.storage.user.get(USER_ID)
    return value if isinstance(value, int) else None


async def start_session(services: Services, user) -> None:
    """Sign `user` in on this browser (or window)."""
    stamp = await run.io_bound(services.users.session_stamp, user.id)
    app.storage.user.update({USER_ID: user.id, USERNAME: user.username, SESSION_STAMP: stamp})


def sign_out() -> None:
    app.storage.user.clear()
    ui.navigate.to(LOGIN_PATH)


def safe_target(target: str | None) -> str:
    """Only a path on this site, never another host (`//evil`, `/\\evil`) nor the login page."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if target == LOGIN_PATH or target.startswith(LOGIN_PATH + "?"):
        return "/"
    if re.search(r"[\x00-\x1f\x7f]", target):
        return "/"
    return target


class AuthMiddleware(BaseHTTPMiddleware):
    """Pages (the API docs too) without a session go to the login page; anything else not
    public (e.g. /openapi.json) needs a session or a valid bearer token, else 401. API routes
    check their token themselves."""

    def __init__(self, app, services: Services) -> None:
        super().__init__(app)
        self._services = services

    async def dispatch(self, request: Request, call_next):
        path = request.url.path
        if (
            await self._has_session(path)
            or path in PUBLIC_PATHS
            or path.startswith(PUBLIC_PREFIXES)
            or _is_api_route(request)
            or await self._has_valid_token(request)
        ):
            return await call_next(request)
        if path in Client.page_routes.values() or path in DOC_PAGES:
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{LOGIN_PATH}?redirect_to={quote(target, safe='')}")
        return JSONResponse({"detail": "sign in first"}, status_code=401)

    async def _has_session(self, path: str) -> bool:
        user_id = current_user_id()
        if user_id is None:
            return False
        if path.startswith(PUBLIC_PREFIXES):
            return True  # static files and the websocket: the page load was checked
        # A deleted user, or a changed password, ends the session at the next page load.
        stamp = await run.io_bound(self._services.users.session_stamp, user_id)
        if stamp is None or stamp != app.storage.user.get(SESSION_STAMP):
            app.storage.user.clear()
            return False
        return True

    async def _has_valid_token(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        return await run.io_bound(self._services.auth.user_for_token, token) is not None


def _is_api_route(request: Request) -> bool:
    """Whether the request goes to a REST API route (matched as the app would route it)."""
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            return _is_api(route)
    return False


def _is_api(route: BaseRoute) -> bool:
    # FastAPI keeps an included router as one route: look at the routes inside it.
    router = getattr(route, "original_router", None)
    routes = router.routes if router is not None else [route]
    # Only documented routes check a token: the docs' own (/docs, /openapi.json) do not.
    return any(
        getattr(r, "include_in_schema", False)
        and getattr(getattr(r, "endpoint", None), "__module__", "").startswith(API_MODULE_PREFIX)
        for r in routes
    )


def register(services: Services) -> None:
    @ui.page(LOGIN_PATH, title="Sign in · torrentdesk", favicon=FAVICON)
    def login_page(request: Request, redirect_to: str = "/") -> RedirectResponse | None:
        target = safe_target(redirect_to)
        if current_user_id() is not None:
            return RedirectResponse(target)
        address = request.client.host if request.client else "unknown"
        setup_page()

        async def submit() -> None:
            message.set_text("")
            if not username.value or not password.value:
                message.set_text("enter your username and password")
                return
            button.props("loading")
            try:
                user = await run.io_bound(
                    services.auth.sign_in, username.value.strip(), password.value, address
                )
            except (InvalidCredentials, TooManyAttempts) as exc:
                message.set_text(str(exc))
                password.value = ""
                return
            finally:
                button.props(remove="loading")
            await start_session(services, user)
            ui.navigate.to(target)

        with ui.column().classes("td-login absolute-center items-stretch"):
            with ui.row().classes("items-center gap-3 td-login-brand"):
                ui.image(FAVICON).classes("w-10 h-10")
                ui.label("torrentdesk").classes("text-2xl font-semibold")
            with ui.card().classes("td-login-card items-stretch"):
                ui.label("Sign in").classes("text-lg font-medium")
                username = (
                    ui.input("Username")
                    .props("outlined dense autofocus autocomplete=username")
                    .mark("login-username")
                )
                password = (
                    ui.input("Password", password=True, password_toggle_button=True)
                    .props("outlined dense autocomplete=current-password")
                    .mark("login-password")
                    .on("keydown.enter", submit)
                )
                username.on("keydown.enter", lambda: password.run_method("focus"))
                message = ui.label("").classes("td-login-error").mark("login-error")
                button = (
                    ui.button("Sign in", on_click=submit).props("unelevated").mark("login-submit")
                )
        return None


def register_native_sign_in(services: Services, launch_key: native.LaunchKey) -> None:
    """The native window's way in: its URL carries this launch's key, good once."""

    @app.get(native.SIGN_IN_PATH, include_in_schema=False)
    async def native_sign_in(key: str = "") -> RedirectResponse:
        owner = await run.io_bound(services.users.owner)
        if owner is None or not launch_key.spend(key):
            return RedirectResponse(LOGIN_PATH)
        await start_session(services, owner)
        print(f"torrentdesk: the window is signed in as {owner.username}", flush=True)
        return RedirectResponse("/")
