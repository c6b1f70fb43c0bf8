"""SPEC §10 inside a torrent through the REST API, on a real Transmission and rTorrent: files
(GET and PUT), trackers (GET, add, remove/disable), peers, replace_tracker across both servers
in one action, unwanted_files on upload; bad input is 422 and never reaches a daemon."""

from __future__ import annotations

import pytest

from tests.api_fixtures import rtorrent_scgi_fields, transmission_fields
from tests.daemons.fakes import closed_port
from tests.test_inside_torrent import FILES, TRACKER, rt_priorities, rt_trackers, tr_files
from tests.torrent_factory import make_torrent

pytestmark = pytest.mark.daemon


def upload(api, headers, server_id, torrent, status=201, **query):
    params = "&".join(
        f"{key}={v}"
        for key, values in query.items()
        for v in (values if isinstance(values, list) else [values])
    )
    response = api.client.post(
        f"/torrents/upload?server_id={server_id}&start=false" + (f"&{params}" if params else ""),
        files={"file": ("x.torrent", torrent.data, "application/x-bittorrent")},
        headers=headers,
    )
    assert response.status_code == status, response.text
    return response.json()


def one_on_each(api, headers, tr, rt, name):
    """A 3-file torrent on each server, added paused; their hashes."""
    a, b = make_torrent(f"{name}-tr", FILES), make_torrent(f"{name}-rt", FILES)
    upload(api, headers, tr, a)
    upload(api, headers, rt, b)
    return a, b


@pytest.fixture
def servers(api, transmission_clean, rtorrent_clean):
    """alice's Transmission and rTorrent, tested once (so their capabilities are known)."""
    headers = api.user("alice")
    tr = api.add_server(headers, **transmission_fields(transmission_clean))
    rt = api.add_server(headers, **rtorrent_scgi_fields(rtorrent_clean))
    for server in (tr, rt):
        assert api.client.post(f"/servers/{server['id']}/test", headers=headers).json()["ok"]
    return headers, tr["id"], rt["id"]


