"""Inside one torrent (SPEC §10) on both clients against the real daemons: files wanted and
priority, unwanted files on add, trackers added, removed or disabled, one tracker replaced on
many torrents, peers. Everything is read back from the daemons themselves."""

from __future__ import annotations

import pytest

from tests.torrent_factory import make_torrent
from torrentdesk.clients import ClientError, ProtocolError, TorrentNotFound
from torrentdesk.clients.base import AddOptions, FileChange, PeerInfo, TrackerResult
from torrentdesk.clients.rtorrent import _to_peer, _to_tracker
from torrentdesk.clients.sanitize import MAX_MESSAGE
from torrentdesk.clients.transmission import _peer_info, _tracker_info

pytestmark = pytest.mark.daemon

FILES = [("disc/a.bin", 20000), ("disc/sub/b.bin", 30000), ("c.nfo", 100)]
TRACKER = "http://127.0.0.1:9/announce"


def tr_files(daemon, info_hash) -> list[tuple[bool, int]]:
    """(wanted, priority) of each file as Transmission holds them (priority -1, 0, 1)."""
    return [(s["wanted"], s["priority"]) for s in daemon.field(info_hash, "fileStats")]


def rt_priorities(daemon, info_hash) -> list[int]:
    """f.priority of each file as rTorrent holds them (0 off, 1 normal, 2 high)."""
    return [row[0] for row in daemon.rpc("f.multicall", info_hash.upper(), "", "f.priority=")]


def rt_trackers(daemon, info_hash) -> list[tuple[str, int, int]]:
    rows = daemon.rpc("t.multicall", info_hash.upper(), "", "t.url=", "t.group=", "t.is_enabled=")
    return [tuple(row) for row in rows]


def tr_trackers(daemon, info_hash) -> list[str]:
    return [t["announce"] for t in daemon.field(info_hash, "trackerStats")]


# -- files ---------------------------------------------------------------------------------


def test_transmission_files_round_trip_and_the_empty_list_trap(
    transmission_client, transmission_clean
) -> None:
    torrent = make_torrent("td-files-tr", FILES)
    transmission_client.add_torrent(torrent.meta, start=False)
    h = torrent.info_hash
    assert tr_files(transmission_clean, h) == [(True, 0)] * 3

    # One file off: the others keep wanted (an empty files-wanted list would mean ALL files).
    transmission_client.set_files(h, [FileChange(1, wanted=False)])
    assert tr_files(transmission_clean, h) == [(True, 0), (False, 0), (True, 0)]

    # Priorities of two files; wanted left as it is; the third file untouched.
    changes = [FileChange(0, priority="high"), FileChange(1, priority="low")]
    transmission_client.set_files(h, changes)
    assert tr_files(transmission_clean, h) == [(True, 1), (False, -1), (True, 0)]

    # Nothing to change is nothing sent, never "every file".
    transmission_client.set_files(h, [])
    assert tr_files(transmission_clean, h) == [(True, 1), (False, -1), (True, 0)]

    files = transmission_client.files(h)
    assert [(f.index, f.path, f.size, f.wanted, f.priority) for f in files] == [
        (0, "disc/a.bin", 20000, True, "high"),
        (1, "disc/sub/b.bin", 30000, False, "low"),
        (2, "c.nfo", 100, True, "normal"),
    ]

    with pytest.raises(ClientError, match="has 3 files: no file index 3"):
        transmission_client.set_files(h, [FileChange(3, wanted=False)])
    assert tr_files(transmission_clean, h) == [(True, 1), (False, -1), (True, 0)]


def test_rtorrent_files_round_trip_and_no_low_priority(rtorrent_client, rtorrent_clean) -> None:
    torrent = make_torrent("td-files-rt", FILES)
    rtorrent_client.add_torrent(torrent.meta, start=False)
    h = torrent.info_hash
    assert rt_priorities(rtorrent_clean, h) == [1, 1, 1]

    rtorrent_client.set_files(h, [FileChange(1, wanted=False)])
    assert rt_priorities(rtorrent_clean, h) == [1, 0, 1]

    rtorrent_client.set_files(h, [FileChange(2, priority="high")])
    assert rt_priorities(rtorrent_clean, h) == [1, 0, 2]

    # Wanted again without a priority: normal (rTorrent kept none for it while off).
    rtorrent_client.set_files(h, [FileChange(1, wanted=True), FileChange(0, wanted=False)])
    assert rt_priorities(rtorrent_clean, h) == [0, 1, 2]

    rtorrent_client.set_files(h, [])
    assert rt_priorities(rtorrent_clean, h) == [0, 1, 2]

    with pytest.raises(ClientError, match="rTorrent has no low priority") as refused:
        rtorrent_client.set_files(h, [FileChange(2, priority="low")])
    assert "file 2" in str(refused.value)
    with pytest.raises(ClientError, match="no file index 7"):
        rtorrent_client.set_files(h, [FileChange(7, wanted=True)])
    assert rt_priorities(rtorrent_clean, h) == [0, 1, 2]

    files = rtorrent_client.files(h)
    assert [(f.path, f.wanted, f.priority) for f in files] == [
        ("disc/a.bin", False, "normal"),
        ("disc/sub/b.bin", True, "normal"),
        ("c.nfo", True, "high"),
    ]
    with pytest.raises(TorrentNotFound):
        rtorrent_client.set_files("0" * 40, [FileChange(0, wanted=False)])


