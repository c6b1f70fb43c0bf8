"""Removing a torrent with its data deletes that torrent's own files and the folders they leave
empty, never anything else: real rTorrent (SCGI and behind nginx) and real Transmission, with
sentinel files around every target that must survive."""

from __future__ import annotations

import shutil
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemons.common import wait_until
from tests.daemons.fakes import garbage_reply, tcp_server
from tests.daemons.rtorrent import running_rtorrent
from tests.torrent_factory import make_torrent
from torrentdesk.clients import ProtocolError, RTorrentClient
from torrentdesk.clients.rtorrent import _owned_data

pytestmark = pytest.mark.daemon

WEIRD = "td a 'quoted' \"double\" $HOME; rm -rf ~ `id` ünïcødé ✓"


@pytest.fixture
def client(rtorrent_any_client) -> RTorrentClient:
    return rtorrent_any_client


class Sentinels:
    """Files that belong to nobody under test, each with known content."""

    def __init__(self) -> None:
        self.files: dict[Path, str] = {}

    def put(self, *paths: Path) -> None:
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"sentinel {path.name}")
            self.files[path] = f"sentinel {path.name}"

    def assert_intact(self) -> None:
        missing = [str(p) for p, text in self.files.items() if not _has(p, text)]
        assert missing == [], f"sentinels deleted: {missing}"


def _has(path: Path, text: str) -> bool:
    return path.is_file() and path.read_text() == text


@pytest.fixture
def sentinels(rtorrent_clean) -> Iterator[Sentinels]:
    """Sentinels in the download dir itself, on every test; whatever the test left in the
    shared daemon's download dir is cleared afterwards."""
    downloads = rtorrent_clean.download_dir
    before = set(downloads.iterdir())
    keep = Sentinels()
    keep.put(downloads / "zz-sentinel-top.txt")
    yield keep
    for leftover in set(downloads.iterdir()) - before:
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()


def write_files(folder: Path, files: list[tuple[str, int]]) -> list[Path]:
    paths = []
    for relative, size in files:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"d" * size)
        paths.append(path)
    return paths


# -- rTorrent: the three ways data of other torrents was lost ---------------------------------


def test_single_file_named_like_another_torrents_folder(client, rtorrent_clean, sentinels):
    downloads = rtorrent_clean.download_dir
    sentinels.put(downloads / "Movies" / "other.mkv", downloads / "Movies" / "deep" / "x.nfo")
    torrent = make_torrent("Movies")
    client.add_torrent(torrent.meta, start=False)

    failures = client.erase([torrent.info_hash], delete_data=True)

    assert list(failures) == [torrent.info_hash]
    assert isinstance(failures[torrent.info_hash], ProtocolError)
    assert str(failures[torrent.info_hash]) == (
        f"{client.name}: removed torrent {torrent.info_hash} but kept 1 of its paths that are "
        f"not plain files or could not be deleted: {downloads}/Movies — a folder is in the way, "
        "or rTorrent's user may not delete them; check them on the server"
    )
    assert torrent.info_hash not in rtorrent_clean.hashes()
    sentinels.assert_intact()


def test_nameless_multi_file_torrent_moved_into_a_category_folder(
    client, rtorrent_clean, sentinels
):
    downloads = rtorrent_clean.download_dir
    tv = downloads / "tv"
    sentinels.put(tv / "Show S01" / "e01.mkv", tv / "notes.txt", tv / "sub" / "other.txt")
    torrent = make_torrent("", files=[("a.mkv", 100), ("sub/b.mkv", 200)])
    client.add_torrent(torrent.meta, start=False)
    target = torrent.info_hash.upper()
    rtorrent_clean.rpc("d.directory.set", target, str(tv))
    assert rtorrent_clean.rpc("d.directory", target) == str(tv)
    own = write_files(tv, [("a.mkv", 100), ("sub/b.mkv", 200)])

    assert client.erase([torrent.info_hash], delete_data=True) == {}

    assert [p.exists() for p in own] == [False, False]
    assert tv.is_dir() and (tv / "sub").is_dir()  # hold others' files: kept
    sentinels.assert_intact()


