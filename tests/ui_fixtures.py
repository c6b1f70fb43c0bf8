"""Fixtures for the UI tests (NiceGUI `user` fixture): a fresh data dir, database and services
per test, read by tests/ui_main.py; a spy on what pages send to AG Grid and the browser; and
helpers to sign in and wait for live updates.

List `ui_app` (or a fixture using it) before `user`: the main file runs when `user` starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from nicegui import Client, storage, ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from tests.api_fixtures import allow_loopback_servers, transmission_fields
from torrentdesk.db import open_database
from torrentdesk.services import Services, build_services
from torrentdesk.services.secrets import SecretStore
from torrentdesk.services.servers import ServerFields

UI_TIMEOUT = 2.0  # per-server timeout: a stopped daemon must not slow the tests
PASSWORD = "password-123"

current = SimpleNamespace(services=None)


ROWS_SCRIPT = "torrentdesk.rows("


def unpack_rows(packed: dict) -> list[dict]:
    """What `torrentdesk.unpack` (assets/torrentdesk.js) makes of `pack_rows`' output, in
    Python (tests/test_ui_payload.py checks the two agree under Node.js)."""
    servers, columns, lookups = packed["servers"], packed["columns"], packed["lookups"]
    fields = [f for f in columns if f != "server"]
    lists = {
        f: [lookups[f][i] for i in columns[f]] if f in lookups else columns[f] for f in fields
    }
    rows = []
    for i, s in enumerate(columns["server"]):
        server_id, server_name, server_type = servers[s]
        row = {"server_id": server_id, "server_name": server_name, "server_type": server_type}
        row |= {f: lists[f][i] for f in fields}
        row["id"] = f"{server_id}:{row['info_hash']}"
        rows.append(row)
    return rows


def grid_calls(code: str) -> tuple[int, str, tuple] | None:
    """A `torrentdesk.rows(grid, message)` script as the AG Grid call it makes in the browser:
    (grid id, "setGridOption" with "rowData" and the rows, or "applyTransaction" with
    add/update/remove), or None for any other script."""
    if not code.startswith(ROWS_SCRIPT):
        return None
    grid_id, _, data = code.removeprefix(ROWS_SCRIPT).removesuffix(")").partition(",")
    message = json.loads(data)
    if "load" in message:
        return int(grid_id), "setGridOption", ("rowData", unpack_rows(message["load"]))
    transaction: dict = {}
    for kind in ("add", "update"):
        if kind in message:
            transaction[kind] = unpack_rows(message[kind])
    if "remove" in message:
        transaction["remove"] = [{"id": row_id} for row_id in message["remove"]]
    return int(grid_id), "applyTransaction", (transaction,)


@dataclass
class GridSpy:
    """Every AG Grid method call and browser script the pages sent, in order."""

    calls: list[tuple[int, str, tuple]] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)

    def rows(self, grid: ui.aggrid) -> dict[str, dict]:
        """The rows the browser's grid holds: each fill (setGridOption rowData), then every
        transaction."""
        rows = {row["id"]: row for row in grid.options["rowData"]}
        for grid_id, name, args in self.calls:
            if grid_id != grid.id:
                continue
            if name == "setGridOption" and args[0] == "rowData":
                rows = {row["id"]: row for row in args[1]}
                continue
            if name != "applyTransaction":
                continue
            transaction = args[0]
            for row in transaction.get("add", []) + transaction.get("update", []):
                rows[row["id"]] = row
            for row in transaction.get("remove", []):
                rows.pop(row["id"], None)
        return rows

    def transactions(self, grid: ui.aggrid) -> list[dict]:
        return [a[0] for g, n, a in self.calls if g == grid.id and n == "applyTransaction"]

    def grid_options_set(self, grid: ui.aggrid, option: str) -> list:
        return [
            a[1]
            for g, n, a in self.calls
            if g == grid.id and n == "setGridOption" and a[0] == option
        ]


@dataclass
class UiApp:
    services: Services
    data_dir: object
    spy: GridSpy

    def add_user(self, username: str = "alice") -> int:
        return self.services.users.create(username, PASSWORD).id

    def add_server(self, user_id: int, **fields) -> str:
        return self.services.servers.create(user_id, ServerFields(**fields)).id


# Tries at least, for 5 s: `should_see` tries every 0.1 s, `should_not_see` every 0.05 s.
PATIENCE = {"should_see": 50, "should_not_see": 100}


@pytest.fixture(autouse=True)
def patient_user(monkeypatch) -> None:
    """`should_see` and `should_not_see` look for at least 5 s, not NiceGUI's 0.3 s (nor a
    test's own shorter count): under CI's load one daemon call can take longer than that.
    Either returns as soon as it holds."""
    for name, floor in PATIENCE.items():
        looks = getattr(User, name)

        async def patient(self, *args, retries: int = floor, _looks=looks, _floor=floor, **kw):
            await _looks(self, *args, retries=max(retries, _floor), **kw)

        monkeypatch.setattr(User, name, patient)


@pytest.fixture
def ui_app(tmp_path, monkeypatch) -> Iterator[UiApp]:
    data_dir = tmp_path / "data"
    services = build_services(
        open_database(f"sqlite:///{data_dir / 'torrentdesk.sqlite'}"),
        SecretStore(data_dir),
        timeout=UI_TIMEOUT,
    )
    services.live.fast_interval = 1.0  # the fastest the service allows: quicker tests
    allow_loopback_servers(services)
    spy = GridSpy()
    original_grid_method = ui.aggrid.run_grid_method
    original_javascript = Client.run_javascript

    def grid_method(self, name, *args, timeout: float = 1):
        spy.calls.append((self.id, name, args))
        return original_grid_method(self, name, *args, timeout=timeout)

    def javascript(self, code, *, timeout: float = 1.0):
        spy.scripts.append(code)
        if (call := grid_calls(code)) is not None:
            spy.calls.append(call)
        return original_javascript(self, code, timeout=timeout)

    monkeypatch.setattr(ui.aggrid, "run_grid_method", grid_method)
    monkeypatch.setattr(Client, "run_javascript", javascript)
    current.services = services
    yield UiApp(services, data_dir, spy)
    current.services = None
    services.close()


@pytest.fixture
def two_servers(ui_app, transmission_clean, rtorrent_clean):
    """alice with a Transmission and an rTorrent (SCGI) server."""
    user_id = ui_app.add_user("alice")
    d, r = transmission_clean, rtorrent_clean
    tr = ui_app.add_server(user_id, **transmission_fields(d, name="tr-box"))
    rt = ui_app.add_server(
        user_id,
        name="rt-box",
        server_type="rtorrent",
        protocol="scgi",
        host=r.host,
        port=r.scgi_port,
    )
    return user_id, tr, rt


async def sign_in(user: User, username: str = "alice", password: str = PASSWORD) -> None:
    await user.open("/login")
    user.find(marker="login-username").type(username)
    user.find(marker="login-password").type(password)
    user.find(marker="login-submit").click()
    await user.should_see(marker="torrent-grid", retries=50)
    # The user simulation runs event handlers in the test's own task, where `app.storage.user`
    # follows the last request that task made: the login page's. The real app runs them with
    # their page's request, and signing in gave the browser a fresh session (ui/auth.py): make
    # the handlers see the signed-in page's session, as a browser's events would.
    storage.request_contextvar.set(user.client.request)


def page_path(user: User) -> str:
    """The path (and query) of the page the user is on, after any redirects: sign-in and
    sign-out reach their page through a session renewal (ui/auth.py)."""
    url = user.client.request.url
    return url.path + (f"?{url.query}" if url.query else "")


async def eventually(predicate, timeout: float = 15.0, message: str = "condition"):
    """Await until `predicate()` is truthy (the event loop keeps running meanwhile)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with contextlib.suppress(AssertionError):
            value = predicate()
            if value:
                return value
        if loop.time() > deadline:
            raise AssertionError(f"{message} not met within {timeout}s")
        await asyncio.sleep(0.1)


