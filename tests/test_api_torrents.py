"""SPEC §5 Torrents, against real daemons: one list across servers, adding, actions, failures."""

import time

import pytest

from tests.api_fixtures import API_TIMEOUT, transmission_fields
from tests.daemons.common import http_files, wait_until
from tests.daemons.fakes import black_hole, closed_port
from tests.daemons.transmission import running_transmission
from tests.torrent_factory import magnet_for, make_torrent, random_info_hash
from torrentdesk.api.models import TorrentListResponse

pytestmark = pytest.mark.daemon

TORRENT_FIELDS = {
    "info_hash",
    "name",
    "state",
    "progress",
    "size",
    "downloaded",
    "uploaded",
    "download_rate",
    "upload_rate",
    "ratio",
    "eta",
    "peers",
    "seeds",
    "added_at",
    "download_dir",
    "label",
    "labels",
    "tracker",
    "queue_position",
    "error",
    "warning",
    "server_id",
    "server_name",
    "server_type",
}


def upload(api, headers, server_id, torrent, start=True):
    return api.client.post(
        f"/torrents/upload?server_id={server_id}&start={str(start).lower()}",
        files={"file": ("x.torrent", torrent.data, "application/x-bittorrent")},
        headers=headers,
    )


def settled(api, headers, info_hash, state):
    """Wait for a state: a paused add is hash-checked first on Transmission."""
    return wait_until(
        lambda: api.client.get(f"/torrents/{info_hash}", headers=headers).json()["state"] == state,
        timeout=10,
        message=f"{info_hash} {state}",
    )


