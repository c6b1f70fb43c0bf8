"""QBittorrentClient against a real qbittorrent-nox 4.5.2 (Web API 2.8.19), and fakes."""

from __future__ import annotations

import base64
import logging
import time
from pathlib import Path

import pytest

from tests.daemons.common import require_tool, wait_until
from tests.daemons.fakes import black_hole, closed_port, garbage_reply
from tests.daemons.qbittorrent import QBittorrentDaemon, running_qbittorrent
from tests.torrent_factory import (
    PIECE_LENGTH,
    magnet_for,
    make_real_torrent,
    make_torrent,
    random_info_hash,
)
from torrentdesk.clients import (
    AddedTorrent,
    AddOptions,
    AuthError,
    ClientError,
    ConnectError,
    DuplicateTorrent,
    ProtocolError,
    QBittorrentClient,
    TimeoutError,
    TorrentFile,
    TorrentInfo,
    TorrentNotFound,
    get_client,
    server_kind,
)
from torrentdesk.clients import qbittorrent as qbittorrent_module
from torrentdesk.clients.base import FileChange, ServerConnection, SpeedLimits, TorrentLimits
from torrentdesk.torrent_input import parse_magnet, parse_torrent_file

pytestmark = pytest.mark.daemon

NAME = "test-qbittorrent"  # the client's server name, expected in every error message


@pytest.fixture
def client(qbittorrent_client: QBittorrentClient) -> QBittorrentClient:
    return qbittorrent_client


@pytest.fixture
def daemon(qbittorrent_clean: QBittorrentDaemon) -> QBittorrentDaemon:
    return qbittorrent_clean


def settled(client: QBittorrentClient, info_hash: str, *states: str) -> TorrentInfo:
    """Wait until the torrent is in one of `states` (checks and refreshes take a moment)."""
    return wait_until(
        lambda: next((t for t in [client.get_torrent(info_hash)] if t.state in states), None),
        timeout=15,
        message=f"torrent {info_hash} in state {states}",
    )


def client_for(port: int, **kwargs) -> QBittorrentClient:
    return QBittorrentClient("127.0.0.1", port, name=NAME, **kwargs)


def assert_names_server(exc: ClientError) -> None:
    assert exc.server == NAME
    assert str(exc).startswith(f"{NAME}: ")


# -- construction -----------------------------------------------------------------------------


def test_constructor_defaults_protocols_and_registry() -> None:
    client = QBittorrentClient("example.invalid", 8080)
    assert (client.name, client.protocol, client.timeout) == ("example.invalid:8080", "http", 10.0)
    assert client.server_type == "qbittorrent"
    with pytest.raises(ValueError, match="SCGI is rTorrent's protocol"):
        QBittorrentClient("h", 1, protocol="scgi")
    made = get_client(ServerConnection("srv", "qbittorrent", "h", 1, protocol="https", timeout=3))
    assert isinstance(made, QBittorrentClient)
    assert (made.name, made.protocol, made.timeout) == ("srv", "https", 3)
    kind = server_kind("qbittorrent")
    assert (kind.label, kind.protocol_names, kind.default_port("http")) == (
        "qBittorrent",
        ("http", "https"),
        8080,
    )
    assert kind.rpc_path_for("http") is None
    assert kind.capabilities(None) == {}
    assert set(kind.capabilities("qBittorrent v4.5.2 (Web API 2.8.19)")) == set(
        server_kind("transmission").capabilities("Transmission 3.00")
    )


def test_version_and_check_connection(client: QBittorrentClient) -> None:
    assert client.version() == "qBittorrent v4.5.2 (Web API 2.8.19)"
    assert client.check_connection() is True
    with closed_port() as port:
        assert client_for(port, timeout=1).check_connection() is False


