"""SPEC §5 Servers: CRUD, validation, test, encryption at rest, isolation."""

import pytest

from tests.api_fixtures import rtorrent_http_fields, rtorrent_scgi_fields, transmission_fields
from tests.daemons.fakes import closed_port
from torrentdesk.db import SERVER_COLORS

BASE = {"name": "box", "server_type": "transmission", "host": "nas.lan", "port": 9091}

# What a test against Transmission 3.00 and rTorrent 0.9.8 tells each can do (README).
CAPABILITIES = {
    "transmission": {
        "labels": "multi",
        "move_data": True,
        "free_space": "exact",
        "alt_speed": "native",
        "alt_unlimited": False,
        "torrent_limits": True,
        "queue": True,
        "recheck": True,
        "reannounce": True,
        "tracker_edit": "replace",
        "file_priorities": ["off", "low", "normal", "high"],
        "metainfo": False,
    },
    "rtorrent": {
        "labels": "multi",
        "move_data": False,
        "free_space": "approximate",
        "alt_speed": "emulated",
        "alt_unlimited": True,
        "torrent_limits": False,
        "queue": False,
        "recheck": True,
        "reannounce": True,
        "tracker_edit": "add_disable",
        "file_priorities": ["off", "normal", "high"],
        "metainfo": False,
    },
}


def test_add_returns_201_with_defaults_and_never_the_password(api):
    headers = api.user("alice")
    response = api.client.post(
        "/servers", json={**BASE, "password": "s3cret!", "username": "me"}, headers=headers
    )
    assert response.status_code == 201
    body = response.json()
    server_id = body.pop("id")
    assert len(server_id) == 36
    assert body == {
        "name": "box",
        "server_type": "transmission",
        "protocol": "http",
        "host": "nas.lan",
        "port": 9091,
        "username": "me",
        "rpc_path": "/transmission/rpc",
        "enabled": True,
        "has_password": True,
        "status": "unknown",
        "error": None,
        "checked_at": None,
        "capabilities": {},  # nothing known until the server has answered once
        "color": SERVER_COLORS[0],
    }
    assert "password" not in response.text.replace("has_password", "")


def test_per_type_default_rpc_paths(api):
    headers = api.user("alice")
    rt_http = api.add_server(headers, name="a", server_type="rtorrent", host="h", port=80)
    rt_scgi = api.add_server(
        headers,
        name="b",
        server_type="rtorrent",
        host="h",
        port=5000,
        protocol="scgi",
        rpc_path="/ignored",
    )
    custom = api.add_server(headers, **{**BASE, "rpc_path": "/custom/rpc", "protocol": "https"})
    assert rt_http["rpc_path"] == "/RPC2"
    assert rt_scgi["rpc_path"] is None
    assert (custom["rpc_path"], custom["protocol"]) == ("/custom/rpc", "https")


def test_list_get_update_delete(api):
    headers = api.user("alice")
    first = api.add_server(headers, **{**BASE, "name": "zeta", "password": "pw1"})
    second = api.add_server(headers, **{**BASE, "name": "alpha"})
    listed = api.client.get("/servers", headers=headers).json()
    assert [s["name"] for s in listed] == ["alpha", "zeta"]
    assert api.client.get(f"/servers/{first['id']}", headers=headers).json() == first

    url = f"/servers/{first['id']}"
    renamed = api.client.put(url, json={"name": "renamed", "password": None}, headers=headers)
    assert renamed.status_code == 200
    assert renamed.json() | {"name": "zeta"} == first  # only the name changed; password kept
    assert api.client.put(url, json={"port": 19091}, headers=headers).json()["port"] == 19091
    assert api.client.put(url, json={}, headers=headers).json()["has_password"] is True
    cleared = api.client.put(url, json={"password": "", "username": ""}, headers=headers).json()
    assert (cleared["has_password"], cleared["username"]) == (False, None)
    set_again = api.client.put(url, json={"password": "pw2"}, headers=headers).json()
    assert set_again["has_password"] is True
    to_rtorrent = api.client.put(url, json={"server_type": "rtorrent"}, headers=headers).json()
    assert to_rtorrent["rpc_path"] == "/RPC2"  # followed the new type's default

    assert api.client.delete(url, headers=headers).status_code == 204
    assert api.client.get(url, headers=headers).status_code == 404
    assert api.client.delete(url, headers=headers).status_code == 404
    assert [s["id"] for s in api.client.get("/servers", headers=headers).json()] == [second["id"]]


