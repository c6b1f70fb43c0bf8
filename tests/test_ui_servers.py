"""The servers dialog against real daemons: add with field errors and per-type defaults, Save
tests first (an unreachable server is saved only when asked), the form's own Test and its
"testing" state, edit (write-only password), delete with confirmation, one message per row,
colours that stay; every change audited."""

import re

import pytest
from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_notify import UserNotify

from tests.api_fixtures import rtorrent_http_fields
from tests.daemons.fakes import black_hole, closed_port
from tests.ui_fixtures import element, eventually, sign_in
from torrentdesk.db import SERVER_COLORS

pytestmark = pytest.mark.daemon
RTORRENT_CONNECTED = r"Connected · [^·]*0\.9\.\d[^·]* · \d+ ms"


class Notes(UserNotify):
    """What the page notified, with each notification's type."""

    def __init__(self) -> None:
        super().__init__()
        self.typed: list[tuple[str, str | None]] = []

    def __call__(self, message: str, **kwargs) -> None:
        self.typed.append((message, kwargs.get("type")))
        super().__call__(message, **kwargs)


@pytest.fixture
def notes(user: User) -> Notes:
    user.notify = Notes()  # the fixture hands its notify to ui.notify on every access
    return user.notify


async def open_servers(user: User) -> None:
    user.find(marker="menu-servers").click()
    await user.should_see(marker="server-add")


def row_texts(user: User, name: str) -> list[str]:
    """Every label's text in a server's row of the list."""
    row = element(user, f"server-row-{name}")
    return [e.text for e in row.descendants() if isinstance(e, ui.label)]


def row_color(user: User, name: str) -> str:
    return element(user, f"server-color-{name}")._style["background"]


async def fill_new_server(user: User, server_type: str, name: str, host: str, port: int) -> None:
    user.find(marker="server-add").click()
    await user.should_see(marker="server-name")
    element(user, "server-type").value = server_type
    element(user, "server-name").value = name
    element(user, "server-host").value = host
    element(user, "server-port").value = port


async def test_add_with_field_errors_then_save_tests_and_adds_a_working_server(
    ui_app, transmission_clean, user: User, notes: Notes, monkeypatch
) -> None:
    d = transmission_clean
    monkeypatch.setenv("TRANSMISSION_HOST", d.host)
    monkeypatch.setenv("TRANSMISSION_PORT", str(d.port))
    monkeypatch.setenv("TRANSMISSION_USERNAME", d.username)
    monkeypatch.setenv("TRANSMISSION_PASSWORD", d.password)
    user_id = ui_app.add_user("alice")
    await sign_in(user)
    await open_servers(user)
    await user.should_see("No servers yet.")
    user.find(marker="server-add").click()
    # Transmission is the default type, pre-filled from the environment.
    assert element(user, "server-protocol").value == "http"
    assert element(user, "server-host").value == d.host
    assert element(user, "server-port").value == d.port
    assert element(user, "server-username").value == d.username
    assert element(user, "server-password").value == d.password
    assert element(user, "server-rpc-path").value == "/transmission/rpc"

    element(user, "server-host").value = "http://nas.lan"
    element(user, "server-port").value = 0
    element(user, "server-rpc-path").value = "rpc"
    user.find(marker="server-save").click()
    await user.should_see("a server needs a name")
    assert element(user, "server-name").error == "a server needs a name"
    assert element(user, "server-host").error.startswith("give the host alone")
    assert element(user, "server-port").error == "the port must be between 1 and 65535"
    assert element(user, "server-rpc-path").error == "the RPC path must start with '/'"
    assert ui_app.services.servers.list(user_id) == []

    element(user, "server-name").value = "seedbox <tr>"
    element(user, "server-host").value = d.host
    element(user, "server-port").value = d.port
    element(user, "server-rpc-path").value = "/transmission/rpc"
    user.find(marker="server-save").click()
    await user.should_see(marker="server-row-seedbox <tr>", retries=30)
    [view] = ui_app.services.servers.list(user_id)
    assert (view.name, view.host, view.port, view.has_password) == (
        "seedbox <tr>",
        d.host,
        d.port,
        True,
    )
    # Tested before it was saved: version and latency, its status green, a green "Added".
    await user.should_see(marker="server-test-result-seedbox <tr>", retries=50)
    result = element(user, "server-test-result-seedbox <tr>").text
    assert re.fullmatch(r"Connected · Transmission \d[^·]* · \d+ ms", result), result
    assert element(user, "server-status-seedbox <tr>").text == "connected"
    assert ("Added seedbox <tr>", "positive") in notes.typed
    assert [t for t in row_texts(user, "seedbox <tr>") if "Connected" in t] == [result]
    actions = ui_app.services.audit.latest(user_id)
    assert [a.action for a in actions] == ["server.add"]
    assert actions[0].detail == f"seedbox <tr> (transmission http://{d.host}:{d.port})"


