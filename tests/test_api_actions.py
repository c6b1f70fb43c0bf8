"""SPEC §9 batch actions: POST /torrents/actions over targets on many servers, against real
daemons (Transmission, rTorrent over SCGI and behind nginx), read back from the daemons."""

from __future__ import annotations

import pytest

from tests.api_fixtures import (
    qbittorrent_fields,
    rtorrent_http_fields,
    rtorrent_scgi_fields,
    transmission_fields,
)
from tests.daemons.common import wait_until
from tests.daemons.fakes import closed_port
from tests.torrent_factory import make_torrent, random_info_hash

pytestmark = pytest.mark.daemon


def upload(api, headers, server_id, torrent, start=False):
    response = api.client.post(
        f"/torrents/upload?server_id={server_id}&start={str(start).lower()}",
        files={"file": ("x.torrent", torrent.data, "application/x-bittorrent")},
        headers=headers,
    )
    assert response.status_code == 201, response.text


def act(api, headers, action, targets, status=200, **params):
    response = api.client.post(
        "/torrents/actions",
        json={
            "action": action,
            "targets": [{"server_id": s, "info_hash": h} for s, h in targets],
            **params,
        },
        headers=headers,
    )
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def three_servers(api, transmission_clean, rtorrent_clean, rtorrent_http):
    """Alice's Transmission, rTorrent over SCGI and the same rTorrent behind nginx (each a
    torrent of its own), and a fourth server that is down."""
    headers = api.user("alice")
    tr = api.add_server(headers, **transmission_fields(transmission_clean))
    rt = api.add_server(headers, **rtorrent_scgi_fields(rtorrent_clean))
    rt_http = api.add_server(headers, **rtorrent_http_fields(rtorrent_http))
    torrents = {}
    for server, name in ((tr, "td-act-tr.bin"), (rt, "td-act-rt.bin"), (rt_http, "td-act-rh.bin")):
        torrent = make_torrent(name)
        upload(api, headers, server["id"], torrent)
        torrents[server["id"]] = torrent.info_hash
    return headers, tr, rt, rt_http, torrents, transmission_clean, rtorrent_clean


def daemon_states(transmission, rtorrent, tr_hash, rt_hashes):
    """Read back from the daemons themselves, not from torrentdesk."""
    tr_state = transmission.field(tr_hash, "status")  # tr_torrent_activity: 0 is stopped
    return tr_state, [rtorrent.rpc("d.state", h.upper()) for h in rt_hashes]


def test_start_stop_recheck_reannounce_remove_across_three_servers(api, three_servers):
    headers, tr, rt, rt_http, torrents, transmission, rtorrent = three_servers
    targets = list(torrents.items())
    rt_hashes = [torrents[rt["id"]], torrents[rt_http["id"]]]

    started = act(api, headers, "start", targets)
    assert started == {
        "results": [{"server_id": s, "info_hash": h, "ok": True, "error": None} for s, h in targets]
    }
    wait_until(
        lambda: daemon_states(transmission, rtorrent, torrents[tr["id"]], rt_hashes)[1] == [1, 1],
        message="rTorrent started",
    )
    wait_until(
        # Downloading (4): past the verify of a paused add, so the stop below finds it running.
        lambda: daemon_states(transmission, rtorrent, torrents[tr["id"]], rt_hashes)[0] == 4,
        message="Transmission started",
    )

    assert all(r["ok"] for r in act(api, headers, "stop", targets)["results"])
    assert wait_until(
        lambda: (
            states := daemon_states(transmission, rtorrent, torrents[tr["id"]], rt_hashes)
        )[1] == [0, 0]
        and states[0] == 0
        and states,
        message="all stopped",
    )
    assert all(r["ok"] for r in act(api, headers, "reannounce", targets)["results"])
    assert all(r["ok"] for r in act(api, headers, "recheck", targets)["results"])

    removed = act(api, headers, "remove", targets, delete_data=True)
    assert all(r["ok"] for r in removed["results"])
    assert rtorrent.hashes() & set(rt_hashes) == set()
    listing = api.client.get("/torrents", headers=headers).json()
    assert listing["torrents"] == []

    audit = api.client.get("/actions?limit=20", headers=headers).json()
    removes = [(a["server_id"], a["info_hash"], a["ok"], a["detail"]) for a in audit[:3]]
    assert sorted(removes) == sorted((s, h, True, "delete_data=True") for s, h in targets)
    assert [a["action"] for a in audit[:15]] == (
        ["torrent.remove"] * 3
        + ["torrent.recheck"] * 3
        + ["torrent.reannounce"] * 3
        + ["torrent.stop"] * 3
        + ["torrent.start"] * 3
    )


