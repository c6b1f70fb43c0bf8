"""RTorrentClient against a real rtorrent 0.9.8, over SCGI and behind nginx with basic auth."""

from __future__ import annotations

import hashlib
import os
import re
import time
import xmlrpc.client
from urllib.parse import quote, unquote

import bencodepy
import pytest

from tests.daemons.common import wait_until
from tests.daemons.fakes import black_hole, closed_port, garbage_reply, tcp_server
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
    ConnectError,
    DuplicateTorrent,
    ProtocolError,
    RTorrentClient,
    TimeoutError,
    TorrentFile,
    TorrentNotFound,
)
from torrentdesk.clients.base import FileChange
from torrentdesk.clients.rtorrent import (
    ALLOWED_METHODS,
    _is_load_option,
    _name_command,
    _to_info,
)
from torrentdesk.torrent_input import parse_magnet, parse_torrent_file

pytestmark = pytest.mark.daemon

TRACKER = "&tr=http%3A%2F%2F127.0.0.1%3A9%2Fannounce"


@pytest.fixture
def client(rtorrent_any_client) -> RTorrentClient:
    return rtorrent_any_client


def by_hash(client: RTorrentClient, info_hash: str):
    return next((t for t in client.list_torrents() if t.info_hash == info_hash), None)


def wait_state(client: RTorrentClient, info_hash: str, state: str):
    return wait_until(
        lambda: (t := client.get_torrent(info_hash)).state == state and t,
        timeout=5,
        interval=0.05,
        message=f"{info_hash} {state}",
    )


# -- connection, version --------------------------------------------------------------------


def test_version_and_check_connection(client):
    assert re.fullmatch(r"rTorrent 0\.9\.8 / libtorrent 0\.13\.\d+", client.version())
    assert client.check_connection() is True


def test_allowlist_only_names_methods_rtorrent_098_has(rtorrent_daemon):
    assert set(rtorrent_daemon.rpc("system.listMethods")) >= ALLOWED_METHODS
    assert {m for m in ALLOWED_METHODS if m.startswith("execute")} == {"execute.nothrow"}


# -- adding and listing ---------------------------------------------------------------------


def test_add_started_and_paused_torrents_list_every_field(client, rtorrent_clean):
    daemon = rtorrent_clean
    running, paused = make_torrent("td-running.bin"), make_torrent("td-paused.bin", length=70000)
    before = int(time.time())
    assert client.add_torrent(running.meta) == AddedTorrent(running.info_hash, "td-running.bin")
    assert client.add_torrent(paused.meta, start=False) == AddedTorrent(
        paused.info_hash, "td-paused.bin"
    )
    after = int(time.time())

    wait_state(client, running.info_hash, "downloading")
    listed = {t.info_hash: t for t in client.list_torrents()}
    assert {running.info_hash, paused.info_hash} <= listed.keys()
    for torrent, source in (
        (listed[running.info_hash], running),
        (listed[paused.info_hash], paused),
    ):
        assert re.fullmatch(r"[0-9a-f]{40}", torrent.info_hash)
        assert torrent.name == source.name
        assert torrent.size == source.size
        assert torrent.progress == 0.0 and isinstance(torrent.progress, float)
        assert torrent.downloaded == 0 and torrent.uploaded == 0
        assert torrent.download_rate == 0 and torrent.upload_rate == 0
        assert torrent.ratio == 0.0 and isinstance(torrent.ratio, float)
        assert torrent.eta is None  # not downloading at any rate
        assert torrent.peers == 0 and torrent.seeds == 0
        assert before <= torrent.added_at <= after
        assert torrent.download_dir == str(daemon.download_dir)
        assert torrent.labels == []
        assert torrent.files is None
    assert listed[running.info_hash].state == "downloading"
    assert listed[paused.info_hash].state == "stopped"
    assert listed[paused.info_hash].error is None  # never announced
    assert listed[paused.info_hash].warning is None
    # The started one announced to a dead loopback tracker: d.message is a tracker warning,
    # not the torrent's error, and the state stays what it is.
    warned = wait_until(
        lambda: (t := client.get_torrent(running.info_hash)).warning and t,
        timeout=5,
        interval=0.05,
    )
    assert warned.warning.startswith("Tracker: [")
    assert (warned.state, warned.error) == ("downloading", None)
    # One torrent by hash (system.multicall) reads the same as the list (d.multicall2).
    assert client.get_torrent(paused.info_hash) == listed[paused.info_hash]
    assert client.list_torrents(info_hash=paused.info_hash.upper()) == [listed[paused.info_hash]]


