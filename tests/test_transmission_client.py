"""TransmissionClient against a real transmission-daemon 3.00 (RPC auth on), and fakes."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterator

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
from torrentdesk.clients.base import ServerConnection
from torrentdesk.clients.transmission import LIST_FIELDS, _torrent_info
from torrentdesk.torrent_input import InvalidTorrentInput

pytestmark = pytest.mark.daemon

NAME = "test-transmission"  # the client's server name, expected in every error message
STATES = {"downloading", "seeding", "stopped", "checking", "queued"}


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
    assert transmission_client.add_torrent(started.data, start=True) == AddedTorrent(
        started.info_hash, "started one"
    )
    assert transmission_client.add_torrent(paused.data, start=False) == AddedTorrent(
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
    transmission_client.add_torrent(torrent.data, start=False)
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
    assert info.label is None
    assert info.error is None
    assert info.files is None


def test_label_is_the_first_label(
    transmission_client: TransmissionClient, raw: transmission_rpc.Client
) -> None:
    torrent = make_torrent("labelled")
    transmission_client.add_torrent(torrent.data, start=False)
    raw.change_torrent(torrent.info_hash, labels=["tv", "hd"])
    assert transmission_client.get_torrent(torrent.info_hash).label == "tv"


def test_tracker_error_is_reported(transmission_client: TransmissionClient) -> None:
    reply = bencodepy.encode({b"failure reason": b"torrent not registered"})
    with http_files({"/announce": (200, reply)}) as base:
        torrent = make_torrent("rejected", tracker=f"{base}/announce")
        transmission_client.add_torrent(torrent.data, start=True)
        info = wait_until(
            lambda: transmission_client.get_torrent(torrent.info_hash).error,
            timeout=15,
            message="tracker error reported",
        )
    assert "torrent not registered" in info


def test_get_one_by_hash(transmission_client: TransmissionClient) -> None:
    wanted, other = make_torrent("wanted"), make_torrent("other")
    transmission_client.add_torrent(wanted.data, start=False)
    transmission_client.add_torrent(other.data, start=False)
    [only] = transmission_client.list_torrents(info_hash=wanted.info_hash)
    assert (only.info_hash, only.name) == (wanted.info_hash, "wanted")
    # Upper case and surrounding spaces are accepted; the result is normalized.
    got = transmission_client.get_torrent(f" {wanted.info_hash.upper()} ")
    assert got.info_hash == wanted.info_hash


def test_start_and_stop(transmission_client: TransmissionClient) -> None:
    torrent = make_torrent("toggled")
    transmission_client.add_torrent(torrent.data, start=False)
    settled(transmission_client, torrent.info_hash, "stopped")
    transmission_client.start(torrent.info_hash)
    settled(transmission_client, torrent.info_hash, "downloading")
    transmission_client.stop(torrent.info_hash)
    assert settled(transmission_client, torrent.info_hash, "stopped").state == "stopped"


def test_add_magnet_hex_and_base32(transmission_client: TransmissionClient) -> None:
    hex_hash, b32_hash = random_info_hash(), random_info_hash()
    b32 = base64.b32encode(bytes.fromhex(b32_hash)).decode()
    added = transmission_client.add_magnet(magnet_for(hex_hash.upper(), "hexname"), start=False)
    assert added == AddedTorrent(hex_hash, "hexname")
    added = transmission_client.add_magnet(f"magnet:?xt=urn:btih:{b32}&dn=b32name", start=True)
    assert added == AddedTorrent(b32_hash, "b32name")
    by_hash = {t.info_hash: t for t in transmission_client.list_torrents()}
    assert set(by_hash) == {hex_hash, b32_hash}
    assert by_hash[hex_hash].state == "stopped"
    assert by_hash[b32_hash].state == "downloading"  # fetching metadata
    assert by_hash[b32_hash].size == 0 and by_hash[b32_hash].progress == 0.0


def test_add_torrent_url(transmission_client: TransmissionClient) -> None:
    torrent = make_torrent("from url")
    with http_files({"/file.torrent": (200, torrent.data)}) as base:
        added = transmission_client.add_torrent_url(f"{base}/file.torrent", start=False)
        assert added == AddedTorrent(torrent.info_hash, "from url")
        assert transmission_client.get_torrent(torrent.info_hash).name == "from url"
        with pytest.raises(DuplicateTorrent) as dup:
            transmission_client.add_torrent_url(f"{base}/file.torrent?again", start=False)
        assert dup.value.info_hash == torrent.info_hash
        assert "already on this server" in str(dup.value)
        assert_names_server(dup.value)
        with pytest.raises(ProtocolError) as missing:
            transmission_client.add_torrent_url(f"{base}/missing.torrent")
        assert_names_server(missing.value)
        assert "404" in str(missing.value)
    assert len(transmission_client.list_torrents()) == 1


def test_duplicates_are_refused(transmission_client: TransmissionClient) -> None:
    torrent = make_torrent("twice")
    transmission_client.add_torrent(torrent.data, start=False)
    with pytest.raises(DuplicateTorrent) as file_dup:
        transmission_client.add_torrent(torrent.data)
    assert file_dup.value.info_hash == torrent.info_hash
    assert torrent.info_hash in str(file_dup.value) and "already on this server" in str(
        file_dup.value
    )
    assert_names_server(file_dup.value)
    # The same torrent as a magnet (base32 this time) is a duplicate too.
    b32 = base64.b32encode(bytes.fromhex(torrent.info_hash)).decode()
    with pytest.raises(DuplicateTorrent) as magnet_dup:
        transmission_client.add_magnet(f"magnet:?xt=urn:btih:{b32}")
    assert magnet_dup.value.info_hash == torrent.info_hash
    assert_names_server(magnet_dup.value)
    # A magnet first, then the same magnet again.
    magnet_hash = random_info_hash()
    transmission_client.add_magnet(magnet_for(magnet_hash), start=False)
    with pytest.raises(DuplicateTorrent) as again:
        transmission_client.add_magnet(magnet_for(magnet_hash))
    assert again.value.info_hash == magnet_hash
    assert len(transmission_client.list_torrents()) == 2


def test_invalid_input_is_rejected_before_any_call(
    transmission_client: TransmissionClient,
) -> None:
    with pytest.raises(InvalidTorrentInput, match="not valid bencode"):
        transmission_client.add_torrent(b"this is no torrent")
    with pytest.raises(InvalidTorrentInput, match="no 'xt=urn:btih:'"):
        transmission_client.add_magnet("magnet:?dn=nothing")
    with pytest.raises(InvalidTorrentInput, match="http"):
        transmission_client.add_torrent_url("ftp://127.0.0.1/x.torrent")
    assert transmission_client.list_torrents() == []


# -- erasing ----------------------------------------------------------------------------------


def test_erase_without_data_keeps_the_file(
    transmission_client: TransmissionClient, transmission_daemon: TransmissionDaemon
) -> None:
    torrent = make_torrent("kept data")
    data_file = transmission_daemon.download_dir / "kept data"
    data_file.write_bytes(b"x" * torrent.size)
    transmission_client.add_torrent(torrent.data, start=False)
    settled(transmission_client, torrent.info_hash, "stopped")
    transmission_client.erase(torrent.info_hash)
    assert transmission_client.list_torrents() == []
    assert data_file.read_bytes() == b"x" * torrent.size


def test_erase_with_data_deletes_the_file(
    transmission_client: TransmissionClient, transmission_daemon: TransmissionDaemon
) -> None:
    torrent = make_torrent("doomed data")
    data_file = transmission_daemon.download_dir / "doomed data"
    data_file.write_bytes(b"x" * torrent.size)
    transmission_client.add_torrent(torrent.data, start=False)
    settled(transmission_client, torrent.info_hash, "stopped")
    transmission_client.erase(torrent.info_hash, delete_data=True)
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
    transmission_client.add_torrent(data, start=False)
    raw.change_torrent(info_hash, priority_high=[0], priority_low=[1], files_unwanted=[2])
    wait_until(
        lambda: transmission_client.get_torrent(info_hash).downloaded == 2 * PIECE_LENGTH,
        message="verified data found",
    )
    info = settled(transmission_client, info_hash, "stopped")
    assert info.files is None
    info = transmission_client.get_torrent(info_hash, files=True)
    assert info.files == [
        TorrentFile("a/one.bin", 2 * PIECE_LENGTH, 1.0, "high"),
        TorrentFile("b.txt", PIECE_LENGTH, 0.0, "low"),
        TorrentFile("c/d/e.dat", PIECE_LENGTH, 0.0, "skip"),
        TorrentFile("f.nfo", PIECE_LENGTH, 0.0, "normal"),
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
    data, info_hash = make_real_torrent(
        transmission_daemon.download_dir, "complete", [("x.bin", PIECE_LENGTH + 7, True)]
    )
    transmission_client.add_torrent(data, start=True)
    info = settled(transmission_client, info_hash, "seeding")
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
        transmission_client.add_torrent(first.data, start=True)
        settled(transmission_client, first.info_hash, "downloading")
        transmission_client.add_torrent(second.data, start=True)
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
        "id": 7,
    }  # no "labels": daemons before RPC 16 do not send it
    assert set(row) == set(LIST_FIELDS) - {"labels"}
    info = _torrent_info(row, files=False)
    assert info.state == state
    assert info.info_hash == "ab" * 20
    assert info.label is None
    assert info.error == "No data found!"
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
        "error": 1,
    }
    info = _torrent_info(row, files=False)
    assert (info.ratio, info.eta, info.label) == (0.0, None, None)
    assert info.error == "error code 1"  # an error without text still shows


# -- not found --------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["start", "stop", "erase", "get_torrent", "list_torrents"])
def test_unknown_hash_is_not_found(transmission_client: TransmissionClient, action: str) -> None:
    present = make_torrent("present")
    transmission_client.add_torrent(present.data, start=False)
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
        (b"\x00\x01 garbage\r\n\r\n", "not valid HTTP"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n<html>hi</>", "not Transmission RPC JSON"),
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", "not Transmission RPC JSON"),
        (b'HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{"result":"success"}', "unexpected reply"),
        (b'HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{"result":42}', "Transmission"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 90\r\n\r\n{", "not valid HTTP"),
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
    assert "HTTP 403" in str(info.value) and "Unauthorized IP Address" in str(info.value)
    assert "rpc-whitelist" in str(info.value)


def test_daemon_restart_recovers(
    transmission_client: TransmissionClient, transmission_daemon: TransmissionDaemon
) -> None:
    torrent = make_torrent("survivor")
    transmission_client.add_torrent(torrent.data, start=False)
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
    transmission_client.add_torrent(kept.data, start=False)
    transmission_client.add_torrent(dropped.data, start=False)
    assert {t.info_hash for t in transmission_client.list_torrents()} == {
        kept.info_hash,
        dropped.info_hash,
    }
    transmission_client.erase(dropped.info_hash)
    changed, removed = transmission_client.list_active()
    assert removed == [dropped.info_hash]
    assert dropped.info_hash not in {t.info_hash for t in changed}
    assert all(isinstance(t, TorrentInfo) and len(t.info_hash) == 40 for t in changed)
    # Reported once: the next delta no longer carries it.
    assert transmission_client.list_active()[1] == []
