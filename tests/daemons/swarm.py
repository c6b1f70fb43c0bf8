"""A real swarm on loopback: Debian's `opentracker` as the tracker, and a torrent with real
data for one daemon to seed and another to download. Reusable by any test that moves data
between two daemons (session totals, cross-server transfers).

Measured on this machine (opentracker 0.0~git20210823, Transmission 3.00, rTorrent 0.9.8):
- Debian builds opentracker with a whitelist: it refuses every info hash not listed in its
  `-w` file ("Requested download is not authorized"). `Tracker.allow` adds hashes and reloads
  the list (SIGHUP).
- Started as root it chroots into `-d` and drops to `nobody`, then opens the whitelist there:
  the folder must be world-traversable and the file world-readable (pytest's tmp dirs are 0700).
- opentracker hands every peer its own address too, and Transmission keeps one peer per IP
  address: with both daemons on 127.0.0.1 its connection to itself now and then took the place
  of the other daemon's. So each daemon of a swarm has its own loopback address (the shared
  rTorrent fixture's peers use 127.0.0.2, Transmission's 127.0.0.1).
- Transmission drops loopback addresses a tracker gives it (it connects to none of them) but
  accepts loopback peers that connect to it; rTorrent connects to what the tracker gives. So
  Transmission seeding to rTorrent works as is (rTorrent announces after the seeder and
  connects), and rTorrent seeding to Transmission needs rTorrent to announce again once the
  tracker lists Transmission (`download_on_transmission` does). Data flows 10-15 s after the
  peers meet (Transmission's rechoke round).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import urllib.request
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_from_bytes

import bencodepy
import pytest

from .common import free_port, require_tool, stop_process, wait_for_port, wait_until

PIECE_LENGTH = 65536


@dataclass
class Tracker:
    port: int
    whitelist: Path
    process: subprocess.Popen

    @property
    def announce(self) -> str:
        return f"http://127.0.0.1:{self.port}/announce"

    def allow(self, *info_hashes: str) -> None:
        """Let the tracker serve these torrents (its whitelist), and wait until it does."""
        with self.whitelist.open("a") as listed:
            listed.writelines(f"{h.lower()}\n" for h in info_hashes)
        self.process.send_signal(signal.SIGHUP)
        for info_hash in info_hashes:
            wait_until(
                lambda h=info_hash: b"failure reason" not in self.scrape(h),
                timeout=10,
                message=f"opentracker serving {info_hash}",
            )

    def scrape(self, info_hash: str) -> bytes:
        """The tracker's scrape reply for one torrent (counts of seeders and leechers)."""
        escaped = quote_from_bytes(bytes.fromhex(info_hash))
        url = f"http://127.0.0.1:{self.port}/scrape?info_hash={escaped}"
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.read()

    def wait_for(self, info_hash: str, seeders: int = 0, leechers: int = 0) -> None:
        """Until the tracker knows at least that many seeders and leechers of the torrent: a
        peer announcing before the seeder did would hear of nobody, and announce again only
        after the tracker's interval (~30 min)."""
        wanted = (seeders, leechers)
        wait_until(
            lambda: all(n >= w for n, w in zip(self.peers(info_hash), wanted, strict=True)),
            timeout=15,
            message=f"{seeders} seeder(s) and {leechers} leecher(s) at the tracker",
        )

    def peers(self, info_hash: str) -> tuple[int, int]:
        """(seeders, leechers) the tracker knows for the torrent."""
        files = bencodepy.decode(self.scrape(info_hash)).get(b"files", {})
        entry = files.get(bytes.fromhex(info_hash), {})
        return entry.get(b"complete", 0), entry.get(b"incomplete", 0)