def listing(api, headers, **params):
    response = api.client.get("/torrents", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_one_list_across_servers_with_server_badges(api, alice):
    headers, tr, rt = alice
    magnet_hash = random_info_hash()
    added = api.client.post(
        "/torrents",
        json={"uri": magnet_for(magnet_hash, "from magnet"), "server_id": tr["id"]},
        headers=headers,
    )
    assert added.status_code == 201
    assert added.json() == {"info_hash": magnet_hash, "server_id": tr["id"], "name": "from magnet"}
    torrent = make_torrent("from-file.bin")
    uploaded = upload(api, headers, rt["id"], torrent, start=False)
    assert uploaded.status_code == 201
    assert uploaded.json() == {
        "info_hash": torrent.info_hash,
        "server_id": rt["id"],
        "name": "from-file.bin",
    }
    settled(api, headers, magnet_hash, "metadata")  # Transmission queues it a moment first

    body = listing(api, headers)
    rows = {t["info_hash"]: t for t in body["torrents"]}
    assert set(rows) == {magnet_hash, torrent.info_hash}
    assert (
        rows[magnet_hash]["server_id"],
        rows[magnet_hash]["server_name"],
        rows[magnet_hash]["server_type"],
    ) == (tr["id"], "seedbox-tr", "transmission")
    # A started magnet fetching its metadata: its dn, state metadata, size unknown.
    assert (
        rows[magnet_hash]["name"],
        rows[magnet_hash]["state"],
        rows[magnet_hash]["size"],
        rows[magnet_hash]["error"],
    ) == ("from magnet", "metadata", None, None)
    file_row = rows[torrent.info_hash]
    assert (file_row["server_id"], file_row["server_name"], file_row["server_type"]) == (
        rt["id"],
        "seedbox-rt",
        "rtorrent",
    )
    assert set(file_row) == TORRENT_FIELDS
    assert (file_row["state"], file_row["size"], file_row["name"]) == (
        "stopped",
        torrent.size,
        "from-file.bin",
    )
    servers = {s["id"]: s for s in body["servers"]}
    assert all(s.pop("fresh_at") for s in servers.values())  # fetched now: no snapshot here
    assert servers[tr["id"]] == {
        "id": tr["id"],
        "name": "seedbox-tr",
        "server_type": "transmission",
        "status": "connected",
        "error": None,
        "count": 1,
        "dropped": 0,
    }
    assert servers[rt["id"]]["count"] == 1 and servers[rt["id"]]["status"] == "connected"

    only_rt = listing(api, headers, server_id=rt["id"])
    assert [t["info_hash"] for t in only_rt["torrents"]] == [torrent.info_hash]
    assert [s["id"] for s in only_rt["servers"]] == [rt["id"]]


def test_the_listing_is_the_documented_model_as_pydantic_would_write_it(api, alice):
    # GET /torrents writes its JSON itself (orjson), past FastAPI's response model.
    headers, tr, rt = alice
    upload(api, headers, tr["id"], make_torrent("model-tr.bin"), start=False)
    upload(api, headers, rt["id"], make_torrent("modèle & <rt> ☃.bin"), start=False)
    # An rTorrent magnet fetching its metadata, its tracker refusing: null size, a warning.
    magnet_hash = random_info_hash()
    uri = magnet_for(magnet_hash, "rt magnet") + "&tr=http%3A%2F%2F127.0.0.1%3A9%2Fannounce"
    added = api.client.post("/torrents", json={"uri": uri, "server_id": rt["id"]}, headers=headers)
    assert added.status_code == 201, added.text
    magnet = wait_until(
        lambda: (
            (t := api.client.get(f"/torrents/{magnet_hash}", headers=headers).json())["warning"]
            and t
        ),
        message="the magnet's tracker warning",
    )
    assert (magnet["name"], magnet["state"], magnet["size"], magnet["error"]) == (
        "rt magnet",
        "metadata",
        None,
        None,
    )
    assert magnet["warning"].startswith("Tracker: [")
    response = api.client.get("/torrents", headers=headers)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert len(body["torrents"]) == 3 and len(body["servers"]) == 2
    assert [t["state"] for t in body["torrents"] if t["info_hash"] == magnet_hash] == ["metadata"]
    model = TorrentListResponse.model_validate(body)
    assert model.model_dump(mode="json", exclude_unset=True) == body
    documented = api.client.get("/openapi.json").json()["paths"]["/torrents"]["get"]
    schema = documented["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/TorrentListResponse"}


def test_listing_remembers_each_servers_list_and_who_added_what(api, alice):
    headers, tr, _ = alice
    torrent = make_torrent("remembered.bin")
    upload(api, headers, tr["id"], torrent)
    magnet_hash = random_info_hash()  # no metadata, no size yet: remembered as 0
    uri = magnet_for(magnet_hash, "remembered magnet")
    api.client.post("/torrents", json={"uri": uri, "server_id": tr["id"]}, headers=headers)
    listing(api, headers)
    snapshot = api.query("SELECT server, info_hash, name, size FROM Torrent ORDER BY name DESC")
    added_by = api.query('SELECT "user", server, info_hash FROM UserTorrent ORDER BY id')
    assert snapshot == [
        (tr["id"], torrent.info_hash, "remembered.bin", torrent.size),
        (tr["id"], magnet_hash, "remembered magnet", 0),
    ]
    assert added_by == [(1, tr["id"], torrent.info_hash), (1, tr["id"], magnet_hash)]
    api.client.delete(f"/torrents/{torrent.info_hash}", headers=headers)
    api.client.delete(f"/torrents/{magnet_hash}", headers=headers)
    assert api.query("SELECT count(*) FROM Torrent") == [(0,)]


def test_get_start_stop_delete_find_the_server_themselves(api, alice):
    headers, tr, rt = alice
    torrent = make_torrent("lifecycle.bin")
    upload(api, headers, rt["id"], torrent, start=False)
    url = f"/torrents/{torrent.info_hash}"

    got = api.client.get(url, headers=headers)
    assert got.status_code == 200
    assert (got.json()["server_id"], got.json()["state"]) == (rt["id"], "stopped")
    started = api.client.post(f"{url}/start", headers=headers)
    assert started.status_code == 200 and started.json()["state"] in ("downloading", "checking")
    stopped = api.client.post(f"{url}/stop", headers=headers)
    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
    upper = api.client.get(url.upper().replace("/TORRENTS/", "/torrents/"), headers=headers)
    assert upper.status_code == 200 and upper.json()["info_hash"] == torrent.info_hash
    with_server = api.client.get(url, params={"server_id": rt["id"]}, headers=headers)
    assert with_server.json()["server_id"] == rt["id"]
    wrong_server = api.client.get(url, params={"server_id": tr["id"]}, headers=headers)
    assert wrong_server.status_code == 404
    assert wrong_server.json()["detail"].startswith("seedbox-tr: ")

    assert api.client.delete(url, headers=headers).status_code == 204
    gone = api.client.get(url, headers=headers)
    assert gone.status_code == 404
    assert gone.json() == {
        "detail": f"no torrent {torrent.info_hash} on any of your enabled servers"
    }


def test_files_listing(api, alice):
    headers, tr, _ = alice
    torrent = make_torrent("album", files=[("cd1/a.flac", 20000), ("b.txt", 300)])
    upload(api, headers, tr["id"], torrent, start=False)
    body = api.client.get(f"/torrents/{torrent.info_hash}?files=true", headers=headers).json()
    files = sorted(body["files"], key=lambda f: f["path"])
    assert [(f["path"], f["size"], f["priority"]) for f in files] == [
        ("b.txt", 300, "normal"),
        ("cd1/a.flac", 20000, "normal"),
    ]
    assert all(f["progress"] == 0.0 for f in files)
    plain = api.client.get(f"/torrents/{torrent.info_hash}", headers=headers).json()
    assert "files" not in plain and plain["eta"] is None and plain["label"] is None


def test_delete_with_data_removes_the_files(api, alice):
    headers, tr, _ = alice
    torrent = make_torrent("with-data.bin")
    upload(api, headers, tr["id"], torrent, start=False)
    data_file = alice_download_dir(api, headers, torrent.info_hash) / "with-data.bin"
    data_file.write_bytes(b"x" * 100)
    response = api.client.delete(f"/torrents/{torrent.info_hash}?delete_data=true", headers=headers)
    assert response.status_code == 204
    wait_until(lambda: not data_file.exists(), timeout=5, message="data deleted")
    actions = api.client.get("/actions?limit=1", headers=headers).json()
    assert (actions[0]["action"], actions[0]["detail"]) == ("torrent.remove", "delete_data=True")


def test_delete_with_data_on_rtorrent_never_deletes_another_torrents_folder(
    api, alice, rtorrent_clean
):
    """The reported case: a single-file torrent named like an existing folder."""
    headers, _, rt = alice
    downloads = rtorrent_clean.download_dir
    sentinel = downloads / "Movies" / "other torrent.mkv"
    sentinel.parent.mkdir()
    sentinel.write_text("keep")
    torrent = make_torrent("Movies")
    assert upload(api, headers, rt["id"], torrent, start=False).status_code == 201
    response = api.client.delete(f"/torrents/{torrent.info_hash}?delete_data=true", headers=headers)
    assert response.status_code == 502
    assert response.json()["detail"].startswith(
        f"seedbox-rt: removed torrent {torrent.info_hash} but kept 1 of its paths that are not "
        f"plain files or could not be deleted: {downloads}/Movies"
    )
    assert sentinel.read_text() == "keep"
    assert api.client.get(f"/torrents/{torrent.info_hash}", headers=headers).status_code == 404
    sentinel.unlink()
    sentinel.parent.rmdir()


def alice_download_dir(api, headers, info_hash):
    from pathlib import Path

    return Path(api.client.get(f"/torrents/{info_hash}", headers=headers).json()["download_dir"])


def test_same_torrent_on_two_servers_is_409_with_their_ids(api, alice):
    headers, tr, rt = alice
    torrent = make_torrent("on-both.bin")
    upload(api, headers, tr["id"], torrent, start=False)
    upload(api, headers, rt["id"], torrent, start=False)
    for method, path in [("GET", ""), ("POST", "/start"), ("POST", "/stop"), ("DELETE", "")]:
        response = api.client.request(
            method, f"/torrents/{torrent.info_hash}{path}", headers=headers
        )
        assert response.status_code == 409, (method, path)
        body = response.json()
        assert sorted(body["server_ids"]) == sorted([tr["id"], rt["id"]])
        assert "is on 2 of your servers; say which with server_id" in body["detail"]
    one = api.client.delete(f"/torrents/{torrent.info_hash}?server_id={tr['id']}", headers=headers)
    assert one.status_code == 204
    assert (
        api.client.get(f"/torrents/{torrent.info_hash}", headers=headers).json()["server_id"]
        == rt["id"]
    )


def test_adding_a_torrent_already_there_is_409(api, alice):
    headers, tr, rt = alice
    torrent = make_torrent("twice.bin")
    for server in (tr, rt):
        assert upload(api, headers, server["id"], torrent, start=False).status_code == 201
        again = upload(api, headers, server["id"], torrent, start=False)
        assert again.status_code == 409
        assert again.json()["detail"].startswith(f"{server['name']}: ")
        magnet = api.client.post(
            "/torrents",
            json={"uri": magnet_for(torrent.info_hash), "server_id": server["id"]},
            headers=headers,
        )
        assert magnet.status_code == 409


def test_adding_by_url_the_app_fetches_the_file_for_every_server(api, alice):
    headers, tr, rt = alice
    api.services.torrents.url_fetch_allows_private = lambda: True  # the test server: loopback
    tr_torrent, rt_torrent = make_torrent("by-url-tr.bin"), make_torrent("by-url-rt.bin")
    routes = {"/tr.torrent": (200, tr_torrent.data), "/rt.torrent": (200, rt_torrent.data)}
    with http_files(routes) as base:
        added = {}
        for server, path in ((tr, "/tr.torrent"), (rt, "/rt.torrent")):
            response = api.client.post(
                "/torrents",
                json={"uri": base + path, "server_id": server["id"], "start": False},
                headers=headers,
            )
            assert response.status_code == 201
            added[server["name"]] = response.json()
    # The app fetched and parsed each file: both hashes and names are known at once, and the
    # servers never needed to reach the URL (it is gone now).
    assert added == {
        name: {"info_hash": t.info_hash, "server_id": server["id"], "name": t.name}
        for name, t, server in (("seedbox-tr", tr_torrent, tr), ("seedbox-rt", rt_torrent, rt))
    }
    rows = listing(api, headers)["torrents"]
    assert {(t["info_hash"], t["server_id"]) for t in rows} == {
        (tr_torrent.info_hash, tr["id"]),
        (rt_torrent.info_hash, rt["id"]),
    }
    missing = api.client.post(
        "/torrents", json={"uri": base + "/gone.torrent", "server_id": tr["id"]}, headers=headers
    )
    assert missing.status_code == 502
    assert missing.json()["detail"] == (
        f"could not fetch '{base}/gone.torrent': the connection was refused or failed — is the "
        "address right?"
    )


def test_a_url_whose_server_never_answers_is_a_504(api, alice, monkeypatch):
    from torrentdesk.services import url_fetch

    headers, tr, _ = alice
    api.services.torrents.url_fetch_allows_private = lambda: True
    monkeypatch.setattr(url_fetch, "FETCH_TIMEOUT", 1.0)
    with black_hole() as port:
        url = f"http://127.0.0.1:{port}/slow.torrent"
        response = api.client.post(
            "/torrents", json={"uri": url, "server_id": tr["id"]}, headers=headers
        )
    assert response.status_code == 504
    assert response.json()["detail"] == f"fetching {url!r} took longer than 1 s: try again later"


def test_base32_magnet_reports_the_hex_hash(api, alice):
    import base64

    headers, tr, _ = alice
    info_hash = random_info_hash()
    b32 = base64.b32encode(bytes.fromhex(info_hash)).decode()
    response = api.client.post(
        "/torrents",
        json={"uri": f"magnet:?xt=urn:btih:{b32}", "server_id": tr["id"], "start": False},
        headers=headers,
    )
    assert response.status_code == 201 and response.json()["info_hash"] == info_hash
    settled(api, headers, info_hash, "stopped")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"uri": "ftp://x/y.torrent"}, 422, "not a magnet link or an http(s) URL"),
        ({"uri": "magnet:?xt=urn:btih:123"}, 422, "40 hex or 32 base32"),
        ({"uri": "magnet:?dn=x"}, 422, "no 'xt=urn:btih:' info hash"),
        ({"uri": "just words"}, 422, "not a magnet link or an http(s) URL"),
    ],
)
def test_bad_uris_are_422(api, alice, body, status, message):
    headers, tr, _ = alice
    response = api.client.post("/torrents", json={"server_id": tr["id"], **body}, headers=headers)
    assert response.status_code == status
    assert message in response.json()["detail"][0]["msg"]
    assert response.json()["detail"][0]["loc"] == ["body", "uri"]