def test_transmission_unwanted_files_on_add_before_it_starts(
    transmission_client, transmission_clean
) -> None:
    torrent = make_torrent("td-unwanted-tr", FILES)
    options = AddOptions(unwanted_files=(0, 2))
    transmission_client.add_torrent(torrent.meta, start=True, options=options)
    # Part of torrent-add itself: unwanted from the first moment.
    assert [w for w, _ in tr_files(transmission_clean, torrent.info_hash)] == [False, True, False]
    assert transmission_clean.field(torrent.info_hash, "status") != 0  # it was started


def test_rtorrent_unwanted_files_on_add_before_it_starts(rtorrent_client, rtorrent_clean) -> None:
    torrent = make_torrent("td-unwanted-rt", FILES)
    h = torrent.info_hash
    rtorrent_client.add_torrent(torrent.meta, start=True, options=AddOptions(unwanted_files=(1,)))
    assert rt_priorities(rtorrent_clean, h) == [1, 0, 1]
    assert rtorrent_clean.rpc("d.state", h.upper()) == 1  # loaded stopped, set, then started
    # Nothing of the unwanted file was ever asked for.
    assert rtorrent_clean.rpc("d.completed_bytes", h.upper()) == 0
    paused = make_torrent("td-unwanted-rt-paused", FILES)
    rtorrent_client.add_torrent(paused.meta, start=False, options=AddOptions(unwanted_files=(0,)))
    assert rt_priorities(rtorrent_clean, paused.info_hash) == [0, 1, 1]
    assert rtorrent_clean.rpc("d.state", paused.info_hash.upper()) == 0


# -- trackers ------------------------------------------------------------------------------


def test_transmission_trackers_add_and_remove(transmission_client, transmission_clean) -> None:
    torrent = make_torrent("td-trackers-tr", FILES)
    transmission_client.add_torrent(torrent.meta, start=False)
    h = torrent.info_hash
    [first] = transmission_client.trackers(h)
    assert (first.url, first.tier, first.status) == (TRACKER, 0, "not_contacted")
    assert first.seeders is None and first.leechers is None and first.last_announce is None

    extra = ["http://127.0.0.1:10/announce", "udp://127.0.0.1:11/announce"]
    results = transmission_client.edit_trackers(h, [*extra, TRACKER], [])
    assert results == [
        TrackerResult(extra[0], True),
        TrackerResult(extra[1], True),
        TrackerResult(TRACKER, False, "already a tracker of this torrent"),
    ]
    assert tr_trackers(transmission_clean, h) == [TRACKER, *extra]

    missing = "http://127.0.0.1:12/announce"
    results = transmission_client.edit_trackers(h, [], [TRACKER, extra[1], missing])
    assert results == [
        TrackerResult(TRACKER, True),
        TrackerResult(extra[1], True),
        TrackerResult(missing, False, "not a tracker of this torrent"),
    ]
    assert tr_trackers(transmission_clean, h) == [extra[0]]
    assert [t.url for t in transmission_client.trackers(h)] == [extra[0]]


def test_rtorrent_trackers_add_and_disable(rtorrent_client, rtorrent_clean) -> None:
    torrent = make_torrent("td-trackers-rt", FILES)
    rtorrent_client.add_torrent(torrent.meta, start=False)
    h = torrent.info_hash
    [first] = rtorrent_client.trackers(h)
    assert (first.url, first.tier, first.status, first.message) == (
        TRACKER, 0, "not_contacted", None
    )  # fmt: skip

    extra = "http://127.0.0.1:10/announce"
    assert rtorrent_client.edit_trackers(h, [extra, TRACKER], []) == [
        TrackerResult(extra, True),
        TrackerResult(TRACKER, False, "already a tracker of this torrent"),
    ]
    assert rt_trackers(rtorrent_clean, h) == [(TRACKER, 0, 1), (extra, 1, 1)]

    # Trackers from the .torrent cannot be removed: disabled, and the result says so.
    assert rtorrent_client.edit_trackers(h, [], [TRACKER, "http://nowhere/x"]) == [
        TrackerResult(TRACKER, True, None, disabled=True),
        TrackerResult("http://nowhere/x", False, "not a tracker of this torrent"),
    ]
    assert rt_trackers(rtorrent_clean, h) == [(TRACKER, 0, 0), (extra, 1, 1)]
    assert [(t.url, t.status) for t in rtorrent_client.trackers(h)] == [
        (TRACKER, "disabled"),
        (extra, "not_contacted"),
    ]
    # Adding a disabled one enables it again.
    assert rtorrent_client.edit_trackers(h, [TRACKER], []) == [TrackerResult(TRACKER, True)]
    assert rt_trackers(rtorrent_clean, h) == [(TRACKER, 0, 1), (extra, 1, 1)]