def test_multi_file_torrent_loaded_into_a_shared_folder_with_directory_base(
    client, rtorrent_clean, sentinels
):
    movies = rtorrent_clean.download_dir / "movies"
    sentinels.put(movies / "Other Film" / "film.mkv", movies / "readme.txt")
    torrent = make_torrent("td-film", files=[("film.mkv", 300), ("extras/making-of.mkv", 50)])
    rtorrent_clean.rpc(
        "load.raw", "", xmlrpc.client.Binary(torrent.data), f"d.directory_base.set={movies}"
    )
    wait_until(lambda: torrent.info_hash in rtorrent_clean.hashes(), message="loaded")
    own = write_files(movies, [("film.mkv", 300), ("extras/making-of.mkv", 50)])

    assert client.erase([torrent.info_hash], delete_data=True) == {}

    assert [p.exists() for p in own] == [False, False]
    assert not (movies / "extras").exists()  # the torrent's own sub-folder, left empty
    assert movies.is_dir()
    sentinels.assert_intact()


# -- rTorrent: more shapes ---------------------------------------------------------------------


def test_multi_file_torrent_in_its_own_folder_goes_whole(client, rtorrent_clean, sentinels):
    downloads = rtorrent_clean.download_dir
    sentinels.put(downloads / "td-own-neighbour" / "n.txt", downloads / "td-own.txt")
    torrent = make_torrent("td-own", files=[("a/b/c.bin", 10), ("a/d.bin", 10), ("e.bin", 10)])
    client.add_torrent(torrent.meta, start=True)
    write_files(downloads / "td-own", [("a/b/c.bin", 10), ("a/d.bin", 10), ("e.bin", 10)])

    assert client.erase([torrent.info_hash], delete_data=True) == {}

    assert not (downloads / "td-own").exists()
    sentinels.assert_intact()


def test_own_folder_holding_a_foreign_file_keeps_that_file_and_folder(
    client, rtorrent_clean, sentinels
):
    folder = rtorrent_clean.download_dir / "td-mixed"
    sentinels.put(folder / "sub" / "not-the-torrents.txt")
    torrent = make_torrent("td-mixed", files=[("sub/a.bin", 10), ("b.bin", 10)])
    client.add_torrent(torrent.meta, start=False)
    own = write_files(folder, [("sub/a.bin", 10), ("b.bin", 10)])

    assert client.erase([torrent.info_hash], delete_data=True) == {}

    assert [p.exists() for p in own] == [False, False]
    sentinels.assert_intact()


def test_two_torrents_in_one_shared_folder(client, rtorrent_clean, sentinels):
    shared = rtorrent_clean.download_dir / "shared"
    first = make_torrent("td-first", files=[("common/one.bin", 10), ("first.bin", 10)])
    second = make_torrent("td-second", files=[("common/two.bin", 10), ("second.bin", 10)])
    for torrent in (first, second):
        rtorrent_clean.rpc(
            "load.raw", "", xmlrpc.client.Binary(torrent.data), f"d.directory_base.set={shared}"
        )
    wait_until(
        lambda: {first.info_hash, second.info_hash} <= rtorrent_clean.hashes(), message="loaded"
    )
    mine = write_files(shared, [("common/one.bin", 10), ("first.bin", 10)])
    theirs = write_files(shared, [("common/two.bin", 10), ("second.bin", 10)])

    assert client.erase([first.info_hash], delete_data=True) == {}

    assert [p.exists() for p in mine] == [False, False]
    assert [p.read_bytes() for p in theirs] == [b"d" * 10, b"d" * 10]
    assert second.info_hash in rtorrent_clean.hashes()
    sentinels.assert_intact()


def test_single_file_next_to_unrelated_files(client, rtorrent_clean, sentinels):
    downloads = rtorrent_clean.download_dir
    sentinels.put(
        downloads / "td-single.bin.part", downloads / "td-single", downloads / "td-single.bin2"
    )
    torrent = make_torrent("td-single.bin")
    client.add_torrent(torrent.meta, start=True)
    (own,) = write_files(downloads, [("td-single.bin", 10)])

    assert client.erase([torrent.info_hash], delete_data=True) == {}

    assert not own.exists()
    assert downloads.is_dir()
    sentinels.assert_intact()