def test_bad_server_ids_and_hashes(api, alice):
    headers, _, _ = alice
    missing_server = api.client.post(
        "/torrents", json={"uri": magnet_for(random_info_hash())}, headers=headers
    )
    assert missing_server.status_code == 422
    # No server and no add rule that matches: 422 on server_id, saying how to pick one.
    assert missing_server.json()["detail"][0]["loc"] == ["body", "server_id"]
    assert "none of your add rules matches" in missing_server.json()["detail"][0]["msg"]
    unknown = api.client.post(
        "/torrents",
        json={"uri": magnet_for(random_info_hash()), "server_id": "nope"},
        headers=headers,
    )
    assert unknown.status_code == 404 and unknown.json() == {"detail": "no server with id 'nope'"}
    assert api.client.get("/torrents?server_id=nope", headers=headers).status_code == 404
    # An over-long id is quoted cut short, never echoed whole.
    long_id = api.client.get(f"/torrents/{random_info_hash()}?server_id={'x' * 5000}",
                             headers=headers)  # fmt: skip
    assert long_id.status_code == 404
    assert long_id.json() == {"detail": f"no server with id {'x' * 64 + '…'!r}"}
    upload_missing = api.client.post(
        "/torrents/upload", files={"file": ("x", make_torrent("no-rule").data)}, headers=headers
    )
    assert upload_missing.status_code == 422
    assert upload_missing.json()["detail"][0]["loc"] == ["body", "server_id"]
    for bad_hash in ("abc", "g" * 40, "a" * 41):
        for method, path in [("GET", ""), ("POST", "/start"), ("POST", "/stop"), ("DELETE", "")]:
            response = api.client.request(method, f"/torrents/{bad_hash}{path}", headers=headers)
            assert response.status_code == 422, (bad_hash, method, path)
            assert response.json()["detail"][0]["loc"] == ["path", "info_hash"]
    unknown_hash = random_info_hash()
    for method, path in [("GET", ""), ("POST", "/start"), ("POST", "/stop"), ("DELETE", "")]:
        response = api.client.request(method, f"/torrents/{unknown_hash}{path}", headers=headers)
        assert response.status_code == 404, (method, path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html>not a torrent</html>", "not valid bencode"),
        (b"d8:announce3:urle", "no 'info' dictionary"),
        (b"", "not valid bencode"),
    ],
)
def test_uploads_are_checked_before_reaching_the_server(api, alice, data, message):
    headers, tr, _ = alice
    response = api.client.post(
        f"/torrents/upload?server_id={tr['id']}",
        files={"file": ("bad.torrent", data)},
        headers=headers,
    )
    assert response.status_code == 422
    assert message in response.json()["detail"][0]["msg"]
    assert listing(api, headers)["torrents"] == []