def test_https_against_plain_http_says_so(daemon: QBittorrentDaemon) -> None:
    """qBittorrent's plain Web UI never answers a TLS hello: a timeout that names HTTPS."""
    client = client_for(
        daemon.port, protocol="https", username=daemon.username, password=daemon.password,
        timeout=1,
    )
    with pytest.raises(TimeoutError) as info:
        client.version()
    assert_names_server(info.value)
    assert f"from https://127.0.0.1:{daemon.port}" in str(info.value)
    assert "that its Web UI has HTTPS on" in str(info.value)


# -- adding and listing -----------------------------------------------------------------------


def test_add_file_started_and_paused(client: QBittorrentClient) -> None:
    started, paused = make_torrent("started one"), make_torrent("paused one")
    assert client.add_torrent(started.meta, start=True) == AddedTorrent(
        started.info_hash, "started one"
    )
    assert client.add_torrent(paused.meta, start=False) == AddedTorrent(
        paused.info_hash, "paused one"
    )
    # No data and nobody to download from: stalledDL, which is "downloading" at 0 %.
    assert settled(client, started.info_hash, "downloading").progress == 0.0
    assert settled(client, paused.info_hash, "stopped").eta is None
    assert {t.info_hash for t in client.list_torrents()} == {started.info_hash, paused.info_hash}


def test_list_normalizes_every_field(client: QBittorrentClient, daemon: QBittorrentDaemon) -> None:
    torrent = make_torrent("listed")
    before = int(time.time())
    client.add_torrent(torrent.meta, start=False)
    settled(client, torrent.info_hash, "stopped")
    [info] = wait_until(
        lambda: (rows := client.list_torrents()) and rows[0].state == "stopped" and rows,
        message="listed stopped",
    )
    assert isinstance(info, TorrentInfo)
    assert info.info_hash == torrent.info_hash
    assert info.name == "listed"
    assert info.state == "stopped"
    assert info.progress == 0.0 and isinstance(info.progress, float)
    assert info.size == torrent.size and isinstance(info.size, int)
    assert info.downloaded == 0 and isinstance(info.downloaded, int)
    assert info.uploaded == 0 and isinstance(info.uploaded, int)
    assert (info.download_rate, info.upload_rate) == (0, 0)
    assert info.ratio == 0.0 and isinstance(info.ratio, float)
    assert info.eta is None  # qBittorrent says 8640000 ("infinity")
    assert (info.peers, info.seeds) == (0, 0)
    assert isinstance(info.added_at, int) and before - 2 <= info.added_at <= time.time() + 2
    assert info.download_dir == str(daemon.download_dir)
    assert info.labels == []
    assert (info.error, info.warning) == (None, None)
    assert info.tracker == "127.0.0.1"  # the .torrent's announce URL
    assert info.queue_position is None  # queueing is off on the test daemon
    assert info.files is None
    # The one-torrent path (torrents/info) reads the same.
    assert client.get_torrent(torrent.info_hash) == info


def test_add_magnet_hex_and_base32(client: QBittorrentClient) -> None:
    hex_hash, b32_hash = random_info_hash(), random_info_hash()
    b32 = base64.b32encode(bytes.fromhex(b32_hash)).decode()
    added = client.add_magnet(parse_magnet(magnet_for(hex_hash.upper(), "hex name")), start=False)
    assert added == AddedTorrent(hex_hash, "hex name")
    added = client.add_magnet(parse_magnet(f"magnet:?xt=urn:btih:{b32}&dn=b32name"), start=True)
    assert added == AddedTorrent(b32_hash, "b32name")
    stopped = settled(client, hex_hash, "stopped")
    fetching = settled(client, b32_hash, "metadata")  # metaDL
    assert (stopped.name, stopped.size) == ("hex name", None)  # no metadata: size unknown
    assert (fetching.name, fetching.size, fetching.progress) == ("b32name", None, 0.0)
    assert {t.info_hash for t in client.list_torrents()} == {hex_hash, b32_hash}


