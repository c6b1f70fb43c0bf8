"""Web sign-in (SPEC §8, §14): a session in `app.storage.user`, renewed at every sign-in and
sign-out; the login page; and a middleware that keeps every page but the login page behind it.

The REST API keeps its own bearer-token auth: its routes pass through here untouched, except
that a request with a body shows its token before the body is read (`Access.may_send_body`).
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse
from nicegui import Client, app, ui
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from .. import native
from ..api.docs import DOC_PAGES
from ..services import Services
from ..services.auth import InvalidCredentials, TooManyAttempts
from .theme import DARK_KEY, FAVICON, setup_page
from .threads import io_bound

LOGIN_PATH = "/login"
RENEW_PATH = "/login/session"
USER_ID = "user_id"
SESSION_STAMP = "session_stamp"
USERNAME = "username"
# Starlette's SessionMiddleware, which NiceGUI adds for `app.storage.user` (ui.run's
# `session_middleware_kwargs`): a cookie name of our own, HttpOnly (always) and SameSite=Lax;
# `Secure` is added under https (middleware.SecureCookies).
SESSION_COOKIE = "torrentdesk_session"
SESSION_OPTIONS = {"session_cookie": SESSION_COOKIE, "same_site": "lax"}
SESSION_ID = "id"  # NiceGUI keys `app.storage.user` on this entry of the session cookie
RENEWAL_SECONDS = 60.0
CARRIED = (DARK_KEY,)  # what the session before sign-in hands on to the fresh one
# Open without a session: the login page and what it loads, NiceGUI's own machinery (its
# static files and websocket; upload URLs there belong to a page that needed a session).
PUBLIC_PATHS = {
    LOGIN_PATH,
    f"{LOGIN_PATH}/favicon.ico",
    "/health",
    "/favicon.ico",
    native.SIGN_IN_PATH,  # checks its own per-launch key
    RENEW_PATH,  # checks its own one-time ticket
}
PUBLIC_PREFIXES = ("/_nicegui/", "/assets/")
# May send a body with neither session nor token: signing in, and NiceGUI's socket.io (its
# long-polling fallback posts), which the login page needs. Uploads under /_nicegui/ need a session.
BODY_PUBLIC_PATHS = {"/auth/token"}
BODY_PUBLIC_PREFIXES = ("/_nicegui_ws/",)
API_MODULE_PREFIX = "torrentdesk.api."


def current_user_id() -> int | None:
    value = app.storage.user.get(USER_ID)
    return value if isinstance(value, int) else None


async def session_of(services: Services, user) -> dict:
    """What a session signed in as `user` holds."""
    stamp = await io_bound(services.users.session_stamp, user.id)
    return {USER_ID: user.id, USERNAME: user.username, SESSION_STAMP: stamp}


def sign_out() -> None:
    """End the session: its storage is emptied (here, and again by the renewal), so its cookie
    signs nobody in any more; the login page then opens in a fresh session."""
    app.storage.user.clear()
    ui.navigate.to(renewals().ticket({}, LOGIN_PATH))


@dataclass(frozen=True, slots=True)
class _Ticket:
    session_id: str  # the session whose page asked: the only one that may spend it
    data: dict
    target: str
    expires: float


class SessionRenewals:
    """A fresh session id at every sign-in and sign-out: a session cookie planted in a browser
    before its owner signs in (session fixation) is never the signed-in one.

    NiceGUI keys `app.storage.user` on the id in the session cookie, and the login form works
    over its page's websocket, where no cookie can be set. So the form hands its page a one-time
    ticket (bound to the page's session, good for `RENEWAL_SECONDS`); the page loads
    `RENEW_PATH` with it, whose answer carries a new id in a new cookie, and the new id's storage
    is filled at its first request, once NiceGUI has made it (`claim`). The native window's
    sign-in, a plain request, renews directly.
    """

    def __init__(self) -> None:
        self._tickets: dict[str, _Ticket] = {}
        self._fresh: dict[str, tuple[float, dict]] = {}

    def ticket(self, data: dict, target: str) -> str:
        """The URL that gives this page's browser a fresh session holding `data`, then opens
        `target`."""
        self._prune()
        ticket = secrets.token_urlsafe(32)
        session_id = ui.context.client.request.session.get(SESSION_ID, "")
        expires = time.monotonic() + RENEWAL_SECONDS
        self._tickets[ticket] = _Ticket(session_id, data, target, expires)
        return f"{RENEW_PATH}?ticket={ticket}"

    def spend(self, ticket: str, request: Request) -> str | None:
        """Renew this browser's session as the ticket says; its target, or None when the ticket
        is unknown, spent, expired or another session's."""
        issued = self._tickets.pop(ticket, None)
        if issued is None or issued.expires < time.monotonic():
            return None
        if request.session.get(SESSION_ID) != issued.session_id:
            return None
        self.renew(request, issued.data)
        return issued.target

    def renew(self, request: Request, data: dict) -> None:
        """Give this browser a new session id (the answer sets it); `data` fills its storage.
        The session it had is emptied: it signs nobody in any more."""
        self._prune()
        app.storage.user.clear()
        fresh = str(uuid.uuid4())  # as NiceGUI makes them: it names the storage file
        request.session[SESSION_ID] = fresh
        if data:
            self._fresh[fresh] = (time.monotonic() + RENEWAL_SECONDS, data)

    def claim(self, session_id: str | None) -> dict | None:
        """What a renewed session starts with, at its first request; None after that."""
        expires, data = self._fresh.pop(session_id or "", (0.0, None))
        return data if expires >= time.monotonic() else None

    def _prune(self) -> None:
        now = time.monotonic()
        self._tickets = {k: t for k, t in self._tickets.items() if t.expires >= now}
        self._fresh = {k: f for k, f in self._fresh.items() if f[0] >= now}


def renewals() -> SessionRenewals:
    """The app's one SessionRenewals, kept on the app (made by `register`): NiceGUI's tests
    import this module anew for each test while other modules keep the old one's functions."""
    return app.state.session_renewals


def safe_target(target: str | None) -> str:
    """Only a path on this site, never another host (`//evil`, `/\\evil`) nor the login page."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if target == LOGIN_PATH or target.startswith(LOGIN_PATH + "?"):
        return "/"
    if re.search(r"[\x00-\x1f\x7f]", target):
        return "/"
    return target


class Access:
    """Who a request comes from: a signed-in session, or a valid bearer token."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def has_session(self, request: Request) -> bool:
        if fresh := renewals().claim(request.session.get(SESSION_ID)):
            app.storage.user.update(fresh)
        user_id = current_user_id()
        if user_id is None:
            return False
        if request.url.path.startswith(PUBLIC_PREFIXES):
            return True  # static files and the websocket: the page load was checked
        # A deleted user, or a changed password, ends the session at the next page load.
        stamp = await io_bound(self._services.users.session_stamp, user_id)
        if stamp is None or stamp != app.storage.user.get(SESSION_STAMP):
            app.storage.user.clear()
            return False
        return True

    async def has_valid_token(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        return await io_bound(self._services.auth.user_for_token, token) is not None

    async def may_send_body(self, scope: Scope) -> bool:
        """Asked by middleware.BodyLimits before a body is read: the API's routes need a valid
        token, anything else but signing in and NiceGUI's socket.io a session or a token."""
        request = Request(scope)
        path = request.url.path
        if path in BODY_PUBLIC_PATHS or path.startswith(BODY_PUBLIC_PREFIXES):
            return True
        if _is_api_route(request):
            return await self.has_valid_token(request)
        return await self.has_session(request) or await self.has_valid_token(request)


class AuthMiddleware(BaseHTTPMiddleware):
    """Pages (the API docs too) without a session go to the login page; anything else not
    public (e.g. /openapi.json) needs a session or a valid bearer token, else 401. API routes
    check their token themselves."""

    def __init__(self, app, access: Access) -> None:
        super().__init__(app)
        self._access = access

    async def dispatch(self, request: Request, call_next):
        path = request.url.path
        if (
            await self._access.has_session(request)
            or path in PUBLIC_PATHS
            or path.startswith(PUBLIC_PREFIXES)
            or _is_api_route(request)
            or await self._access.has_valid_token(request)
        ):
            return await call_next(request)
        if path in Client.page_routes.values() or path in DOC_PAGES:
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{LOGIN_PATH}?redirect_to={quote(target, safe='')}")
        return JSONResponse({"detail": "sign in first"}, status_code=401)


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
    app.state.session_renewals = SessionRenewals()

    @app.get(RENEW_PATH, include_in_schema=False)
    async def renew_session(request: Request, ticket: str = "") -> RedirectResponse:
        target = renewals().spend(ticket, request)
        return RedirectResponse(target or LOGIN_PATH, status_code=303)

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
                user = await io_bound(
                    services.auth.sign_in, username.value.strip(), password.value, address
                )
            except (InvalidCredentials, TooManyAttempts) as exc:
                message.set_text(str(exc))
                password.value = ""
                return
            finally:
                button.props(remove="loading")
            session = await session_of(services, user)
            session |= {key: app.storage.user[key] for key in CARRIED if key in app.storage.user}
            ui.navigate.to(renewals().ticket(session, target))

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
    async def native_sign_in(request: Request, key: str = "") -> RedirectResponse:
        owner = await io_bound(services.users.owner)
        if owner is None or not launch_key.spend(key):
            return RedirectResponse(LOGIN_PATH)
        renewals().renew(request, await session_of(services, owner))
        print(f"torrentdesk: the window is signed in as {owner.username}", flush=True)
        return RedirectResponse("/")