async def test_per_type_and_protocol_defaults(ui_app, user: User, monkeypatch) -> None:
    monkeypatch.delenv("TRANSMISSION_PORT", raising=False)
    ui_app.add_user("alice")
    await sign_in(user)
    await open_servers(user)
    user.find(marker="server-add").click()
    assert element(user, "server-port").value == 9091
    element(user, "server-type").value = "rtorrent"
    assert element(user, "server-protocol").value == "scgi"
    assert element(user, "server-port").value == 5000
    await user.should_not_see(marker="server-rpc-path")
    await user.should_not_see(marker="server-password")
    await user.should_see("SCGI has no authentication", retries=5)
    element(user, "server-protocol").value = "http"
    assert element(user, "server-port").value == 80
    assert element(user, "server-rpc-path").value == "/RPC2"
    element(user, "server-protocol").value = "https"
    assert element(user, "server-port").value == 443
    element(user, "server-port").value = 8443  # customized: a protocol change keeps it
    element(user, "server-protocol").value = "http"
    assert element(user, "server-port").value == 8443
    element(user, "server-type").value = "transmission"
    assert element(user, "server-protocol").value == "http"
    assert set(element(user, "server-protocol").options) == {"http", "https"}
    assert element(user, "server-port").value == 9091
    assert element(user, "server-rpc-path").value == "/transmission/rpc"


async def test_edit_keeps_or_clears_the_password_and_a_failing_test_says_why(
    ui_app, rtorrent_http, user: User, notes: Notes
) -> None:
    p = rtorrent_http
    user_id = ui_app.add_user("alice")
    server_id = ui_app.add_server(user_id, **rtorrent_http_fields(p, name="rt-web"))
    await sign_in(user)
    await open_servers(user)
    user.find(marker="server-edit-rt-web").click()
    password = element(user, "server-password")
    assert password.value == ""
    assert password.props["placeholder"] == "unchanged"
    element(user, "server-name").value = "rt web"
    user.find(marker="server-save").click()
    await user.should_see(marker="server-row-rt web", retries=30)
    view = ui_app.services.servers.get(user_id, server_id)
    assert (view.name, view.has_password, view.username) == ("rt web", True, p.username)
    await user.should_see(marker="server-test-result-rt web", retries=50)
    result = element(user, "server-test-result-rt web").text
    assert re.fullmatch(RTORRENT_CONNECTED, result), result

    # Without its password nginx refuses us: Save tests first, says why, and keeps it.
    user.find(marker="server-edit-rt web").click()
    element(user, "server-clear-password").value = True
    user.find(marker="server-save").click()
    await user.should_see(marker="server-save-anyway", retries=50)
    refused = element(user, "server-form-result").text
    assert "401" in refused or "auth" in refused.lower(), refused
    assert ui_app.services.servers.get(user_id, server_id).has_password
    user.find(marker="server-save-anyway").click()
    await eventually(
        lambda: not ui_app.services.servers.get(user_id, server_id).has_password,
        message="password cleared",
    )
    await eventually(lambda: element(user, "server-message-rt web").text == refused)
    await eventually(lambda: element(user, "server-status-rt web").text == "error")
    assert [t for t in row_texts(user, "rt web") if refused in t] == [refused]
    saved = [n for n in notes.typed if n[0].startswith("Saved rt web")]
    assert saved[0] == ("Saved rt web", "positive")  # the rename
    [(warning, kind)] = saved[1:]
    assert kind == "warning" and "unreachable" in warning and refused in warning
    edits = [a for a in ui_app.services.audit.latest(user_id) if a.action == "server.edit"]
    assert [a.detail for a in edits] == [
        "changed password; saved while unreachable",
        "changed name",
    ]