def test_duplicates_are_refused(client: QBittorrentClient) -> None:
    torrent = make_torrent("twice")
    client.add_torrent(torrent.meta, start=False)
    with pytest.raises(DuplicateTorrent) as file_dup:
        client.add_torrent(torrent.meta)
    assert file_dup.value.info_hash == torrent.info_hash
    assert "already on this server" in str(file_dup.value)
    assert_names_server(file_dup.value)
    b32 = base64.b32encode(bytes.fromhex(torrent.info_hash)).decode()
    with pytest.raises(DuplicateTorrent) as magnet_dup:
        client.add_magnet(parse_magnet(f"magnet:?xt=urn:btih:{b32}"))
    assert magnet_dup.value.info_hash == torrent.info_hash
    assert len(client.list_torrents()) == 1


def test_add_options_tags_directory_and_unwanted_files(
    client: QBittorrentClient, daemon: QBittorrentDaemon, tmp_path: Path
) -> None:
    torrent = make_torrent("optioned", files=[("a.bin", PIECE_LENGTH), ("b.bin", PIECE_LENGTH)])
    target = daemon.download_dir / "elsewhere"
    options = AddOptions(labels=("tv", "new tag ✓"), download_dir=str(target), unwanted_files=(1,))
    client.add_torrent(torrent.meta, start=True, options=options)
    info = client.get_torrent(torrent.info_hash, files=True)
    assert sorted(info.labels) == ["new tag ✓", "tv"]
    assert info.download_dir == str(target)
    assert [(f.index, f.wanted) for f in info.files] == [(0, True), (1, False)]
    # Only what is wanted counts (qBittorrent updates the size on its next refresh).
    wait_until(lambda: client.get_torrent(torrent.info_hash).size == PIECE_LENGTH)
    settled(client, torrent.info_hash, "downloading")  # started after the files were set
    with daemon.raw() as raw:
        assert set(raw.torrents_tags()) == {"tv", "new tag ✓"}  # the tags were created
        row = raw.torrents_info(torrent_hashes=torrent.info_hash)[0]
        assert row["category"] == "" and row["auto_tmm"] is False


# -- changing ---------------------------------------------------------------------------------


def test_start_and_stop(client: QBittorrentClient) -> None:
    torrent = make_torrent("toggled")
    client.add_torrent(torrent.meta, start=False)
    settled(client, torrent.info_hash, "stopped")
    assert client.start([torrent.info_hash]) == {}
    settled(client, torrent.info_hash, "downloading")
    assert client.stop([torrent.info_hash]) == {}
    settled(client, torrent.info_hash, "stopped")


@pytest.mark.parametrize("action", ["get_torrent", "list_torrents", "trackers", "peers"])
def test_unknown_hash_is_not_found(client: QBittorrentClient, action: str) -> None:
    present = make_torrent("present")
    client.add_torrent(present.meta, start=False)
    missing = random_info_hash()
    method = getattr(client, action)
    with pytest.raises(TorrentNotFound) as info:
        method(info_hash=missing)
    assert_names_server(info.value)
    assert str(info.value).endswith(f"no torrent with info hash {missing} on this server")
    with pytest.raises(TorrentNotFound, match="40 hex characters"):
        method(info_hash="not-a-hash")
    assert [t.info_hash for t in client.list_torrents()] == [present.info_hash]


@pytest.mark.parametrize("verb", ["start", "stop", "recheck", "reannounce", "erase"])
def test_verbs_report_each_unknown_hash_and_act_on_the_rest(
    client: QBittorrentClient, verb: str
) -> None:
    present, other = make_torrent("present"), make_torrent("other")
    for torrent in (present, other):
        client.add_torrent(torrent.meta, start=False)
    missing = random_info_hash()
    failures = getattr(client, verb)([missing, present.info_hash.upper(), "not-a-hash"])
    assert failures.keys() == {missing, "not-a-hash"}
    assert isinstance(failures[missing], TorrentNotFound)
    assert_names_server(failures[missing])
    assert "40 hex characters" in str(failures["not-a-hash"])
    kept = {other.info_hash} if verb == "erase" else {present.info_hash, other.info_hash}
    wait_until(lambda: {t.info_hash for t in client.list_torrents()} == kept, message="acted")


