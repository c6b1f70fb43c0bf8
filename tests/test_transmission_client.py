"""TransmissionClient against a real transmission-daemon 3.00 (RPC auth on), and fakes."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import bencodepy
import pytest
import transmission_rpc

from tests.daemons.common import http_files, wait_until
from tests.daemons.fakes import black_hole, closed_port, garbage_reply
from tests.daemons.transmission import TransmissionDaemon
from tests.torrent_factory import (
    PIECE_LENGTH,
    magnet_for,
    make_real_torrent,
    make_torrent,
    random_info_hash,
)
from torrentdesk.clients import (
    AddedTorrent,
    AuthError,
    ClientError,
    ConnectError,
    DuplicateTorrent,
    ProtocolError,
    TimeoutError,
    TorrentFile,
    TorrentInfo,
    TorrentNotFound,
    TransmissionClient,
    get_client,
)
from torrentdesk.clients import transmission as transmission_module
from torrentdesk.clients.base import ServerConnection
from torrentdesk.clients.transmission import LIST_FIELDS, _first_tracker_host, _torrent_info
from torrentdesk.torrent_input import parse_magnet, parse_torrent_file

pytestmark = pytest.mark.daemon

NAME = "test-transmission"  # the client's server name, expected in every error message
STATES = {"downloading", "seeding", "stopped", "checking", "queued", "metadata"}


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def raw(transmission_daemon: TransmissionDaemon) -> Iterator[transmission_rpc.Client]:
    """The library client, for setup the TransmissionClient does not offer (priorities...)."""
    d = transmission_daemon
    client = transmission_rpc.Client(
        host=d.host, port=d.port, username=d.username, password=d.password, timeout=5
    )
    yield client
    client.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def clean_daemon(transmission_clean: TransmissionDaemon) -> None:
    """Leave no torrent and no data behind for the next test."""


def settled(client: TransmissionClient, info_hash: str, *states: str) -> TorrentInfo:
    """Wait until the torrent is in one of `states` (hash checks and queues take a moment)."""
    return wait_until(
        lambda: next((t for t in [client.get_torrent(info_hash)] if t.state in states), None),
        timeout=10,
        message=f"torrent {info_hash} in state {states}",
    )


def seeding(
    client: TransmissionClient, daemon: TransmissionDaemon, name: str
) -> tuple[str, TorrentInfo]:
    """A started torrent whose one file (x.bin) is all there: its hash, once seeding."""
    data, info_hash = make_real_torrent(
        daemon.download_dir, name, [("x.bin", PIECE_LENGTH + 7, True)]
    )
    client.add_torrent(parse_torrent_file(data), start=True)
    return info_hash, settled(client, info_hash, "seeding")


def client_for(port: int, **kwargs) -> TransmissionClient:
    return TransmissionClient("127.0.0.1", port, name=NAME, **kwargs)


def assert_names_server(exc: ClientError) -> None:
    assert exc.server == NAME
    assert str(exc).startswith(f"{NAME}: ")


# -- construction -----------------------------------------------------------------------------


def test_constructor_defaults_and_protocol_checks() -> None:
    client = TransmissionClient("example.invalid", 9091)
    assert client.name == "example.invalid:9091"
    assert client.rpc_path == "/transmission/rpc"
    assert client.protocol == "http"
    assert client.timeout == 10.0
    assert client.server_type == "transmission"
    assert TransmissionClient("h", 1, rpc_path="custom/rpc").rpc_path == "/custom/rpc"
    assert TransmissionClient("h", 1, protocol="https").protocol == "https"
    with pytest.raises(ValueError, match="SCGI is rTorrent's protocol"):
        TransmissionClient("h", 1, protocol="scgi")
    with pytest.raises(ValueError, match="http or https"):
        TransmissionClient("h", 1, protocol="ftp")
    made = get_client(
        ServerConnection("srv", "transmission", "h", 1, rpc_path="/x/rpc", timeout=3.0)
    )
    assert isinstance(made, TransmissionClient)
    assert (made.name, made.rpc_path, made.timeout) == ("srv", "/x/rpc", 3.0)


def test_version_and_check_connection(transmission_client: TransmissionClient) -> None:
    assert transmission_client.version().startswith("Transmission 3.00 (")
    assert transmission_client.check_connection() is True
    with closed_port() as port:
        assert client_for(port, timeout=1).check_connection() is False


def test_rpc_path_handling(transmission_daemon: TransmissionDaemon) -> None:
    d = transmission_daemon
    creds = {"username": d.username, "password": d.password}
    for path in ("/transmission/rpc", "transmission/rpc", "/transmission/"):
        assert client_for(d.port, rpc_path=path, **creds).version().startswith("Transmission")
    with pytest.raises(ProtocolError) as info:
        client_for(d.port, rpc_path="/elsewhere/rpc", **creds).version()
    assert_names_server(info.value)
    assert "not Transmission RPC JSON" in str(info.value)
    assert "/elsewhere/rpc" in str(info.value)


def test_https_against_plain_http_is_a_connect_error(
    transmission_daemon: TransmissionDaemon,
) -> None:
    d = transmission_daemon
    client = client_for(d.port, protocol="https", username=d.username, password=d.password)
    with pytest.raises(ConnectError) as info:
        client.version()
    assert_names_server(info.value)
    assert f"https://127.0.0.1:{d.port}" in str(info.value)
    assert "SSL" in str(info.value)


# -- adding and listing -----------------------------------------------------------------------


def test_add_file_started_and_paused(transmission_client: TransmissionClient) -> None:
    started = make_torrent("started one")
    paused = make_torrent("paused one")
    assert transmission_client.add_torrent(started.meta, start=True) == AddedTorrent(
        started.info_hash, "started one"
    )
    assert transmission_client.add_torrent(paused.meta, start=False) == AddedTorrent(
        paused.info_hash, "paused one"
    )
    # No data on disk and nobody to download from: it stays "downloading", at 0 %.
    running = settled(transmission_client, started.info_hash, "downloading")
    assert running.progress == 0.0
    stopped = settled(transmission_client, paused.info_hash, "stopped")
    assert stopped.eta is None
    hashes = {t.info_hash for t in transmission_client.list_torrents()}
    assert hashes == {started.info_hash, paused.info_hash}


def test_list_normalizes_every_field(
    transmission_client: TransmissionClient, transmission_daemon: TransmissionDaemon
) -> None:
    torrent = make_torrent("listed")
    before = int(time.time())
    transmission_client.add_torrent(torrent.meta, start=False)
    settled(transmission_client, torrent.info_hash, "stopped")
    [info] = transmission_client.list_torrents()
    assert isinstance(info, TorrentInfo)
    assert info.info_hash == torrent.info_hash
    assert len(info.info_hash) == 40 and info.info_hash == info.info_hash.lower()
    assert info.name == "listed"
    assert info.state == "stopped"
    assert info.progress == 0.0 and isinstance(info.progress, float)
    assert info.size == torrent.size and isinstance(info.size, int)
    assert info.downloaded == 0 and isinstance(info.downloaded, int)
    assert info.uploaded == 0 and isinstance(info.uploaded, int)
    assert (info.download_rate, info.upload_rate) == (0, 0)
    assert info.ratio == 0.0 and isinstance(info.ratio, float)  # Transmission says -1 here
    assert info.eta is None
    assert (info.peers, info.seeds) == (0, 0)
    assert isinstance(info.added_at, int) and before - 2 <= info.added_at <= time.time() + 2
    assert info.download_dir == str(transmission_daemon.download_dir)
    assert info.labels == []
    assert info.error is None and info.warning is None
    assert info.files is None


def test_labels_are_read_in_order(
    transmission_client: TransmissionClient, raw: transmission_rpc.Client
) -> None:
    torrent = make_torrent("labelled")
    transmission_client.add_torrent(torrent.meta, start=False)
    raw.change_torrent(torrent.info_hash, labels=["tv", "hd"])
    assert transmission_client.get_torrent(torrent.info_hash).labels == ["tv", "hd"]


def test_tracker_error_is_a_warning(transmission_client: TransmissionClient) -> None:
    # Transmission's error 2 (the tracker refused the announce): the torrent itself is fine.
    reply = bencodepy.encode({b"failure reason": b"torrent not registered"})
    with http_files({"/announce": (200, reply)}) as base:
        torrent = make_torrent("rejected", tracker=f"{base}/announce")
        transmission_client.add_torrent(torrent.meta, start=True)
        info = wait_until(
            lambda: (t := transmission_client.get_torrent(torrent.info_hash)).warning and t,
            timeout=15,
            message="tracker error reported",
        )
    assert "torrent not registered" in info.warning
    assert (info.error, info.state) == (None, "downloading")
    [listed] = transmission_client.list_torrents()  # the table path reads it the same
    assert (listed.error, listed.warning) == (None, info.warning)


def test_missing_data_is_the_torrents_error(
    transmission_client: TransmissionClient,
    transmission_daemon: TransmissionDaemon,
    raw: transmission_rpc.Client,
) -> None:
    # Transmission's error 3 (local): a complete torrent whose data disappeared.
    info_hash, _ = seeding(transmission_client, transmission_daemon, "vanishing")
    raw.stop_torrent(info_hash)
    settled(transmission_client, info_hash, "stopped")
    (transmission_daemon.download_dir / "vanishing" / "x.bin").unlink()
    raw.start_torrent(info_hash)
    info = wait_until(
        lambda: (t := transmission_client.get_torrent(info_hash)).error and t,
        message="local error reported",
    )
    assert "No data found" in info.error
    assert info.warning is None


def test_get_one_by_hash(transmission_client: TransmissionClient) -> None:
    wanted, other = make_torrent("wanted"), make_torrent("other")
    transmission_client.add_torrent(wanted.meta, start=False)
    transmission_client.add_torrent(other.meta, start=False)
    [only] = transmission_client.list_torrents(info_hash=wanted.info_hash)
    assert (only.info_hash, only.name) == (wanted.info_hash, "wanted")
    # Upper case and surrounding spaces are accepted; the result is normalized.
    got = transmission_client.get_torrent(f" {wanted.info_hash.upper()} ")
    assert got.info_hash == wanted.info_hash


def test_start_and_stop(transmission_client: TransmissionClient) -> None:
    torrent = make_torrent("toggled")
    transmission_client.add_torrent(torrent.meta, start=False)
    settled(transmission_client, torrent.info_hash, "stopped")
    assert transmission_client.start([torrent.info_hash]) == {}
    settled(transmission_client, torrent.info_hash, "downloading")
    assert transmission_client.stop([torrent.info_hash]) == {}
    assert settled(transmission_client, torrent.info_hash, "stopped").state == "stopped"


def test_add_magnet_hex_and_base32(transmission_client: TransmissionClient) -> None:
    hex_hash, b32_hash = random_info_hash(), random_info_hash()
    b32 = base64.b32encode(bytes.fromhex(b32_hash)).decode()
    uri = magnet_for(hex_hash.upper(), "hex name") + "%2B1"  # dn=hex+name%2B1
    added = transmission_client.add_magnet(parse_magnet(uri), start=False)
    assert added == AddedTorrent(hex_hash, "hex name+1")
    added = transmission_client.add_magnet(
        parse_magnet(f"magnet:?xt=urn:btih:{b32}&dn=b32name"), start=True
    )
    assert added == AddedTorrent(b32_hash, "b32name")
    settled(transmission_client, hex_hash, "stopped")  # "queued" for a moment, at times
    settled(transmission_client, b32_hash, "metadata")
    by_hash = {t.info_hash: t for t in transmission_client.list_torrents()}
    assert set(by_hash) == {hex_hash, b32_hash}
    assert by_hash[hex_hash].state == "stopped"
    assert by_hash[hex_hash].size is None  # no metadata: size unknown
    assert by_hash[hex_hash].name == "hex name+1"  # the dn, its + a space as we read it
    assert by_hash[b32_hash].state == "metadata"  # started, fetching its metadata
    assert by_hash[b32_hash].name == "b32name"
    assert by_hash[b32_hash].size is None and by_hash[b32_hash].progress == 0.0


def test_duplicates_are_refused(transmission_client: TransmissionClient) -> None:
    torrent = make_torrent("twice")
    transmission_client.add_torrent(torrent.meta, start=False)
    with pytest.raises(DuplicateTorrent) as file_dup:
        transmission_client.add_torrent(torrent.meta)
    assert file_dup.value.info_hash == torrent.info_hash
    assert torrent.info_hash in str(file_dup.value) and "already on this server" in str(
        file_dup.value
    )
    assert_names_server(file_dup.value)
    # The same torrent as a magnet (base32 this time) is a duplicate too.
    b32 = base64.b32encode(bytes.fromhex(torrent.info_hash)).decode()
    with pytest.raises(DuplicateTorrent) as magnet_dup:
        transmission_client.add_magnet(parse_magnet(f"magnet:?xt=urn:btih:{b32}"))
    assert magnet_dup.value.info_hash == torrent.info_hash
    assert_names_server(magnet_dup.value)
    # A magnet first, then the same magnet again.
    magnet_hash = random_info_hash()
    transmission_client.add_magnet(parse_magnet(magnet_for(magnet_hash)), start=False)
    with pytest.raises(DuplicateTorrent) as again:
        transmission_client.add_magnet(parse_magnet(magnet_for(magnet_hash)))
    assert again.value.info_hash == magnet_hash
    assert len(transmission_client.list_torrents()) == 2


# -- erasing ----------------------------------------------------------------------------------


def test_erase_without_data_keeps_the_file(
    transmission_client: TransmissionClient, transmission_daemon: TransmissionDaemon
) -> None:
    torrent = make_torrent("kept data")
    data_file = transmission_daemon.download_dir / "kept data"
    data_file.write_bytes(b"x" * torrent.size)
    transmission_client.add_torrent(torrent.meta, start=False)
    settled(transmission_client, torrent.info_hash, "stopped")
    assert transmission_client.erase([torrent.info_hash]) == {}
    assert transmission_client.list_torrents() == []
    assert data_file.read_bytes() == b"x" * torrent.size


def test_erase_with_data_deletes_the_file(
    transmission_client: TransmissionClient, transmission_daemon: TransmissionDaemon
) -> None:
    torrent = make_torrent("doomed data")
    data_file = transmission_daemon.download_dir / "doomed data"
    data_file.write_bytes(b"x" * torrent.size)
    transmission_client.add_torrent(torrent.meta, start=False)
    settled(transmission_client, torrent.info_hash, "stopped")
    assert transmission_client.erase([torrent.info_hash], delete_data=True) == {}
    assert transmission_client.list_torrents() == []
    wait_until(lambda: not data_file.exists(), timeout=5, message="data file deleted")


# -- files and real data ----------------------------------------------------------------------


def test_files_of_a_multi_file_torrent(
    transmission_client: TransmissionClient,
    transmission_daemon: TransmissionDaemon,
    raw: transmission_rpc.Client,
) -> None:
    files = [
        ("a/one.bin", 2 * PIECE_LENGTH, True),  # on disk with the right bytes
        ("b.txt", PIECE_LENGTH, False),
        ("c/d/e.dat", PIECE_LENGTH, False),
        ("f.nfo", PIECE_LENGTH, False),
    ]
    data, info_hash = make_real_torrent(transmission_daemon.download_dir, "multi", files)
    transmission_client.add_torrent(parse_torrent_file(data), start=False)
    raw.change_torrent(info_hash, priority_high=[0], priority_low=[1], files_unwanted=[2])
    wait_until(
        lambda: transmission_client.get_torrent(info_hash).downloaded == 2 * PIECE_LENGTH,
        message="verified data found",
    )
    info = settled(transmission_client, info_hash, "stopped")
    assert info.files is None
    info = transmission_client.get_torrent(info_hash, files=True)
    assert info.files == [
        TorrentFile(0, "a/one.bin", 2 * PIECE_LENGTH, 1.0, True, "high"),
        TorrentFile(1, "b.txt", PIECE_LENGTH, 0.0, True, "low"),
        TorrentFile(2, "c/d/e.dat", PIECE_LENGTH, 0.0, False, "normal"),
        TorrentFile(3, "f.nfo", PIECE_LENGTH, 0.0, True, "normal"),
    ]
    # Size is what is wanted (the skipped file left out); progress is over that.
    assert info.size == 4 * PIECE_LENGTH
    assert info.downloaded == 2 * PIECE_LENGTH
    assert info.progress == pytest.approx(0.5)
    [listed] = transmission_client.list_torrents(files=True)
    assert listed.files == info.files


def test_complete_data_is_seeding(
    transmission_client: TransmissionClient, transmission_daemon: TransmissionDaemon
) -> None:
    _, info = seeding(transmission_client, transmission_daemon, "complete")
    assert info.progress == 1.0
    assert info.size == info.downloaded == PIECE_LENGTH + 7
    assert info.eta is None
    assert info.ratio == 0.0
    assert info.files is None


def test_download_queue_is_queued(
    transmission_client: TransmissionClient, raw: transmission_rpc.Client
) -> None:
    first, second = make_torrent("first in queue"), make_torrent("second in queue")
    raw.set_session(download_queue_enabled=True, download_queue_size=1)
    try:
        transmission_client.add_torrent(first.meta, start=True)
        settled(transmission_client, first.info_hash, "downloading")
        transmission_client.add_torrent(second.meta, start=True)
        assert settled(transmission_client, second.info_hash, "queued").progress == 0.0
        assert transmission_client.get_torrent(first.info_hash).state == "downloading"
    finally:
        raw.set_session(download_queue_enabled=False)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (0, "stopped"),
        (1, "queued"),
        (2, "checking"),
        (3, "queued"),
        (4, "downloading"),
        (5, "queued"),
        (6, "seeding"),
    ],
)
def test_status_codes_map_to_states(status: int, state: str) -> None:
    row = {
        "hashString": "AB" * 20,
        "name": "n",
        "status": status,
        "percentDone": 0.25,
        "sizeWhenDone": 100,
        "haveValid": 25,
        "uploadedEver": 50,
        "rateDownload": 3,
        "rateUpload": 4,
        "uploadRatio": 2.0,
        "eta": 60,
        "peersConnected": 5,
        "peersSendingToUs": 2,
        "addedDate": 1_700_000_000,
        "downloadDir": "/d",
        "error": 3,
        "errorString": "No data found!",
        "metadataPercentComplete": 1,
        "id": 7,
        "queuePosition": 3,
    }  # no "labels": daemons before RPC 16 do not send it
    assert set(row) == set(LIST_FIELDS) - {"labels"}
    info = _torrent_info(row, files=False)
    assert info.state == state
    assert info.info_hash == "ab" * 20
    assert info.labels == []
    assert (info.error, info.warning) == ("No data found!", None)
    assert info.ratio == 2.0
    assert info.eta == (60 if state == "downloading" else None)


def test_unknown_sentinels_become_neutral_values() -> None:
    row = dict.fromkeys(LIST_FIELDS, 0) | {
        "hashString": "cd" * 20,
        "name": "n",
        "downloadDir": "/d",
        "status": 4,
        "uploadRatio": -2,
        "eta": -2,
        "labels": [],
        "errorString": "",
        "error": 3,
        "metadataPercentComplete": 1,
    }
    info = _torrent_info(row, files=False)
    assert (info.ratio, info.eta, info.labels) == (0.0, None, [])
    assert (info.error, info.warning) == ("error code 3", None)  # no text still shows


@pytest.mark.parametrize(
    ("code", "text", "error", "warning"),
    [
        (0, "", None, None),
        (1, "Tracker gave a warning: slow down", None, "Tracker gave a warning: slow down"),
        (2, "torrent not registered", None, "torrent not registered"),
        (1, "", None, "tracker warning"),
        (2, "", None, "tracker error"),
        (3, "No data found!", "No data found!", None),
        (9, "", "error code 9", None),
    ],
)
def test_tracker_problems_are_warnings_local_ones_errors(code, text, error, warning) -> None:
    row = dict.fromkeys(LIST_FIELDS, 0) | {
        "hashString": "ef" * 20,
        "name": "n",
        "downloadDir": "/d",
        "status": 4,
        "labels": [],
        "errorString": text,
        "error": code,
        "metadataPercentComplete": 1,
    }
    info = _torrent_info(row, files=False)
    assert (info.error, info.warning, info.state) == (error, warning, "downloading")
    [(_, from_table)], _ = transmission_module._table_infos(
        [list(LIST_FIELDS), list(row.values())]
    )
    assert from_table == info


@pytest.mark.parametrize(
    ("status", "metadata", "state", "size"),
    [
        (4, 0.0, "metadata", None),
        (4, 0.5, "metadata", None),
        (0, 0.0, "stopped", None),  # a stopped magnet is not fetching anything
        (3, 0.0, "queued", None),
        (4, 1, "downloading", 100),
    ],
)
def test_missing_metadata(status, metadata, state, size) -> None:
    row = dict.fromkeys(LIST_FIELDS, 0) | {
        "hashString": "12" * 20,
        "name": "magnet dn",
        "downloadDir": "/d",
        "status": status,
        "labels": [],
        "errorString": "",
        "sizeWhenDone": 100 if metadata == 1 else 0,
        "metadataPercentComplete": metadata,
    }
    info = _torrent_info(row, files=False)
    assert (info.state, info.size, info.name) == (state, size, "magnet dn")


# -- not found --------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["get_torrent", "list_torrents"])
def test_unknown_hash_is_not_found(transmission_client: TransmissionClient, action: str) -> None:
    present = make_torrent("present")
    transmission_client.add_torrent(present.meta, start=False)
    missing = random_info_hash()
    method = getattr(transmission_client, action)
    with pytest.raises(TorrentNotFound) as info:
        method(missing) if action != "list_torrents" else method(info_hash=missing)
    assert_names_server(info.value)
    assert missing in str(info.value)
    with pytest.raises(TorrentNotFound, match="40 hex characters"):
        method("not-a-hash") if action != "list_torrents" else method(info_hash="zz")
    # Nothing else was touched.
    assert [t.info_hash for t in transmission_client.list_torrents()] == [present.info_hash]


@pytest.mark.parametrize("verb", ["start", "stop", "recheck", "reannounce", "erase"])
def test_verbs_report_each_unknown_hash_and_act_on_the_rest(
    transmission_client: TransmissionClient, verb: str
) -> None:
    present, other = make_torrent("present"), make_torrent("other")
    for torrent in (present, other):
        transmission_client.add_torrent(torrent.meta, start=False)
    missing = random_info_hash()

    failures = getattr(transmission_client, verb)([missing, present.info_hash, "not-a-hash"])

    assert failures.keys() == {missing, "not-a-hash"}
    assert isinstance(failures[missing], TorrentNotFound)
    assert_names_server(failures[missing])
    assert str(failures[missing]).endswith(f"no torrent with info hash {missing} on this server")
    assert "40 hex characters" in str(failures["not-a-hash"])
    hashes = {t.info_hash for t in transmission_client.list_torrents()}
    kept = {other.info_hash} if verb == "erase" else {present.info_hash, other.info_hash}
    assert hashes == kept


# -- faults -----------------------------------------------------------------------------------


def test_wrong_password_is_an_auth_error(transmission_daemon: TransmissionDaemon) -> None:
    d = transmission_daemon
    for creds in ({"username": d.username, "password": "wrong"}, {}):
        client = client_for(d.port, **creds)
        with pytest.raises(AuthError) as info:
            client.list_torrents()
        assert_names_server(info.value)
        assert "wrong username or password — check the server's credentials" in str(info.value)
        assert client.check_connection() is False


def test_closed_port_is_a_connect_error() -> None:
    with closed_port() as port:
        client = client_for(port, timeout=1)
        with pytest.raises(ConnectError) as info:
            client.list_torrents()
    assert_names_server(info.value)
    assert f"http://127.0.0.1:{port}" in str(info.value)
    assert "Connection refused" in str(info.value)


def test_black_hole_times_out_within_the_timeout() -> None:
    with black_hole() as port:
        client = client_for(port, timeout=1)
        for call in (client.list_torrents, client.version):
            started = time.monotonic()
            with pytest.raises(TimeoutError) as info:
                call()
            elapsed = time.monotonic() - started
            assert 0.9 <= elapsed < 2.5
            assert_names_server(info.value)
            assert "no answer within 1 s" in str(info.value)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (b"\x00\x01 garbage\r\n\r\n", "not answer with valid HTTP"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n<html>hi</>", "not Transmission RPC JSON"),
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", "not Transmission RPC JSON"),
        (b'HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{"result":"success"}', "unexpected reply"),
        (b'HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{"result":42}', "Transmission"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 90\r\n\r\n{", "not answer with valid HTTP"),
    ],
    ids=["not-http", "html", "http-500", "no-arguments", "odd-result", "cut-off"],
)
def test_garbage_reply_is_a_protocol_error(
    reply: bytes, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with garbage_reply(reply) as port, pytest.raises(ProtocolError) as info:
        client_for(port, timeout=2).list_torrents()
    assert_names_server(info.value)
    assert expected in str(info.value)
    # transmission-rpc logs a non-JSON reply with logger.exception; we handle it, so no
    # ERROR record may reach the application's logs (NiceGUI's test fixture fails on them).
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_forbidden_is_an_auth_error_naming_the_whitelist() -> None:
    body = b"<h1>403: Forbidden</h1><p>Unauthorized IP Address.</p>"
    head = f"HTTP/1.1 403 Forbidden\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    with garbage_reply(head + body) as port, pytest.raises(AuthError) as info:
        client_for(port, timeout=2).version()
    assert_names_server(info.value)
    assert "HTTP 403" in str(info.value)
    assert "Unauthorized IP Address" not in str(info.value)  # never the server's body
    assert "rpc-whitelist" in str(info.value)


def test_daemon_restart_recovers(
    transmission_client: TransmissionClient, transmission_daemon: TransmissionDaemon
) -> None:
    torrent = make_torrent("survivor")
    transmission_client.add_torrent(torrent.meta, start=False)
    assert transmission_client.version().startswith("Transmission")  # a live connection
    transmission_daemon.process.terminate()
    transmission_daemon.process.wait(10)
    with pytest.raises(ConnectError) as down:
        transmission_client.list_torrents()
    assert_names_server(down.value)
    transmission_daemon.restart()
    # The daemon answers RPC a moment before it has loaded its torrents back.
    [info] = wait_until(transmission_client.list_torrents, message="torrents reloaded")
    assert (info.info_hash, info.name) == (torrent.info_hash, "survivor")
    assert transmission_client.check_connection() is True


def test_list_active_reports_changes_and_removals_after_a_full_listing(
    transmission_client: TransmissionClient,
) -> None:
    assert transmission_client.list_active() is None  # no id -> hash map yet
    kept, dropped = make_torrent("delta-kept.bin"), make_torrent("delta-dropped.bin")
    transmission_client.add_torrent(kept.meta, start=False)
    transmission_client.add_torrent(dropped.meta, start=False)
    assert {t.info_hash for t in transmission_client.list_torrents()} == {
        kept.info_hash,
        dropped.info_hash,
    }
    assert transmission_client.erase([dropped.info_hash]) == {}
    changed, removed = transmission_client.list_active()
    assert removed == [dropped.info_hash]
    assert dropped.info_hash not in {t.info_hash for t in changed}
    assert all(isinstance(t, TorrentInfo) and len(t.info_hash) == 40 for t in changed)
    # Reported once: the next delta no longer carries it.
    assert transmission_client.list_active()[1] == []


# -- the table-format listing -----------------------------------------------------------------
#
# A full listing without files and list_active() ask for torrent-get's "format": "table" (RPC
# 16+) through the library's HTTP session, uncompressed, and parse it with orjson; anything
# else, and older daemons, go through the library's get_torrents.


def _library_listing(raw: transmission_rpc.Client) -> list[TorrentInfo]:
    """What the library's path makes of the daemon's torrents right now (with the trackers,
    which the client asks once per torrent)."""
    rows = raw.get_torrents(arguments=[*LIST_FIELDS, "trackers"])
    return sorted((_with_tracker(t.fields) for t in rows), key=_by_hash)


def _with_tracker(fields: dict) -> TorrentInfo:
    info = _torrent_info(fields, False)
    info.tracker = _first_tracker_host(fields.get("trackers"))
    return info


def _by_hash(info: TorrentInfo) -> str:
    return info.info_hash


def test_table_listing_maps_every_field_like_the_library(
    transmission_client: TransmissionClient,
    transmission_daemon: TransmissionDaemon,
    raw: transmission_rpc.Client,
    mocker,
) -> None:
    table_infos = mocker.spy(transmission_module, "_table_infos")
    stopped = make_torrent("Ünïcødé 日本語 😀 stopped")  # 3.00 escapes all of it in its JSON
    running = make_torrent('q"uo\\ted running')
    labelled = make_torrent("labelled")
    transmission_client.add_torrent(stopped.meta, start=False)
    transmission_client.add_torrent(running.meta, start=True)
    transmission_client.add_torrent(labelled.meta, start=False)
    raw.change_torrent(labelled.info_hash, labels=["tv", "hd"])
    magnet_hash = random_info_hash()
    transmission_client.add_magnet(
        parse_magnet(magnet_for(magnet_hash, "magnet-only")), start=False
    )
    partial_files = [("a.bin", 2 * PIECE_LENGTH, True), ("b.bin", PIECE_LENGTH, False)]
    data, partial_hash = make_real_torrent(
        transmission_daemon.download_dir, "partial", partial_files
    )
    transmission_client.add_torrent(parse_torrent_file(data), start=False)
    data, complete_hash = make_real_torrent(
        transmission_daemon.download_dir, "complete", [("c.bin", PIECE_LENGTH + 7, True)]
    )
    transmission_client.add_torrent(parse_torrent_file(data), start=True)
    reply = bencodepy.encode({b"failure reason": b"torrent not registered"})
    with http_files({"/announce": (200, reply)}) as base:
        rejected = make_torrent("rejected", tracker=f"{base}/announce")
        transmission_client.add_torrent(rejected.meta, start=True)
        wait_until(
            lambda: transmission_client.get_torrent(rejected.info_hash).warning,
            timeout=15,
            message="tracker error reported",
        )
    settled(transmission_client, complete_hash, "seeding")

    # States move on (hash checks): compare until both paths see the same moment.
    listed = wait_until(
        lambda: (
            table
            if (table := sorted(transmission_client.list_torrents(), key=_by_hash))
            == _library_listing(raw)
            else None
        ),
        message="the table listing equals the library's",
    )
    assert table_infos.call_count >= 1 and transmission_client._table is True
    by_hash = {t.info_hash: t for t in listed}
    assert len(by_hash) == 7
    assert by_hash[stopped.info_hash].name == "Ünïcødé 日本語 😀 stopped".replace(
        "😀", "\u1f60" + "0"
    )  # Transmission 3.00 writes astral characters as a broken 4-digit escape; both paths agree
    assert by_hash[running.info_hash].name == 'q"uo\\ted running'
    assert by_hash[running.info_hash].state == "downloading"
    assert by_hash[labelled.info_hash].labels == ["tv", "hd"]
    assert by_hash[magnet_hash].name == "magnet-only" and by_hash[magnet_hash].size is None
    assert by_hash[partial_hash].downloaded == 2 * PIECE_LENGTH
    assert by_hash[partial_hash].progress == pytest.approx(2 / 3, abs=1e-3)  # 4 decimals
    assert by_hash[complete_hash].state == "seeding" and by_hash[complete_hash].progress == 1.0
    assert "torrent not registered" in (by_hash[rejected.info_hash].warning or "")
    assert by_hash[rejected.info_hash].error is None
    assert all(isinstance(t.added_at, int) and t.added_at > 0 for t in listed)

    # The recently-active delta goes through the table too, with the same mapping.
    def same_delta() -> list[TorrentInfo] | None:
        changed, removed = transmission_client.list_active()
        active, _ = raw.get_recently_active_torrents(arguments=[*LIST_FIELDS, "trackers"])
        library = sorted((_with_tracker(t.fields) for t in active), key=_by_hash)
        changed = sorted(changed, key=_by_hash)
        return changed if changed and not removed and changed == library else None

    calls = table_infos.call_count
    wait_until(same_delta, message="the table delta equals the library's")
    assert table_infos.call_count > calls


def test_table_and_library_paths_agree_on_every_row_shape() -> None:
    """_table_infos builds TorrentInfo positionally from columns found by name: every field,
    sentinel and state must come out as _torrent_info makes it from the object format."""
    rows = []
    for i, status in enumerate([0, 1, 2, 3, 4, 5, 6, 4, 4, 99]):
        rows.append(
            {
                "id": i + 1,
                "hashString": f"{i:02d}" + "AbCdEf0123" * 3 + "45678901",
                "name": f"torrent {i} ✓",
                "status": status,
                "percentDone": [0, 0.5, 1][i % 3],
                "sizeWhenDone": 1000 + i,
                "haveValid": 10 + i,
                "uploadedEver": 20 + i,
                "rateDownload": 30 + i,
                "rateUpload": 40 + i,
                "uploadRatio": [-1, -2, 0, 1.5, 3][i % 5],
                "eta": [-1, -2, 0, 3600][i % 4],
                "peersConnected": 50 + i,
                "peersSendingToUs": 60 + i,
                "addedDate": 1_700_000_000 + i,
                "downloadDir": f"/data/{i}",
                "labels": [[], ["tv"], ["tv", "hd"]][i % 3],
                "error": [0, 1, 2, 3][i % 4],
                "errorString": ["", "Tracker gave an error", "", "No data found!"][i % 4],
                "metadataPercentComplete": 0.5 if i == 8 else 1,
                "queuePosition": i,
            }
        )
    expected = [_torrent_info(row, files=False) for row in rows]
    assert {t.state for t in expected} == STATES
    for header in (list(LIST_FIELDS), [*reversed(LIST_FIELDS), "extraField"]):
        table = [header] + [[row.get(name, 0) for name in header] for row in rows]
        pairs, dropped = transmission_module._table_infos(table)
        infos, ids = [info for _, info in pairs], [i for i, _ in pairs]
        assert (infos, dropped) == (expected, 0)
        assert ids == [row["id"] for row in rows]
        assert [type(getattr(a, f)) for a in infos for f in a.__slots__] == [
            type(getattr(b, f)) for b in expected for f in b.__slots__
        ]
    assert transmission_module._table_infos([]) == ([], 0)
    assert transmission_module._table_infos([list(LIST_FIELDS)]) == ([], 0)


def test_old_daemons_get_the_library_path(
    transmission_client: TransmissionClient, raw: transmission_rpc.Client, mocker
) -> None:
    torrent = make_torrent("old daemon")
    transmission_client.add_torrent(torrent.meta, start=False)
    settled(transmission_client, torrent.info_hash, "stopped")
    # This daemon (RPC 16) as if it were older than the table format.
    mocker.patch.object(transmission_module, "TABLE_RPC_VERSION", 17)
    transmission_client.close()  # a fresh library client: the version is asked again
    expected = _library_listing(raw)
    table_infos = mocker.spy(transmission_module, "_table_infos")
    get_torrents = mocker.spy(transmission_rpc.Client, "get_torrents")
    recent = mocker.spy(transmission_rpc.Client, "get_recently_active_torrents")
    assert transmission_client.list_torrents() == expected
    assert transmission_client.list_active() is not None
    assert transmission_client._table is False
    assert table_infos.call_count == 0
    assert get_torrents.call_count == 1 and recent.call_count == 1


def test_library_internals_missing_means_the_library_path(
    transmission_client: TransmissionClient, raw: transmission_rpc.Client, mocker
) -> None:
    class Changed:
        def _http_query(self, body: dict) -> str:  # another signature
            return ""

        _http_session = None

    assert transmission_module._raw_query(Changed()) is None  # type: ignore[arg-type]
    assert transmission_module._raw_query(object()) is None  # type: ignore[arg-type]
    transmission_client.add_torrent(make_torrent("no internals").meta, start=False)
    transmission_client.close()
    mocker.patch.object(transmission_module, "_raw_query", return_value=None)
    table_infos = mocker.spy(transmission_module, "_table_infos")
    assert [t.name for t in transmission_client.list_torrents()] == ["no internals"]
    assert transmission_client.list_active() is not None
    assert table_infos.call_count == 0


def test_table_path_survives_a_restart_between_listings(
    transmission_client: TransmissionClient, transmission_daemon: TransmissionDaemon
) -> None:
    torrent = make_torrent("restarted quietly")
    transmission_client.add_torrent(torrent.meta, start=False)
    assert [t.name for t in transmission_client.list_torrents()] == ["restarted quietly"]
    # Stopped and started between two polls: the pooled connection is stale and the session
    # id is new (409), so the next listing reconnects and renegotiates.
    transmission_daemon.restart()

    def listed() -> list[TorrentInfo] | None:
        try:
            return transmission_client.list_torrents()
        except ConnectError:  # at most one: the stale pooled connection
            return None

    [info] = wait_until(listed, message="torrents reloaded")
    assert info.info_hash == torrent.info_hash
    assert transmission_client._table is True


# A Transmission RPC endpoint on loopback that serves canned torrents and records every call.


def _fake_torrent(i: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": i,
        "hashString": f"{i:040x}",
        "name": f"fake {i}",
        "status": 4,
        "percentDone": 0.5,
        "sizeWhenDone": 1000,
        "haveValid": 500,
        "uploadedEver": 0,
        "rateDownload": 100,
        "rateUpload": 0,
        "uploadRatio": -1,
        "eta": 5,
        "peersConnected": 1,
        "peersSendingToUs": 1,
        "addedDate": 1_700_000_000,
        "downloadDir": "/d",
        "labels": ["l"],
        "error": 0,
        "errorString": "",
        "metadataPercentComplete": 1,
        "trackers": [
            {"announce": "http://backup.example:80/a", "tier": 1, "id": 1},
            {"announce": "udp://tracker.example:6969/announce", "tier": 0, "id": 0},
        ],
        "queuePosition": i,
    } | fields


class FakeTransmission:
    def __init__(self, rpc_version: int = 17, honour_format: bool | None = None) -> None:
        self.rpc_version = rpc_version
        self.honour_format = rpc_version >= 16 if honour_format is None else honour_format
        self.torrents = [_fake_torrent(1), _fake_torrent(2, status=0, labels=[], error=2)]
        self.removed: list[int] = []
        self.session_id = "session-1"
        self.conflicts = 0  # 409 replies sent
        self.calls: list[tuple[dict[str, str], dict[str, Any]]] = []  # (headers, request)
        self.torrent_get_reply: bytes | None = None  # a raw HTTP reply to send instead
        self.hang = 0.0  # seconds to wait before answering torrent-get

    def torrent_gets(self) -> list[tuple[dict[str, str], dict[str, Any]]]:
        """The listings asked for (not the once-per-torrent tracker lookups)."""
        return [
            (h, r)
            for h, r in self.calls
            if r["method"] == "torrent-get" and not self._tracker_lookup(r)
        ]

    def tracker_lookups(self) -> list[dict[str, Any]]:
        gets = [r for _, r in self.calls if r["method"] == "torrent-get"]
        return [r for r in gets if self._tracker_lookup(r)]

    @staticmethod
    def _tracker_lookup(request: dict[str, Any]) -> bool:
        fields = set(request["arguments"].get("fields", []))
        return "trackers" in fields and fields <= {"id", "hashString", "trackers"}

    def expected(self) -> list[TorrentInfo]:
        return [_with_tracker(t) for t in self.torrents]

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        request = json.loads(handler.rfile.read(int(handler.headers["Content-Length"])))
        if handler.headers.get("X-Transmission-Session-Id") != self.session_id:
            self.conflicts += 1
            self.send(handler, 409, b"<h1>409: Conflict</h1>", "text/html")
            return
        self.calls.append(({k.lower(): v for k, v in handler.headers.items()}, request))
        arguments = request.get("arguments", {})
        if request["method"] == "session-get":
            reply = {"rpc-version": self.rpc_version, "version": "9.00 (fake)"}
        elif request["method"] == "torrent-get":
            time.sleep(self.hang)
            if self.torrent_get_reply is not None:
                handler.wfile.write(self.torrent_get_reply)
                handler.close_connection = True
                return
            fields = arguments["fields"]
            if arguments.get("format") == "table" and self.honour_format:
                torrents: list[Any] = [fields] + [[t[f] for f in fields] for t in self.torrents]
            else:
                torrents = [{f: t[f] for f in fields} for t in self.torrents]
            reply = {"torrents": torrents}
            if arguments.get("ids") == "recently-active":
                reply["removed"] = self.removed
        else:
            reply = {}
        body = json.dumps({"arguments": reply, "result": "success"}).encode()
        self.send(handler, 200, body, "application/json; charset=UTF-8")

    def send(self, handler: BaseHTTPRequestHandler, status: int, body: bytes, kind: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("X-Transmission-Session-Id", self.session_id)
        handler.end_headers()
        handler.wfile.write(body)


@pytest.fixture
def fake() -> Iterator[FakeTransmission]:
    state = FakeTransmission()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the daemon does

        def do_POST(self) -> None:
            state.answer(self)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.port = server.server_address[1]  # type: ignore[attr-defined]
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def fake_client(fake: FakeTransmission, timeout: float = 2) -> TransmissionClient:
    return client_for(fake.port, timeout=timeout)  # type: ignore[attr-defined]


def test_table_request_is_uncompressed_and_tabular(fake: FakeTransmission) -> None:
    client = fake_client(fake)
    assert client.list_torrents() == fake.expected()
    fake.removed = [2]
    changed, removed = client.list_active()
    assert changed == fake.expected() and removed == [f"{2:040x}"]
    [(full_headers, full), (delta_headers, delta)] = fake.torrent_gets()
    for headers, request in ((full_headers, full), (delta_headers, delta)):
        assert headers["accept-encoding"] == "identity"
        assert request["arguments"]["format"] == "table"
        assert sorted(request["arguments"]["fields"]) == sorted(LIST_FIELDS)
    assert "ids" not in full["arguments"]
    assert delta["arguments"]["ids"] == "recently-active"
    # Each torrent's trackers were asked once, on the first listing.
    assert [r["arguments"]["ids"] for r in fake.tracker_lookups()] == [[f"{1:040x}", f"{2:040x}"]]
    # The library's own calls go uncompressed too (same HTTP session).
    assert all(h["accept-encoding"] == "identity" for h, _ in fake.calls[1:])
    client.close()


@pytest.mark.parametrize(("rpc_version", "honour_format"), [(15, False), (16, False)])
def test_objects_instead_of_a_table_use_the_library_path(
    fake: FakeTransmission, rpc_version: int, honour_format: bool
) -> None:
    """RPC 15 is never asked for a table; an RPC 16 daemon that answers with objects anyway
    is answered through the library from then on."""
    fake.rpc_version, fake.honour_format = rpc_version, honour_format
    client = fake_client(fake)
    assert client.list_torrents() == fake.expected()
    assert client.list_torrents() == fake.expected()
    assert client.list_active() == (fake.expected(), [])
    formats = [r["arguments"].get("format") for _, r in fake.torrent_gets()]
    assert formats == ([None] * 3 if rpc_version < 16 else ["table", None, None, None])
    client.close()


def test_session_id_is_renegotiated_on_the_table_path(fake: FakeTransmission) -> None:
    client = fake_client(fake)
    assert client.list_torrents() == fake.expected()
    conflicts = fake.conflicts
    fake.session_id = "session-2"  # as after a daemon restart
    assert client.list_torrents() == fake.expected()
    assert fake.conflicts == conflicts + 1
    assert fake.torrent_gets()[-1][0]["x-transmission-session-id"] == "session-2"
    client.close()


def _http(status: str, body: bytes, length: int | None = None) -> bytes:
    """A raw reply; the fake closes the connection after it, and says so."""
    size = len(body) if length is None else length
    head = f"HTTP/1.1 {status}\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


def _table_reply(torrents: Any, **more: Any) -> bytes:
    arguments = {"torrents": torrents} | more
    return _http("200 OK", json.dumps({"arguments": arguments, "result": "success"}).encode())


_HEADER = list(LIST_FIELDS)
_ROW = [_fake_torrent(1)[f] for f in _HEADER]


def _row_with(**fields: Any) -> list[Any]:
    return [_fake_torrent(1, **fields)[f] for f in _HEADER]


@pytest.mark.parametrize(
    "row",
    [
        _ROW[:-3],
        [*_ROW, "extra"],
        dict(zip(_HEADER, _ROW, strict=True)),
        "x" * len(_HEADER),
        _row_with(hashString=None),
        _row_with(hashString="not-a-hash"),
        _row_with(uploadRatio=[]),
    ],
    ids=["short-row", "long-row", "dict-row", "string-row", "null-hash", "bad-hash", "list-ratio"],
)
def test_an_unreadable_table_row_is_left_out_and_counted(row) -> None:
    good = _fake_torrent(2, status=0, labels=[], error=2)
    pairs, dropped = transmission_module._table_infos([_HEADER, row, [good[f] for f in _HEADER]])
    assert [(i, t.info_hash) for i, t in pairs] == [(2, good["hashString"])]
    assert dropped == 1


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (_http("200 OK", b'{"arguments":{"torrents":[["id","hashS'), "not Transmission RPC JSON"),
        (_http("200 OK", b'{"arguments":{"torrents":[["id"', 500), "not answer with valid HTTP"),
        (_http("200 OK", b"<html>proxy error</html>"), "not Transmission RPC JSON"),
        (_table_reply(["id", "hashString"]), "unexpected"),
        (_table_reply({"id": 1}), "unexpected reply"),
        (_table_reply([[["id"]], _ROW]), "unexpected reply"),
        (_http("200 OK", b'{"arguments":{},"result":"success"}'), "unexpected reply"),
        (_http("200 OK", b'{"result":"no such method"}'), "Transmission refused the request"),
        (_http("200 OK", b'{"arguments":{"torrents":[]}}'), "unexpected reply"),
        (_http("200 OK", b"[1, 2]"), "not Transmission RPC JSON"),
        (_http("200 OK", b"42"), "not Transmission RPC JSON"),
    ],
    ids=[
        "cut-json",
        "cut-body",
        "html",
        "flat-table",
        "table-not-list",
        "odd-header",
        "no-torrents",
        "refused",
        "no-result",
        "json-list",
        "json-number",
    ],
)
def test_garbage_table_reply_is_a_protocol_error(
    fake: FakeTransmission, reply: bytes, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.torrent_get_reply = reply
    client = fake_client(fake)
    with pytest.raises(ProtocolError) as info:
        client.list_torrents()
    assert_names_server(info.value)
    assert expected in str(info.value)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    # Once the server answers properly again, the next listing works.
    fake.torrent_get_reply = None
    assert client.list_torrents() == fake.expected()
    client.close()


@pytest.mark.parametrize(
    "removed",
    [[1, "two"], "1,2", None, [[1]]],
    ids=["string-id", "string", "null", "nested"],
)
def test_garbage_removed_ids_are_a_protocol_error(fake: FakeTransmission, removed: Any) -> None:
    client = fake_client(fake)
    client.list_torrents()
    fake.removed = removed
    with pytest.raises(ProtocolError) as info:
        client.list_active()
    assert_names_server(info.value)
    assert "unexpected reply" in str(info.value)
    client.close()


@pytest.mark.parametrize(
    ("reply", "error", "expected"),
    [
        (_http("401 Unauthorized", b""), AuthError, "wrong username or password"),
        (_http("403 Forbidden", b"Unauthorized IP Address."), AuthError, "rpc-whitelist"),
        (b"", ConnectError, "cannot connect to"),  # closed without a reply
    ],
    ids=["401", "403", "closed"],
)
def test_table_request_failures_map_like_any_call(
    fake: FakeTransmission, reply: bytes, error: type[ClientError], expected: str
) -> None:
    client = fake_client(fake)
    client.version()  # connected, with a session id
    fake.torrent_get_reply = reply
    with pytest.raises(ClientError) as info:
        client.list_torrents()
    assert_names_server(info.value)
    assert isinstance(info.value, error)
    assert expected in str(info.value)
    client.close()


def test_table_request_times_out_within_the_timeout(fake: FakeTransmission) -> None:
    client = fake_client(fake, timeout=1)
    client.version()
    fake.hang = 3
    started = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        client.list_torrents()
    assert 0.9 <= time.monotonic() - started < 2.5
    assert_names_server(info.value)
    assert "no answer within 1 s" in str(info.value)
    client.close()


def test_list_active_wants_a_full_list_after_an_unseen_restart(
    transmission_client: TransmissionClient, transmission_daemon: TransmissionDaemon
) -> None:
    first, second = make_torrent("renumbered-a.bin"), make_torrent("renumbered-b.bin")
    transmission_client.add_torrent(first.meta, start=False)
    transmission_client.add_torrent(second.meta, start=False)
    transmission_client.list_torrents()
    # Pretend the daemon renumbered its torrents between two polls without our client
    # noticing: swap the ids we know.
    known = transmission_client._hash_by_id
    (id_a, hash_a), (id_b, hash_b) = known.items()
    known.update({id_a: hash_b, id_b: hash_a})
    transmission_client.start([first.info_hash])  # makes it "recently active"
    assert transmission_client.list_active() is None
    assert transmission_client.list_active() is None  # until a full listing maps ids again
    transmission_client.list_torrents()
    assert transmission_client.list_active() is not None


def test_default_download_dir_is_the_sessions(
    transmission_client: TransmissionClient, transmission_daemon: TransmissionDaemon
) -> None:
    assert transmission_client.default_download_dir() == str(transmission_daemon.download_dir)


def test_the_first_tracker_is_the_lowest_tier_listed_first() -> None:
    assert _first_tracker_host([]) is None
    assert _first_tracker_host("junk") is None
    assert _first_tracker_host([{"announce": "http://t.example:80/a", "tier": 0}]) == "t.example"
    trackers = [{"announce": "x", "tier": 1}, {"announce": "udp://u.example/", "tier": 0}]
    assert _first_tracker_host(trackers) == "u.example"


def test_trackers_are_asked_once_per_torrent(
    transmission_client: TransmissionClient, mocker
) -> None:
    torrent = make_torrent("tracked")
    transmission_client.add_torrent(torrent.meta, start=False)
    asked = mocker.spy(transmission_client, "_first_tracker_hosts")
    for _ in range(3):
        (listed,) = transmission_client.list_torrents()
        assert listed.tracker == "127.0.0.1"
    assert [call.args[0] for call in asked.call_args_list] == [[torrent.info_hash]]