async def test_test_button_and_delete_with_confirmation(ui_app, user: User) -> None:
    user_id = ui_app.add_user("alice")
    with closed_port() as port:
        ui_app.add_server(
            user_id, name="gone", server_type="transmission", host="127.0.0.1", port=port
        )
        await sign_in(user)
        await open_servers(user)
        user.find(marker="server-test-gone").click()
        await user.should_see(marker="server-test-result-gone", retries=50)
        text = element(user, "server-test-result-gone").text
        assert not text.startswith("gone: ")  # the row names it already
        assert "refused" in text.lower() or "connect" in text.lower()
        # Shown once, whether it came from the test or from the poller.
        await eventually(lambda: element(user, "server-status-gone").text == "error")
        errors = [t for t in row_texts(user, "gone") if "refused" in t or "connect" in t.lower()]
        assert errors == [text]

    user.find(marker="server-delete-gone").click()
    await eventually(
        lambda: element(user, "server-delete-text").text.startswith("Remove “gone” (Transmission")
    )
    user.find(marker="server-delete-cancel").click()
    await user.should_see(marker="server-row-gone")
    assert len(ui_app.services.servers.list(user_id)) == 1

    element(user, "server-delete-text").set_text("")
    user.find(marker="server-delete-gone").click()
    await eventually(lambda: element(user, "server-delete-text").text.startswith("Remove “gone”"))
    user.find(marker="server-delete-confirm").click()
    await user.should_see("No servers yet.", retries=30)
    assert ui_app.services.servers.list(user_id) == []
    actions = [a.action for a in ui_app.services.audit.latest(user_id)]
    assert actions == ["server.remove"]


async def test_save_on_a_closed_port_does_not_add_silently(
    ui_app, user: User, notes: Notes
) -> None:
    user_id = ui_app.add_user("alice")
    await sign_in(user)
    await open_servers(user)
    with closed_port() as port:
        await fill_new_server(user, "rtorrent", "wrong-port", "127.0.0.1", port)
        user.find(marker="server-save").click()
        await user.should_see(marker="server-save-anyway", retries=50)
        error = element(user, "server-form-result").text
        assert "refused" in error.lower() or "connect" in error.lower(), error
        assert not error.startswith("wrong-port: ")
        assert "save it anyway" in element(user, "server-form-hint").text
        assert ui_app.services.servers.list(user_id) == []
        assert not [n for n in notes.typed if n[0].startswith("Added")]

        # Editing how to reach it makes the failure old news.
        element(user, "server-port").value = port + 1
        await user.should_not_see(marker="server-save-anyway")
        assert element(user, "server-form-result").text == ""
        element(user, "server-port").value = port
        user.find(marker="server-save").click()
        await user.should_see(marker="server-save-anyway", retries=50)

        user.find(marker="server-save-anyway").click()
        await user.should_see(marker="server-row-wrong-port", retries=30)
    [view] = ui_app.services.servers.list(user_id)
    assert (view.name, view.port, view.status) == ("wrong-port", port, "error")
    [(message, kind)] = [n for n in notes.typed if n[0].startswith("Added")]
    assert kind == "warning"
    assert message == (
        f"Added wrong-port, but it is unreachable ({error}). Its torrents show once it answers."
    )
    assert element(user, "server-status-wrong-port").text == "error"
    assert [t for t in row_texts(user, "wrong-port") if error in t] == [error]
    [action] = ui_app.services.audit.latest(user_id)
    assert action.action == "server.add" and action.detail.endswith("saved while unreachable")


async def new_rtorrent_in_the_form(ui_app, user: User, daemon) -> int:
    """Sign alice in and type `daemon` (SCGI) into a new server's form; her user id."""
    user_id = ui_app.add_user("alice")
    await sign_in(user)
    await open_servers(user)
    await fill_new_server(user, "rtorrent", "rt-box", daemon.host, daemon.scgi_port)
    return user_id


async def test_save_on_a_working_rtorrent_adds_it(
    ui_app, rtorrent_clean, user: User, notes: Notes
) -> None:
    r = rtorrent_clean
    user_id = await new_rtorrent_in_the_form(ui_app, user, r)
    user.find(marker="server-save").click()
    await user.should_see(marker="server-row-rt-box", retries=50)
    [view] = ui_app.services.servers.list(user_id)
    assert (view.server_type, view.protocol, view.port, view.status) == (
        "rtorrent",
        "scgi",
        r.scgi_port,
        "connected",
    )
    assert ("Added rt-box", "positive") in notes.typed
    result = element(user, "server-message-rt-box").text
    assert re.fullmatch(RTORRENT_CONNECTED, result), result


async def test_the_forms_test_button_shows_version_and_latency_and_saves_nothing(
    ui_app, rtorrent_clean, user: User
) -> None:
    user_id = await new_rtorrent_in_the_form(ui_app, user, rtorrent_clean)
    await user.should_not_see(marker="server-form-testing")
    user.find(marker="server-form-test").click()
    await eventually(lambda: element(user, "server-form-result").text.startswith("Connected"))
    result = element(user, "server-form-result").text
    assert re.fullmatch(RTORRENT_CONNECTED, result), result
    assert "td-ok-text" in element(user, "server-form-result").classes
    await user.should_not_see(marker="server-save-anyway")
    assert ui_app.services.servers.list(user_id) == []
    await user.should_see(marker="server-name")  # the form stays open