def test_erase_without_data_keeps_the_files(
    client: QBittorrentClient, daemon: QBittorrentDaemon
) -> None:
    data, info_hash = make_real_torrent(daemon.download_dir, "kept", [("x.bin", 9000, True)])
    client.add_torrent(parse_torrent_file(data), start=False)
    assert client.erase([info_hash]) == {}
    wait_until(lambda: not client.list_torrents(), message="removed")
    assert (daemon.download_dir / "kept" / "x.bin").stat().st_size == 9000


def test_erase_with_data_deletes_only_the_torrents_own_files(
    client: QBittorrentClient, daemon: QBittorrentDaemon
) -> None:
    files = [("a/one.bin", 2 * PIECE_LENGTH, True), ("b.txt", 100, True)]
    data, info_hash = make_real_torrent(daemon.download_dir, "doomed", files)
    root = daemon.download_dir / "doomed"
    sentinels = [
        root / "sentinel.txt",  # in the torrent's own folder
        root / "a" / "sentinel.txt",  # next to one of its files
        daemon.download_dir / "beside.txt",  # next to its folder
        daemon.download_dir / "doomed-other" / "x.bin",  # a folder with a similar name
    ]
    for sentinel in sentinels:
        sentinel.parent.mkdir(parents=True, exist_ok=True)
        sentinel.write_text("keep")
    client.add_torrent(parse_torrent_file(data), start=True)
    settled(client, info_hash, "seeding")
    assert client.erase([info_hash], delete_data=True) == {}
    wait_until(lambda: not (root / "b.txt").exists(), message="data deleted")
    assert not (root / "a" / "one.bin").exists()
    assert all(s.read_text() == "keep" for s in sentinels)
    assert client.list_torrents() == []


def test_files_priorities_round_trip(client: QBittorrentClient, daemon: QBittorrentDaemon) -> None:
    files = [
        ("a/one.bin", 2 * PIECE_LENGTH, True),  # on disk with the right bytes
        ("b.txt", PIECE_LENGTH, False),
        ("c.nfo", PIECE_LENGTH, False),
    ]
    data, info_hash = make_real_torrent(daemon.download_dir, "multi", files)
    client.add_torrent(parse_torrent_file(data), start=False)
    assert client.recheck([info_hash]) == {}  # a paused add does not look at the disk
    wait_until(lambda: client.get_torrent(info_hash).downloaded == 2 * PIECE_LENGTH)
    client.set_files(
        info_hash,
        [FileChange(0, priority="high"), FileChange(1, wanted=False), FileChange(2)],
    )
    with daemon.raw() as raw:
        assert [f["priority"] for f in raw.torrents_files(info_hash)] == [6, 0, 1]
    assert client.files(info_hash) == [
        TorrentFile(0, "a/one.bin", 2 * PIECE_LENGTH, 1.0, True, "high"),
        TorrentFile(1, "b.txt", PIECE_LENGTH, 0.0, False, "normal"),
        TorrentFile(2, "c.nfo", PIECE_LENGTH, 0.0, True, "normal"),
    ]
    client.set_files(info_hash, [FileChange(1, wanted=True), FileChange(0, priority="normal")])
    assert [(f.wanted, f.priority) for f in client.files(info_hash)] == [
        (True, "normal"),
        (True, "normal"),
        (True, "normal"),
    ]
    with pytest.raises(ClientError, match="no 'low' file priority"):
        client.set_files(info_hash, [FileChange(0, priority="low")])
    with pytest.raises(ClientError, match="no file number 9"):
        client.set_files(info_hash, [FileChange(9, wanted=False)])
    client.set_files(info_hash, [])  # nothing, never "every file"
    with daemon.raw() as raw:
        assert [f["priority"] for f in raw.torrents_files(info_hash)] == [1, 1, 1]