def test_each_server_keeps_its_colour_and_a_new_one_takes_the_least_used(api):
    alice, bob = api.user("alice"), api.user("bob")
    names = ("m", "n", "o")
    added = {n: api.add_server(alice, **{**BASE, "name": n})["color"] for n in names}
    assert added == dict(zip(names, SERVER_COLORS[:3], strict=True))
    assert api.add_server(bob, **BASE)["color"] == SERVER_COLORS[0]  # per user
    by_name = {s["name"]: s for s in api.client.get("/servers", headers=alice).json()}
    assert api.client.delete(f"/servers/{by_name['n']['id']}", headers=alice).status_code == 204
    renamed = api.client.put(
        f"/servers/{by_name['o']['id']}", json={"name": "a", "server_type": "rtorrent"},
        headers=alice,
    ).json()  # fmt: skip
    assert renamed["color"] == SERVER_COLORS[2]  # an edit keeps it
    assert api.add_server(alice, **{**BASE, "name": "b"})["color"] == SERVER_COLORS[1]
    assert api.add_server(alice, **{**BASE, "name": "c"})["color"] == SERVER_COLORS[3]
    listed = {s["name"]: s["color"] for s in api.client.get("/servers", headers=alice).json()}
    assert listed == {
        "a": SERVER_COLORS[2],
        "b": SERVER_COLORS[1],
        "c": SERVER_COLORS[3],
        "m": SERVER_COLORS[0],
    }


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"server_type": "deluge"},
            "server_type",
            "server_type must be 'rtorrent', 'transmission' or 'qbittorrent'",
        ),
        ({"protocol": "ftp"}, "protocol", "protocol must be 'http', 'https' or 'scgi'"),
        ({"protocol": "scgi"}, None, "Transmission speaks http or https, not scgi"),
        ({"port": 0}, "port", "the port must be between 1 and 65535"),
        ({"port": 65536}, "port", "the port must be between 1 and 65535"),
        ({"name": ""}, "name", "a server needs a name"),
        ({"name": "   "}, "name", "a server needs a name"),
        ({"name": "x" * 101}, "name", "a server name has at most 100 characters"),
        ({"host": ""}, "host", "a server needs a host name or address"),
        ({"host": "http://nas.lan"}, "host", "without a scheme"),
        ({"host": "nas.lan/rpc"}, "host", "may not contain a path"),
        ({"host": "nas lan"}, "host", "may not contain a path, spaces"),
        ({"host": "nas\x00lan"}, "host", "control characters"),
        # PostgreSQL cannot store a NUL: refused on both backends alike.
        ({"name": "nas\x00box"}, "name", "may not contain control characters"),
        ({"username": "me\x00"}, "username", "may not contain control characters"),
        ({"host": "nas\tlan"}, "host", "control characters"),
        ({"rpc_path": "rpc"}, "rpc_path", "the RPC path must start with '/'"),
        ({"port": "many"}, "port", "valid integer"),
    ],
)
def test_add_validation_is_422_in_fastapi_format(api, change, field, message):
    headers = api.user("alice")
    response = api.client.post("/servers", json={**BASE, **change}, headers=headers)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert message in error["msg"]
    if field:
        assert error["loc"] == ["body", field]
    assert api.client.get("/servers", headers=headers).json() == []