def test_torrent_added_elsewhere_label_and_load_date(rtorrent_client, rtorrent_clean):
    # As ruTorrent would leave it: a URL-encoded label in d.custom1; no addtime of ours.
    torrent = make_torrent("td-foreign.bin")
    rtorrent_clean.rpc(
        "load.raw", "", xmlrpc.client.Binary(torrent.data), "d.custom1.set=Linux%20ISOs"
    )
    info = wait_until(lambda: by_hash(rtorrent_client, torrent.info_hash), timeout=5)
    assert info.labels == ["Linux ISOs"]
    assert abs(info.added_at - time.time()) < 5  # d.load_date
    assert info.state == "stopped"


def test_added_at_prefers_rutorrent_addtime(rtorrent_client, rtorrent_clean):
    torrent = make_torrent("td-addtime.bin")
    rtorrent_client.add_torrent(torrent.meta, start=False)
    rtorrent_clean.rpc("d.custom.set", torrent.info_hash.upper(), "addtime", "1600000000")
    assert rtorrent_client.get_torrent(torrent.info_hash).added_at == 1600000000


def test_add_magnet_and_duplicate_magnet(client):
    info_hash = random_info_hash()
    uri = magnet_for(info_hash, "td magnet") + TRACKER
    assert client.add_magnet(parse_magnet(uri), start=False) == AddedTorrent(info_hash, "td magnet")
    info = client.get_torrent(info_hash)
    assert info.state == "stopped"
    # rTorrent calls it HASH.meta (size 1) until the metadata arrives: we show the dn we kept.
    assert info.name == "td magnet"
    assert (info.size, info.progress, info.downloaded) == (None, 0.0, 0)
    with pytest.raises(DuplicateTorrent) as caught:
        client.add_magnet(parse_magnet(magnet_for(info_hash.upper(), "again") + TRACKER))
    assert caught.value.info_hash == info_hash
    assert caught.value.server == client.name
    assert str(caught.value).startswith(f"{client.name}: ")
    assert info_hash in str(caught.value) and "already" in str(caught.value)


def test_magnet_without_tracker_is_dropped_by_rtorrent(rtorrent_clean):
    # rTorrent 0.9.8 with DHT disabled silently drops a magnet with no tr=; we say so in time.
    client = RTorrentClient(
        rtorrent_clean.host, rtorrent_clean.scgi_port, timeout=1, name="rt-short"
    )
    info_hash = random_info_hash()
    started = time.monotonic()
    with pytest.raises(
        ProtocolError,
        match=r"^rt-short: .*did not load torrent [0-9a-f]{40} within 1 s — .*tracker \(tr=\)",
    ):
        client.add_magnet(parse_magnet(magnet_for(info_hash)))
    assert time.monotonic() - started < 2.5
    assert info_hash not in rtorrent_clean.hashes()


def test_duplicate_torrent_file(rtorrent_client):
    torrent = make_torrent("td-dup.bin")
    rtorrent_client.add_torrent(torrent.meta, start=False)
    with pytest.raises(DuplicateTorrent) as caught:
        rtorrent_client.add_torrent(torrent.meta)
    assert caught.value.info_hash == torrent.info_hash
    assert str(caught.value) == (
        f"rt-scgi: torrent {torrent.info_hash} (td-dup.bin) is already on this server"
    )
    assert rtorrent_client.get_torrent(torrent.info_hash).state == "stopped"  # left alone


def test_complete_data_is_seeding(rtorrent_client, rtorrent_clean):
    # A torrent whose data really is on disk: rTorrent hash-checks it and seeds.
    payload = os.urandom(2 * PIECE_LENGTH + 1234)
    data_file = rtorrent_clean.download_dir / "td-seed.bin"
    data_file.write_bytes(payload)
    pieces = b"".join(
        hashlib.sha1(payload[i : i + PIECE_LENGTH]).digest()
        for i in range(0, len(payload), PIECE_LENGTH)
    )
    info = {
        b"name": b"td-seed.bin",
        b"piece length": PIECE_LENGTH,
        b"length": len(payload),
        b"pieces": pieces,
        b"private": 1,
    }
    torrent = bencodepy.encode({b"announce": b"http://127.0.0.1:9/announce", b"info": info})
    info_hash = hashlib.sha1(bencodepy.encode(info)).hexdigest()

    rtorrent_client.add_torrent(parse_torrent_file(torrent))
    seeding = wait_state(rtorrent_client, info_hash, "seeding")
    assert seeding.progress == 1.0
    assert seeding.downloaded == seeding.size == len(payload)
    assert seeding.eta is None
    assert rtorrent_client.erase([info_hash], delete_data=True) == {}
    assert not data_file.exists()