def test_labels_are_tags_and_the_category_comes_first(
    client: QBittorrentClient, daemon: QBittorrentDaemon
) -> None:
    first, second = make_torrent("first"), make_torrent("second")
    client.add_torrent(first.meta, start=False)
    client.add_torrent(second.meta, start=False)
    hashes = [first.info_hash, second.info_hash]
    assert client.set_labels(hashes, ["b tag", "a ✓"]) == {}
    labels, failures = client.labels_of(hashes)
    assert failures == {}
    assert labels == {h: ["a ✓", "b tag"] for h in hashes}  # qBittorrent sorts tags
    assert client.add_labels([first.info_hash], ["new"]) == {}
    assert client.remove_labels(hashes, ["b tag"]) == {}
    with daemon.raw() as raw:
        assert raw.torrents_info(torrent_hashes=first.info_hash)[0]["tags"] == "a ✓, new"
        assert "new" in raw.torrents_tags()  # created when missing
        raw.torrents_create_category("films", save_path="")
        raw.torrents_set_category("films", torrent_hashes=second.info_hash)
    assert client.get_torrent(second.info_hash).labels == ["films", "a ✓"]
    # A label action never changes the category: its data would move.
    failures = client.set_labels([second.info_hash], ["x"])
    assert "'films' stays" in str(failures[second.info_hash])
    assert client.get_torrent(second.info_hash).labels == ["films", "x"]
    assert client.set_labels([second.info_hash], ["films", "y"]) == {}
    assert client.get_torrent(second.info_hash).labels == ["films", "y"]
    missing = random_info_hash()
    assert isinstance(client.set_labels([missing], ["x"])[missing], TorrentNotFound)


def test_move_moves_the_data(client: QBittorrentClient, daemon: QBittorrentDaemon) -> None:
    data, info_hash = make_real_torrent(daemon.download_dir, "moving", [("x.bin", 9000, True)])
    client.add_torrent(parse_torrent_file(data), start=True)
    settled(client, info_hash, "seeding")
    target = daemon.download_dir / "moved"
    assert client.move([info_hash], str(target), move_data=True) == {}
    wait_until(lambda: (target / "moving" / "x.bin").exists(), message="data moved")
    wait_until(lambda: client.get_torrent(info_hash).download_dir == str(target), message="moved")
    assert not (daemon.download_dir / "moving" / "x.bin").exists()


def test_queue_moves_need_queueing_on(client: QBittorrentClient, daemon: QBittorrentDaemon) -> None:
    torrents = [make_torrent(f"queued {i}") for i in range(3)]
    with pytest.raises(ClientError, match="queueing must be enabled") as off:
        for torrent in torrents:
            client.add_torrent(torrent.meta, start=False)
        client.queue_move([torrents[2].info_hash], "top")
    assert_names_server(off.value)
    with daemon.raw() as raw:
        raw.app_set_preferences({"queueing_enabled": True})
    try:
        assert client.queue_move([torrents[2].info_hash], "top") == {}
        positions = wait_until(
            lambda: (p := {t.name: t.queue_position for t in client.list_torrents()})
            and p["queued 2"] == 0
            and p,
            message="moved to the top",
        )
        assert sorted(positions.values()) == [0, 1, 2]
    finally:
        with daemon.raw() as raw:
            raw.app_set_preferences({"queueing_enabled": False})