@contextlib.contextmanager
def running_opentracker(startup_timeout: float = 15.0) -> Iterator[Tracker]:
    """opentracker on 127.0.0.1 (TCP for HTTP announces; UDP on the same port number)."""
    executable = shutil.which("opentracker") or "/usr/bin/opentracker"
    # Its own world-traversable folder: it chroots here and reads the whitelist as nobody.
    root = Path(tempfile.mkdtemp(prefix="torrentdesk-opentracker-"))
    root.chmod(0o755)
    whitelist = root / "whitelist"
    whitelist.write_text("")
    whitelist.chmod(0o644)
    port = free_port()
    output = (root / "opentracker.out").open("wb")
    process = subprocess.Popen(
        [executable, "-i", "127.0.0.1", "-p", str(port), "-P", str(port), "-d", str(root),
         "-w", whitelist.name],
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        cwd=root,
    )
    try:
        wait_for_port(port, process, startup_timeout)
        yield Tracker(port, whitelist, process)
    finally:
        stop_process(process)
        output.close()
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class SeedData:
    """A torrent whose data exists: `data` is the .torrent, the file sits in `directory`."""

    data: bytes
    info_hash: str
    name: str
    size: int
    directory: Path


def make_seed(directory: Path, name: str, size: int, announce: str) -> SeedData:
    """A single-file torrent of `size` random bytes written to `directory/name`, announcing
    to `announce` (public: no private flag, so nothing stops peers from meeting)."""
    content = os.urandom(size)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(content)
    pieces = b"".join(
        hashlib.sha1(content[i : i + PIECE_LENGTH]).digest()
        for i in range(0, size, PIECE_LENGTH)
    )
    info = {b"name": name.encode(), b"piece length": PIECE_LENGTH, b"length": size,
            b"pieces": pieces}
    data = bencodepy.encode({b"announce": announce.encode(), b"info": info})
    return SeedData(data, hashlib.sha1(bencodepy.encode(info)).hexdigest(), name, size, directory)


def seed_on_transmission(daemon, seed: SeedData, tracker: Tracker) -> None:
    """Add the torrent to a TransmissionDaemon over its data; wait until it seeds and the
    tracker lists it as a seeder."""
    with daemon.raw() as raw:
        raw.add_torrent(seed.data, download_dir=str(seed.directory))
    wait_until(
        lambda: daemon.field(seed.info_hash, "status") == 6, timeout=30, message="seeding"
    )
    tracker.wait_for(seed.info_hash, seeders=1)


def seed_on_rtorrent(daemon, seed: SeedData, tracker: Tracker) -> None:
    """Load and start the torrent in an RTorrentDaemon over its data; wait until it seeds
    and the tracker lists it as a seeder."""
    daemon.rpc(
        "load.raw_start", "", xmlrpc.client.Binary(seed.data),
        f'd.directory.set="{seed.directory}"',
    )
    wait_until(
        lambda: _rtorrent_value(daemon, "d.complete", seed.info_hash) == 1,
        timeout=30,
        message="seeding",
    )
    tracker.wait_for(seed.info_hash, seeders=1)


def download_on_rtorrent(daemon, seed: SeedData) -> None:
    """Load and start the torrent (no data) in an RTorrentDaemon: it fetches it from peers."""
    daemon.rpc("load.raw_start", "", xmlrpc.client.Binary(seed.data))


def download_on_transmission(daemon, seed: SeedData, tracker: Tracker, seeder) -> None:
    """Add the torrent (no data) to a TransmissionDaemon to fetch it from an RTorrentDaemon
    `seeder`. Transmission drops loopback addresses a tracker gives it, so the seeder must
    connect to it: once the tracker lists the leecher, the seeder announces again and hears
    of it."""
    with daemon.raw() as raw:
        raw.add_torrent(seed.data)
    tracker.wait_for(seed.info_hash, seeders=1, leechers=1)
    seeder.rpc("d.tracker_announce", seed.info_hash.upper())


def rtorrent_done(daemon, info_hash: str) -> bool:
    return _rtorrent_value(daemon, "d.complete", info_hash) == 1


def transmission_done(daemon, info_hash: str) -> bool:
    return daemon.field(info_hash, "percentDone") == 1


def _rtorrent_value(daemon, method: str, info_hash: str):
    try:
        return daemon.rpc(method, info_hash.upper())
    except xmlrpc.client.Fault:  # not loaded yet
        return None


# Transmission unchokes a new peer on its ~10 s rechoke round: data flows after 10-15 s.
TRANSFER_TIMEOUT = 90.0


@pytest.fixture(scope="session")
def opentracker() -> Iterator[Tracker]:
    require_tool("opentracker")
    with running_opentracker() as tracker:
        yield tracker