def test_a_torrent_whose_wanted_files_are_done_is_complete(rtorrent_client, rtorrent_clean):
    # As on Transmission: with a file switched off, size is the wanted part and it completes.
    data, info_hash = make_real_torrent(
        rtorrent_clean.download_dir,
        "td-partial",
        [("wanted.bin", 2 * PIECE_LENGTH, True), ("skipped.bin", 3 * PIECE_LENGTH, False)],
    )
    rtorrent_client.add_torrent(parse_torrent_file(data), options=AddOptions(unwanted_files=(1,)))
    seeding = wait_state(rtorrent_client, info_hash, "seeding")
    assert (seeding.size, seeding.downloaded, seeding.progress) == (
        2 * PIECE_LENGTH,
        2 * PIECE_LENGTH,
        1.0,
    )
    # Switched on again: the whole torrent is wanted, and half of it is missing.
    rtorrent_client.set_files(info_hash, [FileChange(1, wanted=True)])
    grown = wait_until(
        lambda: (t := rtorrent_client.get_torrent(info_hash)).size == 5 * PIECE_LENGTH and t,
        timeout=30,
        message="the size counting the file switched on",
    )
    assert grown.state == "downloading" and grown.progress == 0.4


HOSTILE_NAME = 'a "dn", with $cat=x; spaces\\ \nnewline, 100% ü 日本 😀'


def test_magnet_fetching_metadata_shows_its_dn(client, rtorrent_clean):
    # A started magnet whose dn rTorrent's command parser would choke on or run: kept as a
    # load command, read back while the metadata is missing; the tracker's refusal is a warning.
    info_hash = random_info_hash()
    uri = f"magnet:?xt=urn:btih:{info_hash}&dn={quote(HOSTILE_NAME)}{TRACKER}"
    assert client.add_magnet(parse_magnet(uri)) == AddedTorrent(info_hash, HOSTILE_NAME)
    info = wait_until(
        lambda: (t := client.get_torrent(info_hash)).warning and t, timeout=5, interval=0.05
    )
    assert (info.state, info.name, info.size, info.progress) == (
        "metadata",
        HOSTILE_NAME,
        None,
        0.0,
    )
    assert info.warning.startswith("Tracker: [") and info.error is None
    assert by_hash(client, info_hash) == info
    # rTorrent's HASH.meta placeholder is no file of the torrent: none until the metadata.
    assert client.get_torrent(info_hash, files=True).files == []
    assert [t.files for t in client.list_torrents(files=True)] == [[]]
    target = info_hash.upper()
    assert rtorrent_clean.rpc("d.name", target) == f"{target}.meta"
    assert rtorrent_clean.rpc("d.is_meta", target) == 1
    assert rtorrent_clean.rpc("d.hashing_failed", target) == 0  # the load command ran
    rtorrent_clean.rpc("d.stop", target)
    assert client.get_torrent(info_hash).state == "stopped"


# -- states against a tracker that refuses connections (127.0.0.1:9) ---------------------------


def warned(client: RTorrentClient, info_hash: str, state: str):
    """The torrent once it is in `state` with the tracker's complaint as its warning."""
    info = wait_until(
        lambda: (t := client.get_torrent(info_hash)).state == state and t.warning and t,
        timeout=10,
        interval=0.05,
        message=f"{info_hash} {state} with a tracker warning",
    )
    assert info.warning == "Tracker: [Couldn't connect to server]"
    assert info.error is None
    return info


def test_states_with_an_unreachable_tracker(rtorrent_client, rtorrent_clean):
    client = rtorrent_client
    data, complete = make_real_torrent(
        rtorrent_clean.download_dir, "td-complete", [("a.bin", 40000, True), ("b.bin", 99, True)]
    )
    client.add_torrent(parse_torrent_file(data))  # hash-checked on start: all there
    incomplete = make_torrent("td-incomplete.bin")
    client.add_torrent(incomplete.meta)

    seeding = warned(client, complete, "seeding")
    assert seeding.progress == 1.0
    downloading = warned(client, incomplete.info_hash, "downloading")
    assert downloading.progress == 0.0

    # Stopped and closed (as our stop does), the tracker's message stays, only a warning.
    for method in ("d.stop", "d.close"):
        rtorrent_clean.rpc(method, complete.upper())
    stopped = warned(client, complete, "stopped")
    assert stopped.progress == 1.0
    for method in ("d.open", "d.start"):
        rtorrent_clean.rpc(method, complete.upper())
    warned(client, complete, "seeding")