def test_trackers_edit_and_replace(client: QBittorrentClient) -> None:
    torrent = make_torrent("tracked")
    client.add_torrent(torrent.meta, start=False)
    [tracker] = client.trackers(torrent.info_hash)  # DHT/PeX/LSD pseudo entries left out
    assert (tracker.url, tracker.tier) == ("http://127.0.0.1:9/announce", 0)
    assert tracker.status in ("not_contacted", "error", "updating", "disabled")
    results = client.edit_trackers(
        torrent.info_hash, add=["http://127.0.0.1:10/announce"], remove=["http://nope/"]
    )
    assert [(r.url, r.ok) for r in results] == [
        ("http://127.0.0.1:10/announce", True),
        ("http://nope/", False),
    ]
    assert client.replace_tracker(
        [torrent.info_hash], "http://127.0.0.1:10/announce", "http://127.0.0.1:11/announce"
    ) == {}
    other = make_torrent("untouched", tracker="http://127.0.0.1:12/announce")
    client.add_torrent(other.meta, start=False)
    # A torrent without the old URL is left as it is, and says so.
    missing = client.replace_tracker([other.info_hash], "http://absent/", "http://x/")
    assert "has no tracker http://absent/; left as it is" in str(missing[other.info_hash])
    assert [t.url for t in client.trackers(other.info_hash)] == ["http://127.0.0.1:12/announce"]
    assert [t.url for t in client.trackers(torrent.info_hash)] == [
        "http://127.0.0.1:9/announce",
        "http://127.0.0.1:11/announce",
    ]
    results = client.edit_trackers(torrent.info_hash, add=[], remove=["http://127.0.0.1:9/announce"])
    assert results[0].ok and [t.url for t in client.trackers(torrent.info_hash)] == [
        "http://127.0.0.1:11/announce"
    ]
    assert client.peers(torrent.info_hash) == []


def test_torrent_limits_session_and_slow_mode(
    client: QBittorrentClient, daemon: QBittorrentDaemon
) -> None:
    torrent = make_torrent("limited")
    client.add_torrent(torrent.meta, start=False)
    assert client.set_torrent_limits([torrent.info_hash], 50_000, None) == {}
    row = daemon.torrent(torrent.info_hash)
    assert (row["dl_limit"], row["up_limit"]) in ((50_000, 0), (50_000, -1))
    assert client.torrent_limits(torrent.info_hash) == TorrentLimits(50_000, None)
    client.set_speed_limits(SpeedLimits(1_000_000, None, 20_000, 30_000, alt_enabled=True))
    session = client.session()
    # qBittorrent keeps whole KiB/s: the nearest one.
    assert session.limits == SpeedLimits(1024 * 977, None, 1024 * 20, 1024 * 29, True)
    assert session.download_dir == str(daemon.download_dir)
    assert session.free_space.path == str(daemon.download_dir) and session.free_space.bytes > 0
    with daemon.raw() as raw:
        assert raw.transfer_speed_limits_mode() == "1"
    client.set_speed_limits(SpeedLimits())
    assert client.session().limits == SpeedLimits()


# -- deltas -----------------------------------------------------------------------------------


def test_deltas_through_rid(client: QBittorrentClient, mocker) -> None:
    assert client.list_active() is None  # no maindata chain yet
    kept, dropped, quiet = make_torrent("kept"), make_torrent("dropped"), make_torrent("quiet")
    # The quiet one first: removing one before it would change its (queue) priority.
    for torrent in (quiet, kept, dropped):
        client.add_torrent(torrent.meta, start=False)
    wait_until(
        lambda: {t.state for t in client.list_torrents()} == {"stopped"}, message="all stopped"
    )
    sync = mocker.spy(client._client(), "sync_maindata")
    wait_until(lambda: client.list_active() == ([], []), message="quiet")
    assert client.start([kept.info_hash]) == {}
    assert client.erase([dropped.info_hash]) == {}
    seen: dict[str, TorrentInfo] = {}
    removed: list[str] = []

    def delta_shows_it() -> bool:
        changed, gone = client.list_active()
        seen.update({t.info_hash: t for t in changed})
        removed.extend(gone)
        mine = seen.get(kept.info_hash)
        return mine is not None and mine.state == "downloading" and dropped.info_hash in removed

    wait_until(delta_shows_it, message="the change and the removal in a delta")
    assert quiet.info_hash not in seen  # unchanged: not sent
    assert removed == [dropped.info_hash]
    assert all(call.kwargs["rid"] > 0 for call in sync.call_args_list)  # never a full list
    assert {t.info_hash for t in client.list_torrents()} == {kept.info_hash, quiet.info_hash}