def test_a_down_server_and_unknown_targets_fail_alone(api, three_servers, tmp_path):
    headers, tr, rt, _, torrents, _, rtorrent = three_servers
    with closed_port() as port:
        down = api.add_server(
            headers, **rtorrent_scgi_fields(rtorrent, name="gone-rt", port=port)
        )
        bob = api.user("bob")
        bobs = api.add_server(bob, **rtorrent_scgi_fields(rtorrent, name="bobs-rt"))
        unknown = random_info_hash()
        targets = [
            (tr["id"], torrents[tr["id"]]),
            (down["id"], random_info_hash()),
            (rt["id"], unknown),
            (rt["id"], torrents[rt["id"]]),
            (bobs["id"], torrents[rt["id"]]),
            ("x" * 500, torrents[rt["id"]]),
            (rt["id"], "not-a-hash"),
        ]
        results = act(api, headers, "stop", targets)["results"]

    assert [r["ok"] for r in results] == [True, False, False, True, False, False, False]
    assert results[1]["error"].startswith("gone-rt: ")
    assert "connect" in results[1]["error"]
    assert results[2]["error"] == f"seedbox-rt: no torrent with info hash {unknown} on this server"
    assert results[4]["error"] == f"no server with id {bobs['id']!r}"
    assert results[5]["error"] == f"no server with id {'x' * 64 + '…'!r}"  # cut short
    assert results[6]["error"] == "'not-a-hash' is not an info hash (40 hex characters)"
    assert rtorrent.rpc("d.state", torrents[rt["id"]].upper()) == 0
    # Bob's server was not touched by Alice's request, and his audit log is empty.
    assert api.client.get("/actions", headers=bob).json()[0]["action"] == "server.add"
    audit = api.client.get("/actions?limit=7", headers=headers).json()
    assert [a["ok"] for a in reversed(audit)] == [r["ok"] for r in results]


def test_limits_and_validation(api, three_servers):
    headers, tr, *_ = three_servers
    too_many = [(tr["id"], random_info_hash()) for _ in range(10_001)]
    response = api.client.post(
        "/torrents/actions",
        json={
            "action": "start",
            "targets": [{"server_id": s, "info_hash": h} for s, h in too_many],
        },
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "targets"]
    unknown_action = act(api, headers, "explode", [], status=422)
    assert unknown_action["detail"][0]["loc"] == ["body", "action"]
    assert api.client.post("/torrents/actions", json={"action": "start"}).status_code == 401
    assert act(api, headers, "start", []) == {"results": []}


HOSTILE_LABELS = ["a b", "ünïcødé ✓", "q'\"uote", "$HOME", "x;y", "100%", "(p)!~*"]


def test_labels_round_trip_on_every_transport_read_back_from_the_daemons(api, three_servers):
    headers, tr, rt, rt_http, torrents, transmission, rtorrent = three_servers
    targets = list(torrents.items())

    result = act(api, headers, "set_labels", targets, labels=HOSTILE_LABELS)
    assert [r["ok"] for r in result["results"]] == [True, True, True], result
    assert transmission.field(torrents[tr["id"]], "labels") == HOSTILE_LABELS
    from torrentdesk.clients.rtorrent import decode_labels

    for server in (rt, rt_http):
        raw = rtorrent.rpc("d.custom1", torrents[server["id"]].upper())
        assert "," not in raw.replace("%2C", "") or raw.count(",") == len(HOSTILE_LABELS) - 1
        assert not any(c in raw for c in " $;\"")  # URL-encoded, as Flood writes its tags
        assert decode_labels(raw) == HOSTILE_LABELS
    listing = api.client.get("/torrents", headers=headers).json()["torrents"]
    assert {t["server_id"]: t["labels"] for t in listing} == {s: HOSTILE_LABELS for s, _ in targets}
    assert {t["label"] for t in listing} == {"a b"}
    assert {t["tracker"] for t in listing} == {"127.0.0.1"}  # the first tracker's host
    assert {t["queue_position"] is None for t in listing} == {True, False}  # rTorrent: none

    act(api, headers, "add_labels", targets, labels=["new", "a b"])
    act(api, headers, "remove_labels", targets, labels=["$HOME", "x;y", "absent"])
    expected = ["a b", "ünïcødé ✓", "q'\"uote", "100%", "(p)!~*", "new"]
    assert transmission.field(torrents[tr["id"]], "labels") == expected
    for server in (rt, rt_http):
        assert decode_labels(rtorrent.rpc("d.custom1", torrents[server["id"]].upper())) == expected