async def test_a_running_test_shows_that_it_is_testing(ui_app, user: User) -> None:
    ui_app.add_user("alice")
    await sign_in(user)
    await open_servers(user)
    with black_hole() as port:  # accepts, never answers: the test runs until its timeout
        await fill_new_server(user, "transmission", "slow", "127.0.0.1", port)
        user.find(marker="server-form-test").click()
        await user.should_see(marker="server-form-testing", retries=20)
        assert element(user, "server-form-testing").visible
        for marker in ("server-form-test", "server-save"):
            assert not element(user, marker).enabled, marker
        assert "loading" in element(user, "server-form-test").props
        await user.should_not_see(marker="server-form-testing", retries=100)
    assert element(user, "server-save").enabled
    assert element(user, "server-form-result").text.startswith("no answer within 2 s")
    await user.should_see(marker="server-save-anyway")


async def test_a_server_keeps_its_colour_when_others_come_and_go(
    ui_app, user: User, notes: Notes
) -> None:
    user_id = ui_app.add_user("alice")
    closed = {"server_type": "transmission", "host": "127.0.0.1", "port": 1, "enabled": False}
    for name in ("m-first", "n-second", "o-third"):
        ui_app.add_server(user_id, name=name, **closed)
    assert [v.color for v in ui_app.services.servers.list(user_id)] == list(SERVER_COLORS[:3])
    await sign_in(user)
    await open_servers(user)
    names = ("m-first", "n-second", "o-third")
    before = {name: row_color(user, name) for name in names}
    assert before == dict(zip(names, SERVER_COLORS[:3], strict=True))

    # Remove the second one, then add one whose name sorts first.
    user.find(marker="server-delete-n-second").click()
    await eventually(lambda: "n-second" in element(user, "server-delete-text").text)
    user.find(marker="server-delete-confirm").click()
    await user.should_not_see(marker="server-row-n-second", retries=30)
    with closed_port() as port:
        await fill_new_server(user, "transmission", "a-new", "127.0.0.1", port)
        element(user, "server-enabled").value = False
        user.find(marker="server-save").click()
        await user.should_see(marker="server-save-anyway", retries=50)
        user.find(marker="server-save-anyway").click()
        await user.should_see(marker="server-row-a-new", retries=30)
    after = {name: row_color(user, name) for name in ("a-new", "m-first", "o-third")}
    # The others keep theirs; the newcomer takes the least used one (the freed second).
    assert after == {
        "a-new": SERVER_COLORS[1],
        "m-first": SERVER_COLORS[0],
        "o-third": SERVER_COLORS[2],
    }
    # The table's badges use the same stored colours.
    views = {v.name: v for v in ui_app.services.servers.list(user_id)}
    configured = [c for c in ui_app.spy.scripts if '"colors"' in c][-1]
    for name, color in after.items():
        assert f'"{views[name].id}": "{color}"' in configured


async def test_qbittorrent_in_the_form_with_its_defaults_and_a_test_that_shows_its_versions(
    ui_app, qbittorrent_clean, user: User, notes: Notes
) -> None:
    q = qbittorrent_clean
    user_id = ui_app.add_user("alice")
    await sign_in(user)
    await open_servers(user)
    user.find(marker="server-add").click()
    await user.should_see(marker="server-name")
    assert "qbittorrent" in element(user, "server-type").options
    element(user, "server-type").value = "qbittorrent"
    assert element(user, "server-protocol").value == "http"
    assert set(element(user, "server-protocol").options) == {"http", "https"}
    assert element(user, "server-port").value == 8080
    await user.should_not_see(marker="server-rpc-path")  # the Web API is always /api/v2
    await user.should_see(marker="server-password")
    element(user, "server-name").value = "qb-box"
    element(user, "server-host").value = q.host
    element(user, "server-port").value = q.port
    element(user, "server-username").value = q.username
    element(user, "server-password").value = q.password
    user.find(marker="server-form-test").click()
    await eventually(lambda: element(user, "server-form-result").text.startswith("Connected"))
    result = element(user, "server-form-result").text
    assert re.fullmatch(r"Connected · qBittorrent v4\.5\.2 \(Web API 2\.8\.19\) · \d+ ms", result)
    user.find(marker="server-save").click()
    await user.should_see(marker="server-row-qb-box", retries=50)
    [view] = ui_app.services.servers.list(user_id)
    assert (view.server_type, view.protocol, view.port, view.rpc_path, view.status) == (
        "qbittorrent",
        "http",
        q.port,
        None,
        "connected",
    )
    assert view.capabilities["labels"] == "multi" and view.capabilities["alt_speed"] == "native"
    assert ("Added qb-box", "positive") in notes.typed