def test_torrent_never_started_has_nothing_to_delete(client, rtorrent_clean, sentinels):
    downloads = rtorrent_clean.download_dir
    sentinels.put(downloads / "td-never" / "foreign.txt")
    torrent = make_torrent("td-never", files=[("a.bin", 10), ("sub/b.bin", 10)])
    client.add_torrent(torrent.meta, start=False)
    before = sorted(p.relative_to(downloads) for p in downloads.rglob("*"))

    assert client.erase([torrent.info_hash], delete_data=True) == {}

    assert torrent.info_hash not in rtorrent_clean.hashes()
    assert sorted(p.relative_to(downloads) for p in downloads.rglob("*")) == before
    sentinels.assert_intact()


def test_a_symlinked_file_goes_as_a_link_and_its_target_stays(client, rtorrent_clean, sentinels):
    downloads = rtorrent_clean.download_dir
    outside = downloads / "td-link-target" / "real.bin"
    sentinels.put(outside)
    torrent = make_torrent("td-link", files=[("linked.bin", 10), ("plain.bin", 10)])
    client.add_torrent(torrent.meta, start=False)
    folder = downloads / "td-link"
    folder.mkdir()
    (folder / "linked.bin").symlink_to(outside)
    (folder / "plain.bin").write_bytes(b"p")

    assert client.erase([torrent.info_hash], delete_data=True) == {}

    assert not folder.exists() and not (folder / "linked.bin").is_symlink()
    sentinels.assert_intact()


def test_names_with_quotes_dollars_semicolons_and_unicode(client, rtorrent_clean, sentinels):
    downloads = rtorrent_clean.download_dir
    files = [(f"{WEIRD}/inner {WEIRD}.bin", 10), ("$(touch pwned);.txt", 10)]
    sentinels.put(downloads / "td a 'quoted' sibling.txt", downloads / "HOME")
    torrent = make_torrent(WEIRD, files=files)
    client.add_torrent(torrent.meta, start=False)
    assert rtorrent_clean.rpc("d.name", torrent.info_hash.upper()) == WEIRD
    own = write_files(downloads / WEIRD, files)

    assert client.erase([torrent.info_hash], delete_data=True) == {}

    assert [p.exists() for p in own] == [False, False]
    assert not (downloads / WEIRD).exists()
    assert not (downloads / "pwned").exists() and not Path("pwned").exists()
    sentinels.assert_intact()


def test_removal_after_an_rtorrent_restart(tmp_path):
    """Closed torrents have empty f.frozen_path and d.base_path after a restart."""
    keep = Sentinels()
    with running_rtorrent(tmp_path / "rt") as daemon:
        downloads = daemon.download_dir
        keep.put(downloads / "td-restart" / "foreign.txt", downloads / "neighbour.txt")
        torrent = make_torrent("td-restart", files=[("a.bin", 10), ("sub/b.bin", 10)])
        client = RTorrentClient(daemon.host, daemon.scgi_port, timeout=5, name="rt-restart")
        client.add_torrent(torrent.meta, start=False)
        own = write_files(downloads / "td-restart", [("a.bin", 10), ("sub/b.bin", 10)])
    with running_rtorrent(tmp_path / "rt") as daemon:
        target = torrent.info_hash.upper()
        wait_until(lambda: torrent.info_hash in daemon.hashes(), message="session restored")
        assert daemon.rpc("d.base_path", target) == ""
        assert daemon.rpc("f.multicall", target, "", "f.frozen_path=") == [[""], [""]]
        client = RTorrentClient(daemon.host, daemon.scgi_port, timeout=5, name="rt-restart")

        assert client.erase([torrent.info_hash], delete_data=True) == {}

        assert torrent.info_hash not in daemon.hashes()
        assert [p.exists() for p in own] == [False, False]
        assert not (downloads / "td-restart" / "sub").exists()
        keep.assert_intact()


# -- rTorrent: what is refused, and never sent ---------------------------------------------------


def _multicall_reply(*values: object) -> bytes:
    body = xmlrpc.client.dumps(([[v] for v in values],), methodresponse=True)
    return b"Status: 200 OK\r\nContent-Type: text/xml\r\n\r\n" + body.encode()