def test_replace_tracker_on_many_torrents_of_each_client(
    transmission_client, transmission_clean, rtorrent_client, rtorrent_clean
) -> None:
    new = "https://tracker.example.org:443/announce"
    other = make_torrent("td-replace-other", FILES, tracker="http://127.0.0.1:13/announce")
    for client in (transmission_client, rtorrent_client):
        a, b = (
            make_torrent(f"td-replace-a-{client.server_type}", FILES),
            make_torrent(f"td-replace-b-{client.server_type}", FILES),
        )
        for torrent in (a, b, other):
            client.add_torrent(torrent.meta, start=False)
        failures = client.replace_tracker(
            [a.info_hash, b.info_hash, other.info_hash, "f" * 40], TRACKER, new
        )
        assert set(failures) == {other.info_hash, "f" * 40}
        assert "has no tracker" in str(failures[other.info_hash])
        assert isinstance(failures["f" * 40], TorrentNotFound)
        for torrent in (a, b):
            if client is transmission_client:
                assert tr_trackers(transmission_clean, torrent.info_hash) == [new]
            else:
                assert rt_trackers(rtorrent_clean, torrent.info_hash) == [
                    (TRACKER, 0, 0),
                    (new, 0, 1),
                ]
        untouched = client.trackers(other.info_hash)
        assert [t.url for t in untouched] == ["http://127.0.0.1:13/announce"]


# -- peers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["transmission_client", "rtorrent_client"])
def test_peers_list_shape(which, request, transmission_clean, rtorrent_clean) -> None:
    client = request.getfixturevalue(which)
    torrent = make_torrent(f"td-peers-{which}", FILES)
    client.add_torrent(torrent.meta, start=True)
    peers = client.peers(torrent.info_hash)
    assert isinstance(peers, list)  # no swarm on loopback: empty, but a list of PeerInfo
    assert all(isinstance(p, PeerInfo) for p in peers)
    with pytest.raises(TorrentNotFound):
        client.peers("e" * 40)


# -- what a daemon sends, clamped ----------------------------------------------------------


def test_hostile_tracker_and_peer_values_are_clamped() -> None:
    tracker = _tracker_info(
        {
            "announce": "http://x/" + "a" * 5000 + "\x1b[31m",
            "tier": -4,
            "announceState": 0,
            "hasAnnounced": True,
            "lastAnnounceSucceeded": False,
            "lastAnnounceResult": "bad\x00news" * 200,
            "seederCount": -1,
            "leecherCount": "12",
            "lastAnnounceTime": -5,
        }
    )
    assert len(tracker.url) == 2048 and tracker.tier == 0 and tracker.status == "error"
    assert len(tracker.message) <= MAX_MESSAGE and "\x00" not in tracker.message
    assert (tracker.seeders, tracker.leechers, tracker.last_announce) == (None, None, None)

    peer = _peer_info(
        {"address": 5, "port": 99999, "clientName": "µTorrent" * 50, "progress": 7.5,
         "rateToClient": -3, "rateToPeer": 2.5, "isEncrypted": "yes", "isIncoming": 1}
    )  # fmt: skip
    assert peer == PeerInfo("", 0, ("µTorrent" * 50)[:100], 1.0, 0, 0, False, True)

    row = ["udp://t/a", "x", 1, 0, 3, 1, 200, 100, 0, 9, -2]
    info = _to_tracker(row, None)
    assert (info.status, info.tier, info.seeders, info.leechers, info.last_announce) == (
        "working", 0, 9, None, 200
    )  # fmt: skip
    assert _to_tracker([*row[:2], 0, *row[3:]], None).status == "disabled"
    failing = _to_tracker(["u", 0, 1, 0, 0, 2, 0, 50, 0, 0, 0], "Tracker: [refused]")
    assert (failing.status, failing.message) == ("error", "Tracker: [refused]")
    assert _to_peer(["::1", 6881, "rt", 250, 10, 20, 1, 0]).progress == 1.0


def test_rtorrent_multicalls_allow_only_known_sub_commands(rtorrent_client) -> None:
    for method in ("t.multicall", "p.multicall"):
        with pytest.raises(ProtocolError, match="allowlist"):
            rtorrent_client._call(method, "A" * 40, "", "execute.throw=sh,-c,id")
        with pytest.raises(ProtocolError, match="allowlist"):
            rtorrent_client._call(method, "A" * 40, "", "t.url=$cat=x")