def test_uploads_over_10_mib_are_413(api, alice):
    headers, tr, _ = alice
    data = b"d4:info" + b"x" * (10 * 1024 * 1024)
    response = api.client.post(
        f"/torrents/upload?server_id={tr['id']}",
        files={"file": ("big.torrent", data)},
        headers=headers,
    )
    assert response.status_code == 413
    assert "larger than 10485760 bytes" in response.json()["detail"]


def test_a_dead_a_black_holed_and_a_wrong_password_server_never_hide_the_others(
    api, alice, tmp_path
):
    headers, tr, _ = alice
    torrent = make_torrent("survivor.bin")
    upload(api, headers, tr["id"], torrent, start=False)
    with running_transmission(tmp_path / "doomed") as doomed, black_hole() as hole_port:
        api.add_server(headers, **transmission_fields(doomed, name="doomed"))
        api.add_server(
            headers,
            name="hole",
            server_type="rtorrent",
            protocol="scgi",
            host="127.0.0.1",
            port=hole_port,
        )
        api.add_server(
            headers, **transmission_fields(tr_daemon(api, tr), name="wrong-pw", password="not-it")
        )
        assert {s["name"]: s["status"] for s in listing(api, headers)["servers"]}["doomed"] == (
            "connected"
        )
        doomed.process.terminate()  # stopped mid-test
        doomed.process.wait(10)

        started = time.monotonic()
        body = listing(api, headers)
        elapsed = time.monotonic() - started

    assert elapsed < API_TIMEOUT + 1.5, f"listing waited {elapsed:.1f} s"
    assert [t["info_hash"] for t in body["torrents"]] == [torrent.info_hash]
    servers = {s["name"]: s for s in body["servers"]}
    assert (servers["seedbox-tr"]["status"], servers["seedbox-tr"]["count"]) == ("connected", 1)
    assert servers["seedbox-rt"]["status"] == "connected"
    assert servers["doomed"]["status"] == "error"
    assert servers["doomed"]["error"].startswith("doomed: cannot connect")
    assert servers["hole"]["status"] == "error"
    assert servers["hole"]["error"].startswith(
        "hole: no answer"
    )  # the socket or the call timer, whichever fires first
    assert servers["wrong-pw"]["status"] == "error"
    assert "wrong username or password" in servers["wrong-pw"]["error"]
    stored = {s["name"]: s for s in api.client.get("/servers", headers=headers).json()}
    assert (stored["hole"]["status"], stored["seedbox-tr"]["status"]) == ("error", "connected")