def test_rtorrent_labels_written_by_rutorrent_and_flood_read_right(api, three_servers):
    headers, _, rt, rt_http, torrents, _, rtorrent = three_servers
    rtorrent.rpc("d.custom1.set", torrents[rt["id"]].upper(), "Linux%20ISOs")  # ruTorrent
    rtorrent.rpc("d.custom1.set", torrents[rt_http["id"]].upper(), "tv,hd%20x,%24a%3Bb")  # Flood
    listing = api.client.get("/torrents", headers=headers).json()["torrents"]
    labels = {t["info_hash"]: t["labels"] for t in listing}  # both servers are one rTorrent
    assert labels[torrents[rt["id"]]] == ["Linux ISOs"]
    assert labels[torrents[rt_http["id"]]] == ["tv", "hd x", "$a;b"]


@pytest.mark.parametrize("labels", [["a,b"], [""], ["x" * 65], ["tab\there"]])
def test_bad_labels_are_422(api, three_servers, labels):
    headers, tr, *_ = three_servers
    body = act(api, headers, "set_labels", [(tr["id"], random_info_hash())], 422, labels=labels)
    assert body["detail"][0]["loc"] == ["body", "labels"]


def test_move_relocates_on_rtorrent_and_moves_data_on_transmission(api, three_servers, tmp_path):
    headers, tr, rt, rt_http, torrents, transmission, rtorrent = three_servers
    act(api, headers, "start", [(rt["id"], torrents[rt["id"]])])
    wait_until(lambda: rtorrent.rpc("d.is_active", torrents[rt["id"]].upper()) == 1)
    target_dir = tmp_path / "moved"
    target_dir.mkdir()
    tr_data = transmission.download_dir / "td-act-tr.bin"
    tr_data.write_bytes(b"x" * 100)

    refused = act(
        api, headers, "move", [(rt_http["id"], torrents[rt_http["id"]])],
        download_dir=str(target_dir), move_data=True,
    )["results"][0]
    assert refused["ok"] is False
    assert refused["error"].startswith("seedbox-rt-http: ")
    assert "cannot move data" in refused["error"]

    moved = act(
        api, headers, "move", [(rt["id"], torrents[rt["id"]]), (tr["id"], torrents[tr["id"]])],
        download_dir=str(target_dir) + "/", move_data=False,
    )
    assert [r["ok"] for r in moved["results"]] == [True, True]
    assert rtorrent.rpc("d.directory", torrents[rt["id"]].upper()) == str(target_dir)
    target = torrents[rt["id"]].upper()
    wait_until(lambda: rtorrent.rpc("d.is_active", target) == 1, message="running again")
    assert transmission.field(torrents[tr["id"]], "downloadDir") == str(target_dir)
    assert tr_data.exists()  # move_data false: Transmission only points there

    back = act(
        api, headers, "move", [(tr["id"], torrents[tr["id"]])],
        download_dir=str(transmission.download_dir / "sub"), move_data=True,
    )
    assert back["results"][0]["ok"] is True
    assert transmission.field(torrents[tr["id"]], "downloadDir") == str(
        transmission.download_dir / "sub"
    )
    body = act(api, headers, "move", [(tr["id"], torrents[tr["id"]])], 422, download_dir="rel")
    assert body["detail"][0]["loc"] == ["body", "download_dir"]