def the_grid(user: User) -> ui.aggrid:
    [grid] = user.find(kind=ui.aggrid).elements
    return grid


def texts(user: User, marker: str) -> list[str]:
    return [e.text for e in user.find(marker=marker).elements]


def element(user: User, marker: str) -> ui.element:
    """The one visible element with this marker."""
    elements = user.find(marker=marker).elements
    assert len(elements) == 1, f"{len(elements)} elements marked {marker!r}"
    return next(iter(elements))


def make_row(server: str, n: int, state: str = "stopped", **fields) -> dict:
    """A row as the live service publishes it (services/live.py), for pages fed by hand."""
    info_hash = f"{n:040x}"
    return {
        "id": f"{server}:{info_hash}",
        "server_id": server,
        "server_name": f"box-{server}",
        "server_type": "transmission",
        "stale": False,
        "info_hash": info_hash,
        "name": f"torrent {n}",
        "state": state,
        "progress": 1.0 if state == "seeding" else 0.25,
        "size": 1000,
        "downloaded": 0,
        "uploaded": 0,
        "download_rate": 0,
        "upload_rate": 0,
        "ratio": 0.0,
        "eta": None,
        "peers": 0,
        "seeds": 0,
        "added_at": 1_700_000_000 + n,
        "download_dir": "/srv",
        "label": None,
        "labels": [],
        "error": None,
        "warning": None,
        "tracker": None,
        "queue_position": None,
        **fields,
    }


def facets(user: User, section: str) -> dict[str, tuple[int, bool]]:
    """A section of the filter panel as shown: value text -> (count, chosen), in order."""
    shown = {}
    for item in sorted(user.find(marker=f"facet-{section}").elements, key=lambda e: e.id):
        parts = {m: e for e in item.descendants() for m in e._markers}
        shown[parts["facet-name"].text] = (int(parts["facet-count"].text), "active" in item.props)
    return shown


def counts(user: User, section: str) -> dict[str, int]:
    """A section of the filter panel: value text -> count."""
    return {text: count for text, (count, _) in facets(user, section).items()}


def chosen(user: User, section: str) -> list[str]:
    return [text for text, (_, on) in facets(user, section).items() if on]


def click_facet(user: User, section: str, text: str) -> None:
    """Click the value with exactly this text in a section of the filter panel."""
    [item] = [
        item
        for item in user.find(marker=f"facet-{section}").elements
        if any(e.text == text for e in item.descendants() if "facet-name" in e._markers)
    ]
    UserInteraction(user, {item}, None).click()