def tr_daemon(api, tr):
    """The connection details of an existing Transmission server (with its real password)."""
    connection = api.services.servers.connection(1, tr["id"])
    return type(
        "Daemon",
        (),
        {
            "host": connection.host,
            "port": connection.port,
            "username": connection.username,
            "password": connection.password,
        },
    )


def test_remote_failures_are_502_and_504_naming_the_server(api):
    headers = api.user("alice")
    info_hash = random_info_hash()
    with black_hole() as hole_port, closed_port() as dead_port:
        hole = api.add_server(
            headers,
            name="hole",
            server_type="rtorrent",
            protocol="scgi",
            host="127.0.0.1",
            port=hole_port,
        )
        dead = api.add_server(
            headers, name="dead", server_type="transmission", host="127.0.0.1", port=dead_port
        )
        timed_out = api.client.post(
            f"/torrents/{info_hash}/start?server_id={hole['id']}", headers=headers
        )
        assert timed_out.status_code == 504
        assert timed_out.json()["detail"].startswith(
            "hole: no answer"
        )  # the socket or the call timer, whichever fires first
        refused = api.client.post(
            "/torrents",
            json={"uri": magnet_for(info_hash), "server_id": dead["id"]},
            headers=headers,
        )
        assert refused.status_code == 502
        assert refused.json()["detail"].startswith("dead: cannot connect")
        # Without server_id, a hash we could not look for anywhere is not "not found".
        unknown = api.client.get(f"/torrents/{info_hash}", headers=headers)
        assert unknown.status_code in (502, 504)
    actions = api.client.get("/actions", headers=headers).json()
    failed_add = next(a for a in actions if a["action"] == "torrent.add")
    assert (failed_add["ok"], failed_add["info_hash"]) == (False, info_hash)
    assert failed_add["detail"].startswith("dead: cannot connect")