def test_queue_moves_where_there_is_a_queue_and_a_reason_where_not(api, three_servers):
    headers, tr, rt, _, torrents, transmission, _ = three_servers
    second = make_torrent("td-act-tr-2.bin")
    upload(api, headers, tr["id"], second)
    api.client.post(f"/servers/{rt['id']}/test", headers=headers)  # capabilities now known
    with closed_port() as port:
        down = api.add_server(headers, **transmission_fields(transmission, name="gone", port=port))
        results = act(
            api, headers, "queue_top",
            [(tr["id"], second.info_hash), (rt["id"], torrents[rt["id"]]), (down["id"], "ab" * 20)],
        )["results"]
    assert [r["ok"] for r in results] == [True, False, False]
    assert results[1]["error"] == "seedbox-rt: this server has no queue"
    assert results[2]["error"].startswith("gone: ")
    assert transmission.field(second.info_hash, "queuePosition") == 0


# -- the three server types in one request --------------------------------------------------


def test_bulk_actions_across_three_server_types_read_back_from_the_daemons(
    api, three_servers, qbittorrent_clean
):
    """Transmission, rTorrent (SCGI and HTTP) and qBittorrent targets in every request."""
    headers, tr, rt, rt_http, torrents, transmission, rtorrent = three_servers
    qbt = qbittorrent_clean
    qb = api.add_server(headers, **qbittorrent_fields(qbt))
    qb_torrent = make_torrent("td-act-qb.bin")
    upload(api, headers, qb["id"], qb_torrent)
    torrents[qb["id"]] = qb_torrent.info_hash
    targets = list(torrents.items())
    rt_hashes = [torrents[rt["id"]], torrents[rt_http["id"]]]

    def qb_state() -> str:
        return qbt.torrent(qb_torrent.info_hash).get("state", "gone")

    assert all(r["ok"] for r in act(api, headers, "start", targets)["results"])
    wait_until(lambda: qb_state() in ("stalledDL", "downloading"), message="qBittorrent started")
    wait_until(
        lambda: daemon_states(transmission, rtorrent, torrents[tr["id"]], rt_hashes)
        == (4, [1, 1]),
        message="the others started",
    )
    assert all(r["ok"] for r in act(api, headers, "stop", targets)["results"])
    wait_until(lambda: qb_state() == "pausedDL", message="qBittorrent stopped")
    wait_until(
        lambda: daemon_states(transmission, rtorrent, torrents[tr["id"]], rt_hashes)
        == (0, [0, 0]),
        message="the others stopped",
    )
    labelled = act(api, headers, "set_labels", targets, labels=HOSTILE_LABELS)
    assert [r["ok"] for r in labelled["results"]] == [True] * 4, labelled
    tags = qbt.torrent(qb_torrent.info_hash)["tags"].split(", ")
    assert sorted(tags) == sorted(HOSTILE_LABELS)  # tags, created; qBittorrent sorts them
    assert transmission.field(torrents[tr["id"]], "labels") == HOSTILE_LABELS
    assert all(r["ok"] for r in act(api, headers, "reannounce", targets)["results"])
    assert all(r["ok"] for r in act(api, headers, "recheck", targets)["results"])
    api.client.post(f"/servers/{qb['id']}/test", headers=headers)  # capabilities now known
    queue = act(api, headers, "queue_top", [(qb["id"], qb_torrent.info_hash)])["results"]
    assert queue[0]["ok"] is False and "queueing must be enabled" in queue[0]["error"]
    assert queue[0]["error"].startswith("seedbox-qb: ")

    removed = act(api, headers, "remove", targets, delete_data=True)
    assert all(r["ok"] for r in removed["results"])
    wait_until(lambda: qb_state() == "gone", message="removed from qBittorrent")
    assert rtorrent.hashes() & set(rt_hashes) == set()
    assert api.client.get("/torrents", headers=headers).json()["torrents"] == []
    audit = api.client.get("/actions?limit=4", headers=headers).json()
    assert sorted((a["server_id"], a["info_hash"], a["ok"]) for a in audit) == sorted(
        (s, h, True) for s, h in targets
    )
