"""The servers dialog against real daemons: add with field errors and per-type defaults, test,
edit (write-only password), delete with confirmation; every change audited."""

import re

import pytest
from nicegui.testing import User

from tests.api_fixtures import rtorrent_http_fields
from tests.daemons.fakes import closed_port
from tests.ui_fixtures import element, eventually, sign_in

pytestmark = pytest.mark.daemon


async def open_servers(user: User) -> None:
    user.find(marker="menu-servers").click()
    await user.should_see(marker="server-add")


async def test_add_with_field_errors_then_test_shows_the_version(
    ui_app, transmission_clean, user: User, monkeypatch
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
    # A new server is tested at once: version and latency, and its status chip turns green.
    await user.should_see(marker="server-test-result-seedbox <tr>", retries=50)
    result = element(user, "server-test-result-seedbox <tr>").text
    assert re.fullmatch(r"Connected · Transmission \d[^·]* · \d+ ms", result), result
    assert element(user, "server-status-seedbox <tr>").text == "connected"
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
    ui_app, rtorrent_http, user: User
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
    assert re.fullmatch(r"Connected · [^·]*0\.9\.\d[^·]* · \d+ ms", result), result

    user.find(marker="server-edit-rt web").click()
    element(user, "server-clear-password").value = True
    user.find(marker="server-save").click()
    await eventually(
        lambda: not ui_app.services.servers.get(user_id, server_id).has_password,
        message="password cleared",
    )
    # Without its password nginx refuses us: the test result and the chip say why.
    await eventually(
        lambda: (
            "401" in element(user, "server-test-result-rt web").text
            or "auth" in element(user, "server-test-result-rt web").text.lower()
        ),
        message="auth error shown",
    )
    assert element(user, "server-status-rt web").text == "error"
    edits = [a for a in ui_app.services.audit.latest(user_id) if a.action == "server.edit"]
    assert [a.detail for a in edits] == ["changed password", "changed name"]


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
        assert text.startswith("gone: ")
        assert "refused" in text.lower() or "connect" in text.lower()

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