def test_hashing_is_checking(rtorrent_client, rtorrent_clean):
    client = rtorrent_client
    data, info_hash = make_real_torrent(
        rtorrent_clean.download_dir, "td-hashing", [("big.bin", 48 * 1024 * 1024, True)]
    )
    client.add_torrent(parse_torrent_file(data))
    warned(client, info_hash, "seeding")

    def checking():
        # A recheck of 48 MiB lasts only tens of milliseconds here: start one whenever none
        # is running, and look until one is caught in the act.
        if not rtorrent_clean.rpc("d.hashing", info_hash.upper()):
            rtorrent_clean.rpc("d.check_hash", info_hash.upper())
        info = client.get_torrent(info_hash)
        return info.state == "checking" and info

    info = wait_until(checking, timeout=30, interval=0, message="caught hashing")
    assert info.warning == "Tracker: [Couldn't connect to server]" and info.error is None
    warned(client, info_hash, "seeding")


# One d.multicall2 row, in _TORRENT_FIELDS order.
ROW = [
    "ABCDEF0123456789ABCDEF0123456789ABCDEF01",  # d.hash
    "name",  # d.name
    1,  # d.state
    1,  # d.is_active
    0,  # d.hashing
    0,  # d.complete
    1000,  # d.size_bytes
    250,  # d.completed_bytes
    500,  # d.up.total
    50,  # d.down.rate
    7,  # d.up.rate
    1500,  # d.ratio, per mille
    4,  # d.peers_connected
    2,  # d.peers_complete
    "",  # d.custom=addtime
    1700000000,  # d.load_date
    "/data",  # d.directory
    0,  # d.is_multi_file
    "",  # d.custom1
    "",  # d.message
    1,  # d.is_open
    0,  # d.is_meta
    0,  # d.hashing_failed
    "",  # d.custom=tdname
    3,  # d.wanted_chunks
    256,  # d.chunk_size
]


@pytest.mark.parametrize(
    ("changes", "state", "eta"),
    [
        ({}, "downloading", 15),  # 750 bytes left at 50 B/s
        ({9: 0}, "downloading", None),
        ({5: 1, 7: 1000}, "seeding", None),
        ({4: 1}, "checking", None),
        ({4: 3, 2: 0}, "checking", None),
        ({2: 0, 3: 0, 20: 0}, "stopped", None),
        ({3: 0}, "stopped", None),  # paused: open, d.state 1, inactive
        ({20: 0}, "stopped", None),  # closed
        ({5: 1, 7: 1000, 2: 0, 3: 0, 20: 0}, "stopped", None),  # complete, stopped
        ({21: 1, 6: 1, 7: 0}, "metadata", None),  # a magnet's HASH.meta, size 1
        ({21: 1, 6: 1, 7: 0, 2: 0, 3: 0, 20: 0}, "stopped", None),  # ... stopped
        ({24: 1}, "downloading", 5),  # files switched off: 1 wanted chunk of 256 B left
        ({24: 0}, "seeding", None),  # every wanted chunk done: complete, as Transmission says
    ],
)
def test_row_conversion_states_and_eta(changes, state, eta):
    row = list(ROW)
    for index, value in changes.items():
        row[index] = value
    info = _to_info(row)
    assert (info.state, info.eta) == (state, eta)
    assert info.info_hash == ROW[0].lower()
    assert info.ratio == 1.5
    if row[21]:  # no metadata: size unknown
        assert (info.size, info.downloaded, info.progress) == (None, 0, 0.0)
    else:  # the wanted part: what is done and the wanted chunks left, at most the whole
        size = min(row[6], row[7] + row[24] * row[25])
        assert (info.size, info.progress) == (size, row[7] / size)
    assert info.added_at == 1700000000 and info.labels == []
    assert info.error is None and info.warning is None


@pytest.mark.parametrize(
    ("changes", "error", "warning"),
    [
        ({19: "Tracker: [timeout]"}, None, "Tracker: [timeout]"),
        ({19: "Tracker: [Tried all trackers.]", 3: 0}, None, "Tracker: [Tried all trackers.]"),
        ({19: "Storage error: [No space left on device]"}, "Storage error: [No space", None),
        ({19: "Command on torrent creation failed", 22: 1}, "Command on torrent creation", None),
        ({22: 1}, "the hash check failed — check that the data", None),
        ({19: "Tracker: [timeout]", 22: 1}, "the hash check failed", "Tracker: [timeout]"),
    ],
)
def test_row_conversion_tracker_messages_are_warnings(changes, error, warning):
    row = list(ROW)
    for index, value in changes.items():
        row[index] = value
    info = _to_info(row)
    assert (info.error or "").startswith(error or "") and bool(info.error) == bool(error)
    assert info.warning == warning
    assert info.state == ("stopped" if not row[3] else "downloading")