def test_details_with_files_trackers_and_peers(api, servers) -> None:
    headers, tr, rt = servers
    for server_id in (tr, rt):
        torrent = make_torrent(f"td-api-details-{server_id[:6]}", FILES)
        upload(api, headers, server_id, torrent)
        response = api.client.get(
            f"/torrents/{torrent.info_hash}?files=true&trackers=true&peers=true", headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert [(f["index"], f["path"], f["size"], f["wanted"]) for f in body["files"]] == [
            (i, path, size, True) for i, (path, size) in enumerate(FILES)
        ]
        [tracker] = body["trackers"]
        assert tracker == {
            "url": TRACKER,
            "tier": 0,
            "status": "not_contacted",
            "message": None,
            "seeders": None,
            "leechers": None,
            "last_announce": None,
        }
        # With peers=true the peers themselves (none on loopback) replace their count.
        assert body["peers"] == []
        # Without asking: none of them; `peers` is the count of connected peers.
        plain = api.client.get(f"/torrents/{torrent.info_hash}", headers=headers).json()
        assert not {"files", "trackers"} & plain.keys() and plain["peers"] == 0


def test_put_files_round_trip_and_bad_input(
    api, servers, transmission_clean, rtorrent_clean
) -> None:
    headers, tr, rt = servers
    a, b = one_on_each(api, headers, tr, rt, "td-api-files")

    response = api.client.put(
        f"/torrents/{a.info_hash}/files",
        json={"files": [{"index": 1, "wanted": False}, {"index": 2, "priority": "low"}]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert [(f["wanted"], f["priority"]) for f in response.json()["files"]] == [
        (True, "normal"),
        (False, "normal"),
        (True, "low"),
    ]
    assert tr_files(transmission_clean, a.info_hash) == [(True, 0), (False, 0), (True, -1)]

    response = api.client.put(
        f"/torrents/{b.info_hash}/files?server_id={rt}",
        json={"files": [{"index": 0, "wanted": False}, {"index": 2, "priority": "high"}]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert rt_priorities(rtorrent_clean, b.info_hash) == [0, 1, 2]

    def put(info_hash, body, status=422):
        response = api.client.put(f"/torrents/{info_hash}/files", json=body, headers=headers)
        assert response.status_code == status, response.text
        return response.json()["detail"]

    assert "no file index 3" in str(put(a.info_hash, {"files": [{"index": 3, "wanted": True}]}))
    assert "given twice" in str(
        put(
            a.info_hash, {"files": [{"index": 1, "wanted": True}, {"index": 1, "priority": "high"}]}
        )
    )
    put(a.info_hash, {"files": []})
    put(a.info_hash, {"files": [{"index": 0}]})  # nothing to change
    put(a.info_hash, {"files": [{"index": -1, "wanted": True}]})
    put(a.info_hash, {"files": [{"index": 0, "priority": "urgent"}]})
    put(a.info_hash, {"files": [{"index": "x" * 10_000, "wanted": True}]})
    put(a.info_hash, {"files": [{"index": 0, "wanted": True}] * 100_001})
    put("abc", {"files": [{"index": 0, "wanted": True}]})
    # rTorrent has no "low": refused before anything is sent, saying which levels it has.
    detail = put(b.info_hash, {"files": [{"index": 1, "priority": "low"}]})
    assert "seedbox-rt has no 'low' file priority" in str(detail)
    assert "normal, high" in str(detail)
    put("f" * 40, {"files": [{"index": 0, "wanted": True}]}, status=404)
    # Nothing above changed anything.
    assert tr_files(transmission_clean, a.info_hash) == [(True, 0), (False, 0), (True, -1)]
    assert rt_priorities(rtorrent_clean, b.info_hash) == [0, 1, 2]


def test_trackers_add_remove_disable_and_bad_urls(
    api, servers, transmission_clean, rtorrent_clean
) -> None:
    headers, tr, rt = servers
    a, b = one_on_each(api, headers, tr, rt, "td-api-trk")
    extra = "udp://127.0.0.1:6969/announce"

    def post(info_hash, body, status=200):
        response = api.client.post(f"/torrents/{info_hash}/trackers", json=body, headers=headers)
        assert response.status_code == status, response.text
        return response.json()

    assert post(a.info_hash, {"add": [extra], "remove": [TRACKER]}) == {
        "results": [
            {"url": extra, "ok": True, "error": None, "disabled": False},
            {"url": TRACKER, "ok": True, "error": None, "disabled": False},
        ]
    }
    assert [t["announce"] for t in transmission_clean.field(a.info_hash, "trackerStats")] == [extra]
    assert post(b.info_hash, {"add": [extra], "remove": [TRACKER]}) == {
        "results": [
            {"url": extra, "ok": True, "error": None, "disabled": False},
            {"url": TRACKER, "ok": True, "error": None, "disabled": True},
        ]
    }
    assert rt_trackers(rtorrent_clean, b.info_hash) == [(TRACKER, 0, 0), (extra, 1, 1)]
    # What a server refuses says which server, on both types.
    for info_hash, name in ((a.info_hash, "seedbox-tr"), (b.info_hash, "seedbox-rt")):
        assert post(info_hash, {"add": [extra], "remove": ["http://absent.example/a"]}) == {
            "results": [
                {"url": extra, "ok": False, "error": f"{name}: already a tracker of this torrent",
                 "disabled": False},
                {"url": "http://absent.example/a", "ok": False,
                 "error": f"{name}: not a tracker of this torrent", "disabled": False},
            ]
        }  # fmt: skip
    listed = api.client.get(f"/torrents/{b.info_hash}?trackers=true", headers=headers).json()
    assert [(t["url"], t["status"]) for t in listed["trackers"]] == [
        (TRACKER, "disabled"),
        (extra, "not_contacted"),
    ]

    for body in (
        {"add": ["ftp://127.0.0.1/announce"]},
        {"add": ["http://"]},
        {"add": ["http://a b/announce"]},
        {"add": ["http://x/" + "a" * 3000]},
        {"add": [f"http://t{i}.example/announce" for i in range(101)]},
        {"remove": [42]},
        {},
    ):
        post(a.info_hash, body, status=422)
    assert [t["announce"] for t in transmission_clean.field(a.info_hash, "trackerStats")] == [extra]


def test_replace_tracker_across_transmission_and_rtorrent_in_one_action(
    api, servers, transmission_clean, rtorrent_clean
) -> None:
    headers, tr, rt = servers
    a, b = one_on_each(api, headers, tr, rt, "td-api-rep")
    new = "https://tracker.example.net/announce"
    targets = [
        {"server_id": tr, "info_hash": a.info_hash},
        {"server_id": rt, "info_hash": b.info_hash},
    ]
    response = api.client.post(
        "/torrents/actions",
        json={"action": "replace_tracker", "targets": targets, "old_url": TRACKER, "new_url": new},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert [r["ok"] for r in response.json()["results"]] == [True, True]
    assert [t["announce"] for t in transmission_clean.field(a.info_hash, "trackerStats")] == [new]
    assert rt_trackers(rtorrent_clean, b.info_hash) == [(TRACKER, 0, 0), (new, 0, 1)]

    # Again: Transmission's old tracker is gone now, and the result says so.
    again = api.client.post(
        "/torrents/actions",
        json={
            "action": "replace_tracker",
            "targets": targets[:1],
            "old_url": TRACKER,
            "new_url": new,
        },
        headers=headers,
    ).json()["results"]
    assert again[0]["ok"] is False and "has no tracker" in again[0]["error"]
    assert again[0]["error"].startswith("seedbox-tr:")
    audit = api.client.get("/actions?limit=3", headers=headers).json()
    assert audit[0]["action"] == "torrent.replace_tracker"

    for extra in ({"old_url": TRACKER}, {"old_url": TRACKER, "new_url": "javascript:x"}):
        response = api.client.post(
            "/torrents/actions",
            json={"action": "replace_tracker", "targets": targets, **extra},
            headers=headers,
        )
        assert response.status_code == 422, response.text


def test_unwanted_files_on_upload(api, servers, transmission_clean, rtorrent_clean) -> None:
    headers, tr, rt = servers
    a, b = make_torrent("td-api-unw-tr", FILES), make_torrent("td-api-unw-rt", FILES)
    upload(api, headers, tr, a, unwanted_files=[0, 2])
    upload(api, headers, rt, b, unwanted_files=[1])
    assert [w for w, _ in tr_files(transmission_clean, a.info_hash)] == [False, True, False]
    assert rt_priorities(rtorrent_clean, b.info_hash) == [1, 0, 1]

    c = make_torrent("td-api-unw-bad", FILES)
    detail = upload(api, headers, tr, c, status=422, unwanted_files=[1, 3])["detail"]
    assert "no file index 3" in str(detail) and "it has 3 files" in str(detail)
    upload(api, headers, tr, c, status=422, unwanted_files=[-1])
    upload(api, headers, tr, c, status=422, unwanted_files=["x"])
    with transmission_clean.raw() as raw:
        present = {t.hash_string for t in raw.get_torrents(arguments=["hashString"])}
    assert c.info_hash not in present


def test_a_server_down_is_502_naming_it(api, servers) -> None:
    headers, _, _ = servers
    with closed_port() as port:
        fields = {"name": "gone-box", "server_type": "rtorrent", "protocol": "scgi"}
        down = api.add_server(headers, host="127.0.0.1", port=port, **fields)
        for method, path, body in (
            ("put", "files", {"files": [{"index": 0, "wanted": False}]}),
            ("post", "trackers", {"add": ["http://t.example/announce"]}),
        ):
            response = getattr(api.client, method)(
                f"/torrents/{'a' * 40}/{path}?server_id={down['id']}", json=body, headers=headers
            )
            assert response.status_code == 502, response.text
            assert response.json()["detail"].startswith("gone-box:")