@pytest.mark.parametrize(
    ("directory", "paths", "shown"),
    [
        ("/data/tv/../..", ["a.bin"], "its directory '/data/tv/../..'"),
        ("relative/dir", ["a.bin"], "its directory 'relative/dir'"),
        ("/", ["etc/passwd"], "its directory '/'"),
        ("/data/t", ["../../etc/passwd"], "its file path '/data/t/../../etc/passwd'"),
        ("/data/t", ["a//b"], "its file path '/data/t/a//b'"),
        ("/data/t", [""], "its file path '/data/t/'"),
    ],
)
def test_unsafe_paths_refuse_the_removal_and_erase_nothing(directory, paths, shown):
    info_hash = "ab" * 20
    reply = _multicall_reply(1, directory, "t", [[p] for p in paths])
    with garbage_reply(reply) as port:
        client = RTorrentClient("127.0.0.1", port, timeout=2, name="rt-hostile")
        failures = client.erase([info_hash], delete_data=True)
    assert list(failures) == [info_hash]
    message = str(failures[info_hash])
    assert message.startswith(
        f"rt-hostile: refused to delete the data of torrent {info_hash}: {shown} "
    )
    assert message.endswith("torrent and data kept — remove it without its data, "
                                      "and delete the files on the server by hand")


@pytest.mark.parametrize(
    "params",
    [
        ("", "rm", "-rf", "--", "/data/x"),
        ("", "rm", "-f", "/data/x"),
        ("", "rm", "-f", "--", "/data/x", "/data/y"),
        ("", "rm", "-f", "--", "relative"),
        ("", "rm", "-f", "--", "/"),
        ("", "rm", "-f", "--", "/data/../etc"),
        ("", "rmdir", "--", "/data/"),
        ("", "sh", "-c", "rm -f /data/x"),
        ("x", "rm", "-f", "--", "/data/x"),
        (),
    ],
)
def test_only_the_fixed_deletion_shapes_leave(params):
    connections = []
    with tcp_server(connections.append) as port:
        client = RTorrentClient("127.0.0.1", port, timeout=1, name="rt-guard")
        with pytest.raises(ProtocolError, match=r"^rt-guard: refused to send .*allowlist"):
            client._call("execute.nothrow", *params)
    assert connections == []


def test_owned_data_folders_stop_at_the_torrents_own_folder():
    own = _owned_data("/d/name", "name", True, ["a/b/c", "a/d", "e"])
    assert own.files == ["/d/name/a/b/c", "/d/name/a/d", "/d/name/e"]
    assert own.dirs == ["/d/name/a/b", "/d/name/a", "/d/name"]
    shared = _owned_data("/d/movies/", "film", True, ["x/y.mkv"])
    assert (shared.files, shared.dirs) == (["/d/movies/x/y.mkv"], ["/d/movies/x"])
    single = _owned_data("/d", "file.bin", False, ["file.bin"])
    assert (single.files, single.dirs) == (["/d/file.bin"], [])
    # A single file named like its folder removes no folder at all.
    assert _owned_data("/d/x", "x", False, ["x"]).dirs == []


# -- Transmission: delete_data removes the torrent's own files only ----------------------------


@pytest.mark.parametrize("multi_file", [False, True], ids=["single-file", "multi-file"])
def test_transmission_remove_with_data_in_a_shared_folder(
    transmission_client, transmission_clean, multi_file
):
    shared = transmission_clean.download_dir / "shared"
    keep = Sentinels()
    keep.put(shared / "other.mkv", shared / "td-tr" / "foreign.txt", shared / "td-tr.bin.nfo")
    if multi_file:
        files = [("a.bin", 10), ("sub/b.bin", 10)]
        torrent = make_torrent("td-tr", files=files)
        own = write_files(shared / "td-tr", files)
    else:
        torrent = make_torrent("td-tr.bin")
        own = write_files(shared, [("td-tr.bin", 10)])
    with transmission_clean.raw() as raw:
        raw.add_torrent(torrent.data, paused=True, download_dir=str(shared))
    wait_until(
        lambda: [t.info_hash for t in transmission_client.list_torrents()] == [torrent.info_hash],
        message="added",
    )

    assert transmission_client.erase([torrent.info_hash], delete_data=True) == {}

    wait_until(lambda: not any(p.exists() for p in own), timeout=5, message="own files deleted")
    assert transmission_client.list_torrents() == []
    assert shared.is_dir()
    keep.assert_intact()