@pytest.mark.parametrize("missing", ["name", "server_type", "host", "port"])
def test_required_fields(api, missing):
    headers = api.user("alice")
    body = {k: v for k, v in BASE.items() if k != missing}
    response = api.client.post("/servers", json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", missing]


def test_update_validation_checks_the_merged_server(api):
    headers = api.user("alice")
    server = api.add_server(headers, **BASE)
    url = f"/servers/{server['id']}"
    bad_port = api.client.put(url, json={"port": 70000}, headers=headers)
    assert bad_port.status_code == 422 and bad_port.json()["detail"][0]["loc"] == ["body", "port"]
    scgi = api.client.put(url, json={"protocol": "scgi"}, headers=headers)
    assert scgi.status_code == 422
    assert scgi.json()["detail"][0]["msg"] == "Transmission speaks http or https, not scgi"
    assert api.client.get(url, headers=headers).json() == server


def test_server_passwords_are_encrypted_at_rest(api):
    headers = api.user("alice")
    secret = "Pa55-in-clear-text-9d2f"
    server = api.add_server(headers, **{**BASE, "password": secret})
    api.client.put(f"/servers/{server['id']}", json={"name": "x"}, headers=headers)
    api.client.post(f"/servers/{server['id']}/test", headers=headers)
    for path in api.data_dir.iterdir():
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path.name
    [(stored,)] = api.query("SELECT password FROM TorrentServer")  # PostgreSQL is no file
    assert stored and secret not in stored
    connection = api.services.servers.connection(1, server["id"])
    assert connection.password == secret  # decrypts for use


def test_test_endpoint_against_real_daemons(
    api, transmission_daemon, rtorrent_daemon, rtorrent_http
):
    headers = api.user("alice")
    servers = [
        (api.add_server(headers, **transmission_fields(transmission_daemon)), "Transmission 3.00"),
        (api.add_server(headers, **rtorrent_scgi_fields(rtorrent_daemon)), "rTorrent 0.9.8"),
        (api.add_server(headers, **rtorrent_http_fields(rtorrent_http)), "rTorrent 0.9.8"),
    ]
    for server, version in servers:
        response = api.client.post(f"/servers/{server['id']}/test", headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert (body["ok"], body["status"], body["error"]) == (True, "connected", None)
        assert body["version"].startswith(version)
        assert 0 < body["latency_ms"] < 2000
        stored = api.client.get(f"/servers/{server['id']}", headers=headers).json()
        assert (stored["status"], stored["error"]) == ("connected", None)
        assert stored["capabilities"] == CAPABILITIES[server["server_type"]]

        assert stored["checked_at"].endswith("Z") or stored["checked_at"].endswith("+00:00")


def test_failed_test_is_200_with_ok_false_and_the_reason(api, transmission_daemon, rtorrent_http):
    headers = api.user("alice")
    wrong = api.add_server(headers, **transmission_fields(transmission_daemon, password="wrong"))
    response = api.client.post(f"/servers/{wrong['id']}/test", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["status"], body["version"], body["latency_ms"]) == (
        False,
        "error",
        None,
        None,
    )
    assert body["error"].startswith("seedbox-tr: ")
    assert "wrong username or password" in body["error"]
    stored = api.client.get(f"/servers/{wrong['id']}", headers=headers).json()
    assert (stored["status"], stored["error"]) == ("error", body["error"])

    rt_wrong = api.add_server(headers, **rtorrent_http_fields(rtorrent_http, password="wrong"))
    rt_body = api.client.post(f"/servers/{rt_wrong['id']}/test", headers=headers).json()
    assert rt_body["ok"] is False and "seedbox-rt-http" in rt_body["error"]
    with closed_port() as port:
        dead = api.add_server(
            headers, **{**BASE, "name": "dead", "host": "127.0.0.1", "port": port}
        )
        dead_body = api.client.post(f"/servers/{dead['id']}/test", headers=headers).json()
    assert dead_body["ok"] is False and dead_body["error"].startswith("dead: cannot connect")


def test_another_users_server_is_404_on_every_endpoint(api):
    alice = api.user("alice")
    bob = api.user("bob")
    server = api.add_server(alice, **BASE)
    url = f"/servers/{server['id']}"
    assert api.client.get("/servers", headers=bob).json() == []
    for method, path, body in [
        ("GET", url, None),
        ("PUT", url, {"name": "mine"}),
        ("DELETE", url, None),
        ("POST", f"{url}/test", None),
    ]:
        response = api.client.request(method, path, json=body, headers=bob)
        assert response.status_code == 404, (method, path)
        assert response.json() == {"detail": f"no server with id {server['id']!r}"}
    assert api.client.get(url, headers=alice).json() == server


def test_server_changes_are_audited(api):
    headers = api.user("alice")
    server = api.add_server(headers, **{**BASE, "password": "pw"})
    api.client.put(
        f"/servers/{server['id']}", json={"port": 1234, "password": "x"}, headers=headers
    )
    api.client.delete(f"/servers/{server['id']}", headers=headers)
    actions = api.client.get("/actions", headers=headers).json()
    assert [(a["action"], a["ok"]) for a in actions] == [
        ("server.remove", True),
        ("server.edit", True),
        ("server.add", True),
    ]
    assert actions[2]["detail"] == "box (transmission http://nas.lan:9091)"
    assert actions[1]["detail"] == "changed password, port"
    assert actions[0]["server_id"] is None  # the server is gone; its audit rows stay
    assert "pw" not in str(actions) and all(a["at"].endswith(("Z", "+00:00")) for a in actions)
