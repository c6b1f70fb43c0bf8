"""SPEC §10: labels and a download directory on add, applied before the torrent starts, on
Transmission and rTorrent (SCGI and behind nginx), read back from the daemons."""

from __future__ import annotations

import pytest

from tests.api_fixtures import rtorrent_http_fields, rtorrent_scgi_fields, transmission_fields
from tests.daemons.common import wait_until
from tests.torrent_factory import magnet_for, make_torrent, random_info_hash
from torrentdesk.clients.rtorrent import decode_labels

pytestmark = pytest.mark.daemon

LABELS = ["tv shows", "ünïcødé", "$HOME;x", "q'\"", "100%"]
TRACKER = "&tr=http%3A%2F%2F127.0.0.1%3A9%2Fannounce"


@pytest.fixture
def servers(api, transmission_clean, rtorrent_clean, rtorrent_http):
    headers = api.user("alice")
    return (
        headers,
        {
            "tr": api.add_server(headers, **transmission_fields(transmission_clean)),
            "rt": api.add_server(headers, **rtorrent_scgi_fields(rtorrent_clean)),
            "rt_http": api.add_server(headers, **rtorrent_http_fields(rtorrent_http)),
        },
        transmission_clean,
        rtorrent_clean,
    )


def upload(api, headers, server_id, torrent, **params):
    return api.client.post(
        "/torrents/upload",
        params={"server_id": server_id, **params},
        files={"file": ("x.torrent", torrent.data, "application/x-bittorrent")},
        headers=headers,
    )


def read_back(kind, transmission, rtorrent, info_hash):
    """(labels, directory, running) as the daemon itself has them."""
    if kind == "tr":
        status = transmission.field(info_hash, "status")
        return (
            transmission.field(info_hash, "labels"),
            transmission.field(info_hash, "downloadDir"),
            status != 0,
        )
    target = info_hash.upper()
    directory = rtorrent.rpc("d.directory", target)
    if rtorrent.rpc("d.is_multi_file", target):
        directory = directory.rsplit("/", 1)[0]
    return (
        decode_labels(rtorrent.rpc("d.custom1", target)),
        directory,
        rtorrent.rpc("d.state", target) == 1,
    )


@pytest.mark.parametrize("kind", ["tr", "rt", "rt_http"])
@pytest.mark.parametrize("start", [False, True], ids=["paused", "started"])
def test_upload_with_labels_and_a_directory(api, servers, tmp_path, kind, start):
    headers, by_kind, transmission, rtorrent = servers
    folder = tmp_path / f"in here; {kind} $x"
    folder.mkdir()
    torrent = make_torrent(f"td-opt-{kind}", files=[("a.bin", 100), ("b/c.bin", 50)])
    response = upload(
        api, headers, by_kind[kind]["id"], torrent,
        labels=LABELS, download_dir=str(folder), start=str(start).lower(),
    )
    assert response.status_code == 201, response.text
    assert response.json()["info_hash"] == torrent.info_hash
    labels, directory, _ = wait_until(
        lambda: (got := read_back(kind, transmission, rtorrent, torrent.info_hash))[2] == start
        and got,
        message="torrent in its start state",
    )
    assert (labels, directory) == (LABELS, str(folder))
    if kind != "tr":  # a load command that rTorrent could not run would fail the hash check
        assert rtorrent.rpc("d.hashing_failed", torrent.info_hash.upper()) == 0
    listed = api.client.get(
        f"/torrents/{torrent.info_hash}", params={"server_id": by_kind[kind]["id"]},
        headers=headers,
    ).json()
    assert (listed["labels"], listed["download_dir"]) == (LABELS, str(folder))


@pytest.mark.parametrize("kind", ["tr", "rt"])
def test_magnet_with_labels_and_a_directory(api, servers, tmp_path, kind):
    """rTorrent keeps only the load's own commands when a magnet's metadata arrives, so
    labels and directory go there; without a peer here the metadata never arrives, so the
    test reads them on the magnet's download itself (what rTorrent carries over)."""
    headers, by_kind, transmission, rtorrent = servers
    info_hash = random_info_hash()
    folder = tmp_path / "magnets"
    folder.mkdir()
    response = api.client.post(
        "/torrents",
        json={
            "uri": magnet_for(info_hash, "td opt magnet") + TRACKER,
            "server_id": by_kind[kind]["id"],
            "start": False,
            "labels": LABELS,
            "download_dir": str(folder),
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    labels, directory, running = wait_until(
        lambda: read_back(kind, transmission, rtorrent, info_hash), message="magnet loaded"
    )
    assert (labels, directory, running) == (LABELS, str(folder), False)


@pytest.mark.parametrize(
    ("field", "value"),
    [("labels", ["a,b"]), ("labels", [""]), ("download_dir", "relative/dir"),
     ("download_dir", "/a/../b")],
)
def test_bad_add_options_are_422(api, servers, field, value):
    headers, by_kind, *_ = servers
    body = {"uri": magnet_for(random_info_hash()), "server_id": by_kind["tr"]["id"], field: value}
    response = api.client.post("/torrents", json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]
    upload_response = upload(
        api, headers, by_kind["tr"]["id"], make_torrent("td-bad-opt"), **{field: value}
    )
    assert upload_response.status_code == 422


def test_rtorrent_refuses_a_directory_that_would_end_its_quotes(api, servers, tmp_path):
    headers, by_kind, _, rtorrent = servers
    before = rtorrent.hashes()
    torrent = make_torrent("td-quote-dir")
    response = upload(
        api, headers, by_kind["rt"]["id"], torrent, download_dir=str(tmp_path / 'a"b')
    )
    assert response.status_code == 502
    assert response.json()["detail"].startswith(
        "seedbox-rt: rTorrent cannot be given the download directory"
    )
    assert rtorrent.hashes() == before