def test_another_users_torrents_are_404(api, alice):
    headers, tr, rt = alice
    bob = api.user("bob")
    torrent = make_torrent("alices.bin")
    upload(api, headers, tr["id"], torrent, start=False)
    settled(api, headers, torrent.info_hash, "stopped")
    assert listing(api, bob) == {"torrents": [], "servers": []}
    assert api.client.get(f"/torrents?server_id={tr['id']}", headers=bob).status_code == 404
    url = f"/torrents/{torrent.info_hash}"
    for method, path in [("GET", ""), ("POST", "/start"), ("POST", "/stop"), ("DELETE", "")]:
        for suffix in ("", f"?server_id={tr['id']}"):
            response = api.client.request(method, f"{url}{path}{suffix}", headers=bob)
            assert response.status_code == 404, (method, path, suffix)
    adds = [
        api.client.post(
            "/torrents",
            json={"uri": magnet_for(random_info_hash()), "server_id": rt["id"]},
            headers=bob,
        ),
        upload(api, bob, rt["id"], make_torrent("bobs.bin")),
    ]
    assert [r.status_code for r in adds] == [404, 404]
    assert api.client.get("/actions", headers=bob).json() == []
    assert api.client.get(url, headers=headers).json()["state"] == "stopped"  # untouched


def test_every_change_is_in_the_audit_log_latest_first(api, alice):
    headers, tr, _ = alice
    torrent = make_torrent("audited.bin")
    upload(api, headers, tr["id"], torrent, start=False)
    api.client.post(f"/torrents/{torrent.info_hash}/start", headers=headers)
    api.client.post(f"/torrents/{torrent.info_hash}/stop", headers=headers)
    api.client.delete(f"/torrents/{torrent.info_hash}", headers=headers)
    actions = api.client.get("/actions", headers=headers).json()
    assert [a["action"] for a in actions] == [
        "torrent.remove",
        "torrent.stop",
        "torrent.start",
        "torrent.add",
        "server.add",
        "server.add",
    ]
    assert all(a["ok"] for a in actions)
    assert {a["info_hash"] for a in actions[:4]} == {torrent.info_hash}
    assert {a["server_id"] for a in actions[:4]} == {tr["id"]}
    assert actions[3]["detail"] == "audited.bin"
    assert len(api.client.get("/actions?limit=2", headers=headers).json()) == 2
    assert api.client.get("/actions?limit=0", headers=headers).status_code == 422
    assert api.client.get("/actions?limit=1001", headers=headers).status_code == 422
