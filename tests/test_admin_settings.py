"""SPEC §14 admin settings: stored in the database, seen and changed by admins only, and the
server-address rule they set, enforced for non-admins (on SQLite and PostgreSQL: `api`)."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from tests.ui_fixtures import PASSWORD, element, eventually, sign_in
from torrentdesk.services.settings import AddressNotAllowed, address_kind

DEFAULTS = {
    "users_may_add_private_servers": True,
    "users_may_add_loopback_servers": False,
    "url_fetch_may_reach_local_networks": False,
}
SERVER = {"name": "box", "server_type": "transmission", "port": 9091}


@pytest.fixture
def defaults(api):
    """The api fixture lets everyone add loopback servers (the test daemons'): back to the
    defaults an install starts with."""
    api.services.settings.save(DEFAULTS)
    return api


def test_only_admins_see_or_change_the_settings(api):
    alice = api.user("alice")
    for method, body in (("GET", None), ("PUT", {"users_may_add_loopback_servers": True})):
        response = api.client.request(method, "/admin/settings", json=body, headers=alice)
        assert response.status_code == 403, method
        assert response.json() == {"detail": "only an admin can see or change the admin settings"}
    assert api.client.get("/admin/settings").status_code == 401
    assert api.services.settings.current().users_may_add_loopback_servers is True  # unchanged


def test_an_admin_reads_the_defaults_and_changes_them(defaults):
    api = defaults
    admin = api.user("root", admin=True)
    assert api.client.get("/admin/settings", headers=admin).json() == DEFAULTS
    changed = api.client.put(
        "/admin/settings",
        json={"url_fetch_may_reach_local_networks": True, "users_may_add_private_servers": False},
        headers=admin,
    )
    expected = {
        "users_may_add_private_servers": False,
        "users_may_add_loopback_servers": False,
        "url_fetch_may_reach_local_networks": True,
    }
    assert (changed.status_code, changed.json()) == (200, expected)
    assert api.client.get("/admin/settings", headers=admin).json() == expected
    # Left out: kept. Stored in the database, one row per setting changed from its default.
    kept = api.client.put(
        "/admin/settings", json={"users_may_add_loopback_servers": True}, headers=admin
    )
    assert kept.json() == {**expected, "users_may_add_loopback_servers": True}
    assert sorted(api.query("SELECT key FROM AdminSetting WHERE value = 'true'")) == [
        ("url_fetch_may_reach_local_networks",),
        ("users_may_add_loopback_servers",),
    ]
    [latest, *_] = api.client.get("/actions", headers=admin).json()
    assert latest["action"] == "settings.edit"
    assert latest["detail"] == "users_may_add_loopback_servers = true"


@pytest.mark.parametrize(
    "body",
    [{"no_such_setting": True}, {"users_may_add_private_servers": "yes"}, [True]],
)
def test_bad_settings_are_422(api, body):
    admin = api.user("root", admin=True)
    response = api.client.put("/admin/settings", json=body, headers=admin)
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("host", "says"),
    [
        ("127.0.0.1", "127.0.0.1 is an address of this machine (loopback)"),
        ("::1", "::1 is an address of this machine (loopback)"),
        ("localhost", "localhost resolves to"),
        ("169.254.169.254", "169.254.169.254 is a link-local address"),
        ("0.0.0.0", "0.0.0.0 is an address of this machine (loopback)"),
    ],
)
def test_non_admins_may_not_add_loopback_or_link_local_servers_by_default(defaults, host, says):
    api = defaults
    alice = api.user("alice")
    response = api.client.post("/servers", json={**SERVER, "host": host}, headers=alice)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "host"]
    assert says in error["msg"]
    assert "only an admin may add a server there" in error["msg"]
    assert "allow such servers for everyone in Admin settings" in error["msg"]
    assert api.client.get("/servers", headers=alice).json() == []


def test_private_and_public_addresses_are_fine_and_admins_add_anywhere(defaults):
    api = defaults
    alice, root = api.user("alice"), api.user("root", admin=True)
    for host in ("192.168.1.20", "10.0.0.7", "fd00::5", "93.184.216.34", "nas.invalid"):
        response = api.client.post("/servers", json={**SERVER, "host": host}, headers=alice)
        assert response.status_code == 201, (host, response.text)
    for host in ("127.0.0.1", "169.254.1.1", "localhost"):
        response = api.client.post("/servers", json={**SERVER, "host": host}, headers=root)
        assert response.status_code == 201, (host, response.text)


def test_allowed_after_the_admin_flips_the_setting_and_refused_again_after(defaults):
    api = defaults
    alice, root = api.user("alice"), api.user("root", admin=True)
    loopback = {**SERVER, "host": "127.0.0.1"}
    assert api.client.post("/servers", json=loopback, headers=alice).status_code == 422
    allow = {"users_may_add_loopback_servers": True}
    assert api.client.put("/admin/settings", json=allow, headers=root).status_code == 200
    added = api.client.post("/servers", json=loopback, headers=alice)
    assert added.status_code == 201
    # Private addresses off: a non-admin's edit that moves a server there is refused, one
    # that keeps the host is not.
    off = {"users_may_add_private_servers": False, "users_may_add_loopback_servers": False}
    api.client.put("/admin/settings", json=off, headers=root)
    url = f"/servers/{added.json()['id']}"
    moved = api.client.put(url, json={"host": "192.168.0.9"}, headers=alice)
    assert moved.status_code == 422
    assert "192.168.0.9 is a private network address" in moved.json()["detail"][0]["msg"]
    assert api.client.put(url, json={"name": "renamed"}, headers=alice).status_code == 200
    assert api.client.get(url, headers=alice).json()["host"] == "127.0.0.1"


def test_testing_unsaved_values_is_checked_too(defaults):
    """The servers form tests values before saving: a non-admin cannot probe the machine's
    own services through it."""
    from torrentdesk.services.servers import InvalidField, ServerFields

    api = defaults
    alice = api.services.users.create("alice", "password-123").id
    draft = ServerFields("probe", "transmission", "127.0.0.1", 6379)
    with pytest.raises(InvalidField, match="only an admin may add a server there") as raised:
        api.services.servers.draft_connection(alice, draft)
    assert raised.value.field == "host"


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12::1", "private"),
        ("100.64.0.1", "private"),  # carrier-grade NAT: not the internet
        ("224.0.0.1", "private"),  # multicast
        ("8.8.8.8", "public"),
        ("2606:4700::1111", "public"),
    ],
)
def test_address_kinds(address, kind):
    assert address_kind(address) == kind


def test_url_fetches_follow_their_setting_for_admins_too(defaults):
    settings = defaults.services.settings
    for host in ("127.0.0.1", "192.168.1.5", "169.254.169.254"):
        with pytest.raises(AddressNotAllowed, match="torrentdesk does not fetch from there"):
            settings.check_address(host, "url_fetch", is_admin=True)
    settings.check_address("93.184.216.34", "url_fetch")
    settings.save({"url_fetch_may_reach_local_networks": True})
    settings.check_address("192.168.1.5", "url_fetch")
    settings.check_address("localhost", "url_fetch")


# The page: admins find the settings in the user menu; nobody else does.


async def test_an_admin_sees_and_saves_the_settings(ui_app, user: User) -> None:
    ui_app.services.users.create("root", PASSWORD, is_admin=True)
    await sign_in(user, "root")
    await user.should_see(marker="menu-admin")
    user.find(marker="menu-admin").click()
    [dialog] = user.find(marker="admin-dialog").elements
    await eventually(lambda: dialog.value, message="the settings dialog open")
    await user.should_see("Non-admins may add servers on this machine (loopback)")
    [loopback] = user.find(marker="admin-users_may_add_loopback_servers").elements
    [fetch] = user.find(marker="admin-url_fetch_may_reach_local_networks").elements
    # ui_app lets everyone add loopback servers, as the api fixture does.
    assert (loopback.value, fetch.value) == (True, False)
    loopback.value = False
    fetch.value = True
    user.find(marker="admin-save").click()
    await user.should_see("Admin settings saved: they apply to everyone now", retries=20)
    stored = ui_app.services.settings.current()
    assert (stored.users_may_add_loopback_servers, stored.url_fetch_may_reach_local_networks) == (
        False,
        True,
    )


async def test_a_non_admin_has_no_admin_settings_entry(ui_app, user: User) -> None:
    ui_app.add_user("alice")
    await sign_in(user)
    await user.should_see(marker="menu-token")
    await user.should_not_see(marker="menu-admin")
    await user.should_not_see("Admin settings")


async def test_the_servers_form_says_why_a_non_admin_cannot_add_a_loopback_server(
    ui_app, user: User
) -> None:
    ui_app.services.settings.save(DEFAULTS)
    ui_app.add_user("alice")
    await sign_in(user)
    user.find(marker="menu-servers").click()
    await user.should_see(marker="server-add")
    user.find(marker="server-add").click()
    await user.should_see(marker="server-name")
    element(user, "server-name").value = "my own"
    element(user, "server-host").value = "127.0.0.1"
    element(user, "server-port").value = 9091
    user.find(marker="server-save").click()
    host = element(user, "server-host")
    error = await eventually(lambda: host.error, message="an error on the host field")
    assert error.startswith("127.0.0.1 is an address of this machine (loopback): only an admin")
    assert ui_app.services.servers.list(1) == []