def test_row_conversion_addtime_label_and_kept_name():
    row = list(ROW)
    row[14], row[18] = "1600000000", "Linux%20ISOs"
    row[1], row[23] = "ABC.meta", _name_command(HOSTILE_NAME).split(",", 1)[1]
    info = _to_info(row)
    assert (info.added_at, info.labels, info.name) == (1600000000, ["Linux ISOs"], "ABC.meta")
    row[21] = 1  # the kept name is shown only while the metadata is missing
    assert _to_info(row).name == HOSTILE_NAME
    row[23] = ""  # added elsewhere, without our name
    assert _to_info(row).name == "ABC.meta"


def test_kept_name_commands_carry_only_letters_digits_and_escapes():
    command = _name_command(HOSTILE_NAME)
    assert re.fullmatch(r"d\.custom\.set=tdname,[A-Za-z0-9_%]+", command)
    assert _is_load_option(command)
    assert _is_load_option(_name_command("x" * 10_000))  # capped
    assert unquote(_name_command("é" * 300).split(",", 1)[1]) == "é" * 255


# -- start, stop, files ---------------------------------------------------------------------


def test_start_and_stop(client, rtorrent_clean):
    torrent = make_torrent("td-startstop.bin")
    client.add_torrent(torrent.meta, start=False)
    target = torrent.info_hash.upper()
    assert client.get_torrent(torrent.info_hash).state == "stopped"

    assert client.start([torrent.info_hash]) == {}
    wait_state(client, torrent.info_hash, "downloading")
    assert rtorrent_clean.rpc("d.is_active", target) == 1

    assert client.stop([torrent.info_hash]) == {}
    assert client.get_torrent(torrent.info_hash).state == "stopped"
    assert rtorrent_clean.rpc("d.state", target) == 0
    assert rtorrent_clean.rpc("d.is_open", target) == 0  # closed too

    # Paused elsewhere (state 1, inactive): reads as stopped, and start resumes it.
    assert client.start([torrent.info_hash]) == {}
    wait_state(client, torrent.info_hash, "downloading")
    rtorrent_clean.rpc("d.pause", target)
    assert client.get_torrent(torrent.info_hash).state == "stopped"
    assert client.start([torrent.info_hash]) == {}
    wait_state(client, torrent.info_hash, "downloading")
    assert rtorrent_clean.rpc("d.is_active", target) == 1


def test_files_of_a_multi_file_torrent(rtorrent_client, rtorrent_clean):
    torrent = make_torrent(
        "td-multi", files=[("disc 1/track.flac", 40000), ("cover.jpg", 3000), ("notes.txt", 7)]
    )
    single = make_torrent("td-single-file.bin")
    rtorrent_client.add_torrent(torrent.meta, start=False)
    rtorrent_client.add_torrent(single.meta, start=False)
    target = torrent.info_hash.upper()
    rtorrent_clean.rpc("f.priority.set", f"{target}:f1", 0)
    rtorrent_clean.rpc("f.priority.set", f"{target}:f2", 2)
    rtorrent_clean.rpc("d.update_priorities", target)

    info = rtorrent_client.get_torrent(torrent.info_hash, files=True)
    assert info.files == [
        TorrentFile(0, "disc 1/track.flac", 40000, 0.0, True, "normal"),
        TorrentFile(1, "cover.jpg", 3000, 0.0, False, "normal"),
        TorrentFile(2, "notes.txt", 7, 0.0, True, "high"),
    ]
    assert info.size == 43007
    assert info.download_dir == str(rtorrent_clean.download_dir)  # the parent, as Transmission
    # The whole list with files: every torrent gets its own.
    listed = {t.info_hash: t for t in rtorrent_client.list_torrents(files=True)}
    assert listed[torrent.info_hash].files == info.files
    assert listed[single.info_hash].files == [
        TorrentFile(0, "td-single-file.bin", single.size, 0.0, True, "normal")
    ]
    assert rtorrent_client.get_torrent(torrent.info_hash).files is None


# -- erasing --------------------------------------------------------------------------------