def test_a_restart_is_a_full_update(client: QBittorrentClient, daemon: QBittorrentDaemon) -> None:
    torrent = make_torrent("survivor")
    client.add_torrent(torrent.meta, start=False)
    assert [t.name for t in client.list_torrents()] == ["survivor"]
    daemon.restart()

    def listed():
        try:
            return client.list_active()
        except ConnectError:  # at most one: the stale pooled connection
            return None

    _, removed = wait_until(listed, timeout=30, message="listed after the restart")
    # Re-logged in by itself; a fresh chain gives the torrent again, nothing removed.
    assert client.list_torrents()[0].info_hash == torrent.info_hash
    assert removed == []
    assert client.check_connection() is True


# -- mapping ----------------------------------------------------------------------------------


def _row(**fields) -> dict:
    return {
        "name": "n",
        "state": "downloading",
        "progress": 0.25,
        "size": 100,
        "total_size": 100,
        "completed": 25,
        "uploaded": 50,
        "dlspeed": 3,
        "upspeed": 4,
        "ratio": 2.0,
        "eta": 60,
        "num_seeds": 2,
        "num_leechs": 3,
        "added_on": 1_700_000_000,
        "save_path": "/d/",
        "category": "",
        "tags": "",
        "priority": 0,
        "magnet_uri": "magnet:?xt=urn:btih:x&tr=udp%3a%2f%2ft.example%3a1%2fa&tr=http%3a%2f%2fb",
        "tracker": "",
    } | fields


@pytest.mark.parametrize(("qbt_state", "state"), sorted(qbittorrent_module.STATES.items()))
def test_states_map(qbt_state: str, state: str) -> None:
    info = qbittorrent_module._converted("ab" * 20, qbittorrent_module._kept(_row(state=qbt_state)))
    assert info.state == state
    assert info.eta == (60 if state == "downloading" else None)
    assert (info.error is not None) == (qbt_state in ("error", "missingFiles"))


def test_fields_are_clamped_and_sentinels_neutral() -> None:
    kept = qbittorrent_module._kept(
        _row(progress=1.7, ratio=-1, eta=8_640_000, num_seeds=-1, completed=-5, priority=3)
    )
    info = qbittorrent_module._converted("cd" * 20, kept, queueing=True)
    assert (info.progress, info.ratio, info.eta) == (1.0, 0.0, None)
    assert (info.seeds, info.downloaded) == (0, 0)
    assert (info.peers, info.queue_position, info.download_dir) == (3, 2, "/d")
    assert info.tracker == "t.example"  # the magnet link's first tracker
    assert "magnet_uri" not in kept  # only its host is kept
    meta = qbittorrent_module._converted(
        "cd" * 20, qbittorrent_module._kept(_row(state="pausedDL", total_size=-1, size=0))
    )
    assert (meta.state, meta.size) == ("stopped", None)
    tagged = qbittorrent_module._converted(
        "cd" * 20, qbittorrent_module._kept(_row(category="films", tags="a, b ✓"))
    )
    assert tagged.labels == ["films", "a", "b ✓"]
    for bad in ({"progress": "x"}, {"name": None}, {"ratio": []}, {"size": "1"}):
        with pytest.raises((TypeError, ValueError, KeyError)):
            qbittorrent_module._converted("cd" * 20, qbittorrent_module._kept(_row(**bad)))


# -- faults -----------------------------------------------------------------------------------


