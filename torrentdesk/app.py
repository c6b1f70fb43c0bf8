"""Start the app: open the data, build the services, serve the API (and UI) with NiceGUI."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence

from . import native
from .config import Settings, ensure_data_dir
from .db import open_database
from .middleware import HostPolicy
from .runfile import LocalControl, local_url
from .services import Services, build_services
from .services.secrets import SecretStore

NICEGUI_STORAGE_DIR = "nicegui"
DEFAULT_PORT = 8080


def prepare(settings: Settings) -> tuple[Services, SecretStore]:
    """Everything the served app needs, created before NiceGUI starts."""
    ensure_data_dir(settings)
    # NiceGUI reads its storage path when first imported: keep it in the data dir, never in
    # the working directory.
    os.environ["NICEGUI_STORAGE_PATH"] = str(settings.data_dir / NICEGUI_STORAGE_DIR)
    secrets = SecretStore(settings.data_dir)
    services = build_services(open_database(settings.db_url), secrets)
    password = services.users.ensure_initial_admin()
    if password is not None:
        print(
            f"torrentdesk: created the first user 'admin' with password: {password}\n"
            "torrentdesk: it is shown only this once; change it with "
            "'torrentdesk user passwd admin'",
            flush=True,
        )
    return services, secrets


def mount(app, services: Services, hosts: HostPolicy) -> None:
    """Everything served on NiceGUI's `app`: the API, the pages, the background polls, and
    what guards them (`hosts`: the names it answers to, the pages that may use it). Shared
    with tests/ui_main.py so the tests run the same wiring; `ui.run` takes `SESSION_OPTIONS`
    (the session cookie) in both."""
    from nicegui import core

    from .api import install_api
    from .middleware import RequestGuard, SecureCookies, outermost, socketio_origin_check
    from .ui import install_ui

    install_api(app, services)
    install_ui(app, services)  # with the body limits, which need the session
    outermost(app, lambda inner: RequestGuard(inner, hosts), SecureCookies)
    # NiceGUI makes its socket.io server with cors_allowed_origins='*': only our own pages.
    core.sio.eio.cors_allowed_origins = socketio_origin_check(hosts)
    app.on_startup(services.start)
    app.on_shutdown(services.stop)


def serve(
    settings: Settings,
    host: str,
    port: int | None,
    open_browser: bool,
    native_window: bool = False,
    allowed_hosts: Sequence[str] = (),
    trusted_proxies: Sequence[str] = (),
) -> None:
    """Serve until stopped: to browsers, or behind a native window that signs its owner in.
    `allowed_hosts`: more names browsers may reach it by; `trusted_proxies`: the addresses
    whose X-Forwarded-* headers are believed (none: they are ignored)."""
    services, secrets = prepare(settings)
    from nicegui import app, ui
    from nicegui.native import find_open_port
    from starlette.middleware.gzip import GZipMiddleware

    from .ui.auth import SESSION_OPTIONS, register_native_sign_in
    from .ui.theme import FAVICON

    mount(app, services, HostPolicy.serving(host, allowed_hosts))
    window: dict = {}
    if native_window:
        port = port or find_open_port()
        key = native.LaunchKey()
        register_native_sign_in(services, key)
        app.native.window_args["url"] = (
            f"http://127.0.0.1:{port}{native.SIGN_IN_PATH}?{key.url_query}"
        )
        window = {"native": True, "window_size": native.WINDOW_SIZE}
        if backend := native.gui_backend():
            app.native.start_args["gui"] = backend
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # Qt WebEngine's Chromium refuses to start as root unless its sandbox is off.
            os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
        print(f"torrentdesk: opening the window on http://127.0.0.1:{port}", flush=True)
    else:
        port = port or DEFAULT_PORT
        print(f"torrentdesk: serving on http://{host}:{port} (API docs at /docs)", flush=True)
    # `torrentdesk add` finds this run here (its URL and a key for a local token).
    control = LocalControl(settings.data_dir)
    app.state.local_control = control
    app.on_startup(lambda: control.write(local_url(host, port)))
    app.on_shutdown(control.remove)
    # Uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal: make both
    # end as Ctrl+C does, so a service manager sees a clean exit.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        ui.run(
            host=host,
            port=port,
            title="torrentdesk",
            show=open_browser and not native_window,
            reload=False,
            storage_secret=secrets.session_secret,
            session_middleware_kwargs=SESSION_OPTIONS,
            # No `fastapi_docs`: the API serves its own docs, offline (api/docs.py).
            show_welcome_message=False,
            favicon=FAVICON,
            # Level 6 instead of Starlette's 9: half the CPU for a 10 000-row GET /torrents
            # (79 -> 39 ms) for 2.5 % more bytes.
            gzip_middleware_factory=lambda asgi: GZipMiddleware(asgi, compresslevel=6),
            # Forwarded headers only from a proxy named on the command line: uvicorn would
            # otherwise believe any loopback process that sends them.
            proxy_headers=bool(trusted_proxies),
            forwarded_allow_ips=list(trusted_proxies),
            **window,
        )