def test_erase_keeps_data(client, rtorrent_clean):
    torrent = make_torrent("td-keep.bin")
    client.add_torrent(torrent.meta)
    data = rtorrent_clean.download_dir / "td-keep.bin"
    data.write_bytes(b"payload")
    assert client.erase([torrent.info_hash]) == {}
    assert torrent.info_hash not in rtorrent_clean.hashes()
    assert data.read_bytes() == b"payload"
    data.unlink()


@pytest.mark.parametrize("multi_file", [False, True], ids=["single-file-paused", "multi-started"])
def test_erase_with_data_deletes_only_the_torrents_data(
    rtorrent_client, rtorrent_clean, multi_file
):
    downloads = rtorrent_clean.download_dir
    sibling = downloads / "td-neighbour.txt"
    sibling.write_text("stay")
    if multi_file:
        torrent = make_torrent("td-del-dir", files=[("sub/a.bin", 20000), ("b.txt", 3)])
        data = downloads / "td-del-dir"
        (data / "sub").mkdir(parents=True)
        (data / "sub" / "a.bin").write_bytes(b"a")
        (data / "b.txt").write_bytes(b"b")
    else:
        torrent = make_torrent("td-del.bin")
        data = downloads / "td-del.bin"
        data.write_bytes(b"payload")
    rtorrent_client.add_torrent(torrent.meta, start=multi_file)

    assert rtorrent_client.erase([torrent.info_hash], delete_data=True) == {}

    assert torrent.info_hash not in rtorrent_clean.hashes()
    assert not data.exists()
    assert downloads.is_dir() and sibling.read_text() == "stay"
    sibling.unlink()


# -- errors ---------------------------------------------------------------------------------


def test_unknown_hash_is_not_found_everywhere(client, rtorrent_clean):
    unknown = random_info_hash()
    present = make_torrent("td-present.bin")
    client.add_torrent(present.meta, start=False)
    expected = f"{client.name}: no torrent with info hash {unknown} on this server"
    verbs = [
        client.start,
        client.stop,
        client.recheck,
        client.reannounce,
        client.erase,
        lambda hashes: client.erase(hashes, delete_data=True),
    ]
    for verb in verbs:
        failures = verb([unknown, "../../etc"])
        assert sorted(failures) == sorted([unknown, "../../etc"])
        assert isinstance(failures[unknown], TorrentNotFound)
        assert str(failures[unknown]) == expected
        assert "not a 40-hex-digit hash" in str(failures["../../etc"])
    for lookup in (lambda: client.get_torrent(unknown), lambda: client.get_torrent(unknown, True)):
        with pytest.raises(TorrentNotFound) as caught:
            lookup()
        assert str(caught.value) == expected
    assert present.info_hash in rtorrent_clean.hashes()  # nothing else was touched


def test_verbs_act_on_many_torrents_in_one_call_and_report_each_failure(client, rtorrent_clean):
    torrents = [make_torrent(f"td-many-{i}.bin") for i in range(3)]
    for torrent in torrents:
        client.add_torrent(torrent.meta, start=False)
    hashes = [t.info_hash for t in torrents]
    unknown = random_info_hash()

    assert client.start([*hashes, unknown]).keys() == {unknown}
    for info_hash in hashes:
        wait_state(client, info_hash, "downloading")
    assert client.stop(hashes) == {}
    assert [rtorrent_clean.rpc("d.state", h.upper()) for h in hashes] == [0, 0, 0]
    assert client.reannounce(hashes) == {}
    assert client.recheck(hashes[:1]) == {}
    assert client.erase([hashes[0], unknown, hashes[1]]).keys() == {unknown}
    assert rtorrent_clean.hashes() & set(hashes) == {hashes[2]}


def test_wrong_password_is_an_auth_error(rtorrent_http):
    client = RTorrentClient(
        rtorrent_http.host,
        rtorrent_http.port,
        protocol="http",
        username=rtorrent_http.username,
        password="wrong",
        name="rt-badpass",
    )
    with pytest.raises(AuthError) as caught:
        client.version()
    assert str(caught.value) == (
        "rt-badpass: wrong username or password (HTTP 401) — check the server's credentials"
    )
    assert client.check_connection() is False
    anonymous = RTorrentClient(rtorrent_http.host, rtorrent_http.port, protocol="http")
    with pytest.raises(AuthError, match=rf"127\.0\.0\.1:{rtorrent_http.port}: .*HTTP 401"):
        anonymous.list_torrents()