def test_wrong_password_is_an_auth_error(daemon: QBittorrentDaemon) -> None:
    for creds in ({"username": daemon.username, "password": "wrong"}, {}):
        client = client_for(daemon.port, **creds)
        with pytest.raises(AuthError) as info:
            client.list_torrents()
        assert_names_server(info.value)
        assert "wrong username or password — check the server's credentials" in str(info.value)
        assert client.check_connection() is False


def test_a_ban_after_failed_logins_is_an_auth_error_that_names_it(tmp_path: Path) -> None:
    """On a daemon of its own: the ban holds for every client from 127.0.0.1."""
    executable = require_tool("qbittorrent-nox")
    with running_qbittorrent(tmp_path, executable=executable, fail_count=2) as own:
        wrong = client_for(own.port, username=own.username, password="wrong")
        for _ in range(2):
            with pytest.raises(AuthError, match="wrong username or password"):
                wrong.version()
        right = client_for(own.port, username=own.username, password=own.password)
        with pytest.raises(AuthError) as info:
            right.version()
    assert_names_server(info.value)
    assert "banned this address after too many failed logins" in str(info.value)
    assert "wait for the ban to end" in str(info.value)


def test_closed_port_is_a_connect_error() -> None:
    with closed_port() as port, pytest.raises(ConnectError) as info:
        client_for(port, timeout=1).list_torrents()
    assert_names_server(info.value)
    assert f"http://127.0.0.1:{port}" in str(info.value)
    assert "Connection refused" in str(info.value)


def test_black_hole_times_out_within_the_timeout() -> None:
    with black_hole() as port:
        client = client_for(port, timeout=2)
        for call in (client.list_torrents, client.version, lambda: client.start(["ab" * 20])):
            started = time.monotonic()
            with pytest.raises(TimeoutError) as info:
                call()
            assert 1.9 <= time.monotonic() - started < 3.9  # not waited for twice
            assert_names_server(info.value)
            assert "no answer within 2 s" in str(info.value)


def _http(status: str, body: bytes, extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
    return head.encode() + body


@pytest.mark.parametrize(
    ("reply", "error", "expected"),
    [
        (b"\x00\x01 garbage\r\n\r\n", ProtocolError, "not valid HTTP"),
        (_http("200 OK", b"<html>hi</html>"), ProtocolError, "login reply is not qBittorrent's"),
        (_http("500 Oops", b""), ProtocolError, "HTTP 500"),
        (_http("404 Not Found", b"nope"), ProtocolError, "HTTP 404"),
        (_http("403 Forbidden", b"secret-in-body"), AuthError, "refused (HTTP 403) — check"),
        (_http("200 OK", b"Ok.")[:-2], ProtocolError, "qBittorrent"),
    ],
    ids=["not-http", "html", "http-500", "http-404", "http-403", "cut-off"],
)
def test_garbage_replies(reply, error, expected, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with garbage_reply(reply) as port, pytest.raises(ClientError) as info:
        client_for(port, timeout=2, username="u", password="p").list_torrents()
    assert isinstance(info.value, error), info.value
    assert_names_server(info.value)
    assert expected in str(info.value)
    # A remote body is never shown (it may be another service's secrets).
    assert not any(word in str(info.value) for word in ("secret-in-body", "nope", "<html>"))
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_garbage_after_login_is_a_protocol_error(mocker, client: QBittorrentClient) -> None:
    client.version()
    replies = [
        {"rid": "x"},
        {"rid": 1, "torrents": {"nothex": {}}},
        [1],
        {"rid": 2, "torrents": {"ab" * 20: {"name": 5}}},
    ]
    for reply in replies:
        mocker.patch.object(client._client(), "sync_maindata", return_value=reply)
        client._rid = None
        with pytest.raises(ProtocolError) as info:
            client.list_torrents()
        assert_names_server(info.value)
        assert "unexpected torrent data" in str(info.value)
    mocker.stopall()
    assert client.list_torrents() == []  # and it recovers once the replies are sane