def test_wrong_rpc_path_is_a_protocol_error(rtorrent_http):
    client = RTorrentClient(
        rtorrent_http.host,
        rtorrent_http.port,
        protocol="http",
        username=rtorrent_http.username,
        password=rtorrent_http.password,
        rpc_path="/nope",
        name="rt-path",
    )
    with pytest.raises(ProtocolError, match=r"rt-path: .*/nope answered HTTP 404 .*RPC path"):
        client.version()


@pytest.mark.parametrize("protocol", ["scgi", "http"])
def test_closed_port_is_a_connect_error(protocol):
    with closed_port() as port:
        client = RTorrentClient("127.0.0.1", port, protocol=protocol, timeout=2, name="rt-down")
        with pytest.raises(ConnectError, match=r"^rt-down: connection refused by .*is rTorrent"):
            client.list_torrents()
        assert client.check_connection() is False


@pytest.mark.parametrize("protocol", ["scgi", "http"])
def test_black_hole_is_a_timeout(protocol):
    with black_hole() as port:
        client = RTorrentClient("127.0.0.1", port, protocol=protocol, timeout=1, name="rt-hole")
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"^rt-hole: no answer from .* within the timeout"):
            client.list_torrents()
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1 + 1.5


def _fault(code: int, text: str) -> bytes:
    return xmlrpc.client.dumps(xmlrpc.client.Fault(code, text), methodresponse=True).encode()


@pytest.mark.parametrize(
    ("protocol", "reply", "error", "message"),
    [
        ("scgi", b"garbage", ProtocolError, "did not answer like rTorrent's SCGI port"),
        ("scgi", b"Status: 200 OK\r\n\r\n<html>no</html>", ProtocolError, "an HTML page"),
        ("scgi", b"Status: 500 Internal Server Error\r\n\r\n", ProtocolError, "status 500"),
        ("http", b"garbage\r\n\r\n", ProtocolError, "did not answer with valid HTTP"),
        ("http", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", ProtocolError, "5 bytes"),
        ("http", b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n", ProtocolError, "502"),
        ("http", b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", AuthError, "HTTP 403"),
    ],
)
def test_garbage_replies(protocol, reply, error, message):
    with garbage_reply(reply) as port:
        client = RTorrentClient("127.0.0.1", port, protocol=protocol, timeout=2, name="rt-junk")
        with pytest.raises(error, match=rf"^rt-junk: .*{re.escape(message)}"):
            client.version()


@pytest.mark.parametrize(
    ("body", "looks"),
    [
        (b"", "an empty reply"),  # xmlrpc.client said "ResponseError: ResponseError()"
        (b"<!DOCTYPE html><html><body>Welcome to nginx</body></html>", "an HTML page"),
        (b"<?xml version='1.0'?><methodCall/>", "XML that is not an XML-RPC answer"),
        (b"\x00\x01binary", "8 bytes of something else"),
    ],
)
def test_a_reply_that_is_not_xml_rpc_says_what_it_was_and_what_to_check(body, looks):
    with garbage_reply(b"Status: 200 OK\r\n\r\n" + body) as port:
        client = RTorrentClient("127.0.0.1", port, timeout=2, name="rt-other")
        with pytest.raises(ProtocolError) as raised:
            client.version()
    assert str(raised.value) == (
        f"rt-other: scgi://127.0.0.1:{port} answered system.multicall with {looks}, not "
        "XML-RPC — check that this address is rTorrent (its SCGI port, or /RPC2 behind a web "
        "server)"
    )


def test_http_keep_alive_closed_by_the_server_is_retried_once():
    # The fake answers one request per connection and closes it, as a web server does when
    # its keep-alive timeout expires: the next call must reconnect, not fail.
    body = xmlrpc.client.dumps(([["0.9.8"], ["0.13.8"]],), methodresponse=True).encode()
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    with garbage_reply(reply) as port:
        client = RTorrentClient("127.0.0.1", port, protocol="http", timeout=2, name="rt-ka")
        assert client.version() == "rTorrent 0.9.8 / libtorrent 0.13.8"
        assert client.version() == "rTorrent 0.9.8 / libtorrent 0.13.8"
        client.close()


def test_faults_map_to_not_found_or_protocol_error():
    scgi_head = b"Status: 200 OK\r\nContent-Type: text/xml\r\n\r\n"
    info_hash = random_info_hash()
    with garbage_reply(scgi_head + _fault(-501, "Could not find info-hash.")) as port:
        client = RTorrentClient("127.0.0.1", port, timeout=2, name="rt-fault")
        with pytest.raises(
            TorrentNotFound, match=f"^rt-fault: no torrent with info hash {info_hash}"
        ):
            client.get_torrent(info_hash)
    with garbage_reply(scgi_head + _fault(-506, "Method 'x' not defined")) as port:
        client = RTorrentClient("127.0.0.1", port, timeout=2, name="rt-fault")
        with pytest.raises(ProtocolError, match=r"^rt-fault: rTorrent fault -506 .*not defined"):
            client.list_torrents()


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("execute.nothrow", ("", "sh", "-c", "touch /tmp/td-pwned")),
        ("execute.throw", ("", "sh", "-c", "touch /tmp/td-pwned")),
        ("execute.throw", ("", "rm", "-rf", "--", "/")),
        ("execute.nothrow", ("", "rm", "-rf", "--", "/data/x")),
        ("execute.throw", ("", "rm", "-rf", "--", "relative/path")),
        ("execute.throw", ("", "rm", "-rf", "--", "/data/../etc")),
        ("d.multicall2", ("", "main", "d.hash=", "d.erase=")),
        ("d.multicall2", ("", "main", "d.name=$execute.capture={sh,-c,id}")),
        ("f.multicall", ("ABC", "", "f.path=;execute=id")),
        ("load.start", ("", "http://x/t.torrent", "execute=rm,-rf,/")),
        ("system.multicall", ([{"methodName": "execute", "params": ["", "id"]}],)),
        ("system.multicall", ([{"methodName": "system.multicall", "params": [[]]}],)),
        ("d.directory_base.set", ("ABC", "/")),
        ("d.custom2.set", ("ABC", "x")),
        # A magnet's kept name: only the percent-encoded shape passes.
        *[
            ("load.start", ("", "magnet:?xt=urn:btih:" + "a" * 40, command))
            for command in (
                "d.custom.set=tdname,$execute=id",
                "d.custom.set=tdname,a;execute=id",
                'd.custom.set=tdname,"a,b"',
                "d.custom.set=tdname,a b",
                "d.custom.set=tdname,a\\,b",
                "d.custom.set=tdname,abc\n",
                "d.custom.set=tdname,%0a",  # lower-case hex: not what we write
                "d.custom.set=tdname,%2",
                "d.custom.set=tdname,%%41",
                "d.custom.set=tdname,{execute=id}",
                "d.custom.set=tdname," + "%41" * 1021,  # longer than a kept name can be
                "d.custom.set=addtime,%41",  # escapes for our name's key only
                "d.custom.set=tdname,%41,execute=id",
                "d.custom1.set=%41",
                "d.custom.set=TDNAME,%41",
            )
        ],
    ],
)
def test_methods_outside_the_allowlist_are_never_sent(method, params):
    connections = []
    with tcp_server(connections.append) as port:
        client = RTorrentClient("127.0.0.1", port, timeout=1, name="rt-guard")
        with pytest.raises(ProtocolError, match=r"^rt-guard: refused to send .*allowlist"):
            client._call(method, *params)
        time.sleep(0.05)
    assert connections == []
    assert not os.path.exists("/tmp/td-pwned")


def test_unknown_protocol_is_rejected():
    with pytest.raises(ValueError, match="unknown rTorrent protocol"):
        RTorrentClient("127.0.0.1", 1, protocol="ftp")


def test_default_name_is_host_and_port():
    client = RTorrentClient("127.0.0.1", 5000)
    assert client.name == "127.0.0.1:5000"
    assert client.timeout == 10.0


def test_default_download_dir_is_rtorrents(client, rtorrent_clean):
    assert client.default_download_dir() == str(rtorrent_clean.download_dir)


def test_add_options_reach_rtorrent_only_as_quoted_encoded_load_commands():
    client = RTorrentClient("127.0.0.1", 1, name="rt-shape")
    commands = client._load_commands(
        AddOptions(labels=("a b,c", "$HOME;x", 'q"\\'), download_dir="/srv/a b;c,$d")
    )
    assert commands[1:] == [
        'd.directory.set="/srv/a b;c,$d"',
        'd.custom1.set="a%20b%2Cc,%24HOME%3Bx,q%22%5C"',
    ]
    for command in commands[1:]:
        assert _is_load_option(command)
    for hostile in ('/a"b', "/a\\b", "/a\nb", "relative"):
        with pytest.raises(ProtocolError, match="cannot be given the download directory"):
            client._load_commands(AddOptions(download_dir=hostile))
    assert not _is_load_option('d.directory.set="/x";execute=id')
    assert not _is_load_option('d.custom1.set="a b"')
