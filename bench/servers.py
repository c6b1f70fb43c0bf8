"""Real daemons for the benchmark, loaded fast with synthetic torrents.

The daemons come from the test suite's starters (`tests/daemons`); this module only loads them.
Loading goes around torrentdesk's clients on purpose: they check every add for duplicates and wait
for rTorrent to show the hash, which is right for a user and far too slow for 10 000 torrents.
"""

from __future__ import annotations

import base64
import json
import random
import socket
import time
import xmlrpc.client
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
import transmission_rpc

from tests.daemons.qbittorrent import QBittorrentDaemon, running_qbittorrent
from tests.daemons.rtorrent import RTorrentDaemon, running_rtorrent
from tests.daemons.transmission import TransmissionDaemon, running_transmission
from tests.torrent_factory import make_torrent

# load.raw entries per system.multicall: ~450 bytes of XML each, so ~110 KB per request, far
# below the ~2 MB at which a default rTorrent resets the connection.
RTORRENT_LOAD_BATCH = 250
_WORDS = (
    "Ubuntu",
    "Debian",
    "Fedora",
    "Arch",
    "Mint",
    "Server",
    "Desktop",
    "Live",
    "Netinst",
    "DVD",
    "Remix",
    "Kernel",
    "Source",
    "Docs",
    "Archive",
    "Dataset",
    "Photos",
    "Lectures",
    "Podcast",
    "Season",
    "Episode",
    "Concert",
    "Collection",
    "Anthology",
    "Demo",
)
_TAILS = ("1080p.WEB-DL.x264", "amd64.iso", "FLAC.24bit", "tar.zst", "EPUB", "x86_64", "src")


@dataclass
class BenchServer:
    """One daemon, as torrentdesk's POST /servers wants it and as the baseline calls reach it."""

    name: str
    server_type: str  # rtorrent | transmission | qbittorrent
    host: str
    port: int
    protocol: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    pid: int = 0  # the daemon's process
    count: int = 0  # torrents loaded

    def transmission_rpc(self) -> transmission_rpc.Client:
        """A plain transmission-rpc client for this daemon (no torrentdesk code in the path)."""
        return transmission_rpc.Client(
            host=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            timeout=60,
        )

    def qbittorrent_api(self):
        """A plain qbittorrent-api client for this daemon, logged in (no torrentdesk code)."""
        import qbittorrentapi

        api = qbittorrentapi.Client(
            host=f"http://{self.host}:{self.port}",
            username=self.username,
            password=self.password,
            FORCE_SCHEME_FROM_HOST=True,
            SIMPLE_RESPONSES=True,
            REQUESTS_ARGS={"timeout": 60},
        )
        api.auth_log_in()
        return api

    def api_fields(self) -> dict:
        fields = {
            "name": self.name,
            "server_type": self.server_type,
            "protocol": self.protocol,
            "host": self.host,
            "port": self.port,
        }
        if self.username:
            fields |= {"username": self.username, "password": self.password}
        return fields


def split(total: int, parts: int) -> list[int]:
    """`total` spread over `parts` as evenly as possible."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def torrent_name(rng: random.Random, index: int) -> str:
    words = ".".join(rng.sample(_WORDS, rng.randint(2, 5)))
    return f"{words}.{2000 + index % 25}.{rng.choice(_TAILS)}-{index:05d}"


def synthetic_torrents(count: int, seed: int) -> list[bytes]:
    """`count` distinct .torrent files (random pieces, no data): mostly single-file, some
    multi-file, of varied sizes and realistic name lengths."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        name = torrent_name(rng, seed * 100_000 + i)
        if i % 10 == 0:
            files = [(f"disc {d}/part{d}.bin", rng.randint(20_000, 200_000)) for d in (1, 2, 3)]
            out.append(make_torrent(name, files=files).data)
        else:
            out.append(make_torrent(name, length=rng.randint(10_000, 400_000)).data)
    return out


def scgi_call(host: str, port: int, method: str, *params: object) -> object:
    """One raw XML-RPC call to rTorrent over SCGI (no torrentdesk code in the path)."""
    body = xmlrpc.client.dumps(params, method).encode()
    headers = b"CONTENT_LENGTH\x00%d\x00SCGI\x001\x00" % len(body)
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.sendall(b"%d:%s,%s" % (len(headers), headers, body))
        reply = b"".join(iter(lambda: sock.recv(1 << 20), b""))
    return xmlrpc.client.loads(reply.partition(b"\r\n\r\n")[2])[0][0]


def _scgi(daemon: RTorrentDaemon, method: str, *params: object) -> object:
    return scgi_call(daemon.host, daemon.scgi_port, method, *params)


def load_rtorrent(daemon: RTorrentDaemon, torrents: list[bytes], timeout: float = 120) -> None:
    """`load.raw` in batches of system.multicall; wait until rTorrent lists them all."""
    now = int(time.time())
    for start in range(0, len(torrents), RTORRENT_LOAD_BATCH):
        calls = [
            {
                "methodName": "load.raw",
                "params": [
                    "",
                    xmlrpc.client.Binary(data),
                    f"d.custom.set=addtime,{now - (start + i) * 60}",
                ],
            }
            for i, data in enumerate(torrents[start : start + RTORRENT_LOAD_BATCH])
        ]
        results = _scgi(daemon, "system.multicall", calls)
        faults = [r for r in results if isinstance(r, dict)]  # type: ignore[union-attr]
        if faults:
            raise RuntimeError(f"rTorrent refused load.raw: {faults[0]}")
    deadline = time.monotonic() + timeout
    while (n := len(_scgi(daemon, "d.multicall2", "", "main", "d.hash="))) < len(torrents):  # type: ignore[arg-type]
        if time.monotonic() > deadline:
            raise RuntimeError(f"rTorrent listed {n} of {len(torrents)} torrents after loading")
        time.sleep(0.2)


def load_transmission(daemon: TransmissionDaemon, torrents: list[bytes]) -> None:
    """`torrent-add` (paused) with raw JSON over one keep-alive session: Transmission takes one
    torrent per call, so this is as batched as it gets."""
    url = f"http://{daemon.host}:{daemon.port}/transmission/rpc"
    with requests.Session() as http:
        http.auth = (daemon.username, daemon.password)
        session_id = ""
        for data in torrents:
            body = json.dumps(
                {
                    "method": "torrent-add",
                    "arguments": {"metainfo": base64.b64encode(data).decode(), "paused": True},
                }
            )
            for _ in range(2):  # the first call (and any restart) hands out a session id
                reply = http.post(
                    url, data=body, headers={"X-Transmission-Session-Id": session_id}, timeout=60
                )
                if reply.status_code != 409:
                    break
                session_id = reply.headers["X-Transmission-Session-Id"]
            reply.raise_for_status()
            result = reply.json()
            if result.get("result") != "success" or "torrent-added" not in result["arguments"]:
                raise RuntimeError(f"Transmission refused torrent-add: {result}")


QBITTORRENT_LOAD_BATCH = 100  # .torrent files per torrents/add


def load_qbittorrent(daemon: QBittorrentDaemon, torrents: list[bytes], timeout=300) -> None:
    """torrents/add (paused) with many files per call; wait until qBittorrent lists them all."""
    with daemon.raw() as api:
        for start in range(0, len(torrents), QBITTORRENT_LOAD_BATCH):
            batch = torrents[start : start + QBITTORRENT_LOAD_BATCH]
            files = {f"{start + i}.torrent": data for i, data in enumerate(batch)}
            if api.torrents_add(torrent_files=files, is_paused=True) != "Ok.":
                raise RuntimeError("qBittorrent refused torrents/add")
        deadline = time.monotonic() + timeout
        while (n := len(api.torrents_info())) < len(torrents):
            if time.monotonic() > deadline:
                raise RuntimeError(f"qBittorrent listed {n} of {len(torrents)} after loading")
            time.sleep(0.5)


@contextmanager
def running_servers(
    workdir: Path,
    transmissions: int,
    rtorrents: int,
    torrents: int,
    log=print,
    qbittorrents: int = 0,
) -> Iterator[list[BenchServer]]:
    """Start the daemons, load `torrents` spread over them, yield how to reach each."""
    counts = split(torrents, transmissions + rtorrents + qbittorrents)
    with ExitStack() as stack:
        servers: list[BenchServer] = []
        loads = []
        started = time.monotonic()
        for i in range(transmissions):
            d = stack.enter_context(running_transmission(workdir / f"transmission-{i}"))
            server = BenchServer(
                f"bench-tr-{i}", "transmission", d.host, d.port, "http", d.username, d.password
            )
            server.pid = d.process.pid
            loads.append((server, load_transmission, d))
            servers.append(server)
        for i in range(rtorrents):
            d = stack.enter_context(running_rtorrent(workdir / f"rtorrent-{i}"))
            server = BenchServer(f"bench-rt-{i}", "rtorrent", d.host, d.scgi_port, "scgi")
            server.pid = d.process.pid
            loads.append((server, load_rtorrent, d))
            servers.append(server)
        for i in range(qbittorrents):
            d = stack.enter_context(running_qbittorrent(workdir / f"qbittorrent-{i}"))
            server = BenchServer(
                f"bench-qb-{i}", "qbittorrent", d.host, d.port, "http", d.username, d.password
            )
            server.pid = d.process.pid
            loads.append((server, load_qbittorrent, d))
            servers.append(server)
        log(f"started {len(servers)} daemons in {time.monotonic() - started:.1f} s")

        started = time.monotonic()
        generated = [synthetic_torrents(n, seed) for seed, n in enumerate(counts, start=1)]
        log(f"generated {torrents} .torrent files in {time.monotonic() - started:.1f} s")

        started = time.monotonic()
        with ThreadPoolExecutor(len(loads)) as pool:
            futures = [
                pool.submit(load, daemon, data)
                for (_, load, daemon), data in zip(loads, generated, strict=True)
            ]
            for (server, _, _), future, data in zip(loads, futures, generated, strict=True):
                future.result()
                server.count = len(data)
        log(f"loaded {torrents} torrents in {time.monotonic() - started:.1f} s")
        yield servers


class RawControl:
    """Start, stop and watch a bench server's torrents with raw daemon calls, around torrentdesk:
    the changes a page should then be told about."""

    # Transmission's tr_torrent_activity: 1 check pending, 2 checking
    _VERIFYING = (1, 2)

    def __init__(self, server: BenchServer) -> None:
        self.server = server
        self._rpc = None
        self._qbt = None
        if server.server_type == "transmission":
            self._rpc = server.transmission_rpc()
        elif server.server_type == "qbittorrent":
            self._qbt = QBittorrentControl(server.qbittorrent_api())

    def _scgi(self, method: str, *params: object) -> object:
        return scgi_call(self.server.host, self.server.port, method, *params)

    def _multicall(self, hashes: list[str], methods: tuple[str, ...]) -> None:
        calls = [{"methodName": m, "params": [h.upper()]} for h in hashes for m in methods]
        faults = [r for r in self._scgi("system.multicall", calls) if isinstance(r, dict)]  # type: ignore[union-attr]
        if faults:
            raise RuntimeError(f"rTorrent refused {methods}: {faults[0]}")

    def hashes(self) -> list[str]:
        """Every info hash on the server, lower case, in a stable order."""
        if self._qbt is not None:
            return self._qbt.hashes()
        if self._rpc is not None:
            torrents = self._rpc.get_torrents(arguments=["id", "hashString"])
            return [t.hash_string.lower() for t in sorted(torrents, key=lambda t: t.id)]
        return sorted(h.lower() for (h,) in self._scgi("d.multicall2", "", "main", "d.hash="))  # type: ignore[union-attr]

    def start(self, hashes: list[str]) -> None:
        if self._qbt is not None:
            self._qbt.api.torrents_resume(torrent_hashes=hashes)
        elif self._rpc is not None:
            self._rpc.start_torrent(hashes)
        else:  # as torrentdesk starts one: d.open + d.start (+ d.resume)
            self._multicall(hashes, ("d.open", "d.start", "d.resume"))

    def stop(self, hashes: list[str]) -> None:
        if self._qbt is not None:
            self._qbt.api.torrents_pause(torrent_hashes=hashes)
        elif self._rpc is not None:
            self._rpc.stop_torrent(hashes)
        else:  # as torrentdesk stops one: d.stop + d.close
            self._multicall(hashes, ("d.stop", "d.close"))

    def busy(self, hashes: list[str] | None = None) -> int:
        """How many torrents (of `hashes`, or all) the daemon is still verifying or hashing:
        their state changes on its own until it is done."""
        if self._qbt is not None:
            return self._qbt.busy(hashes)
        if self._rpc is not None:
            torrents = self._rpc.get_torrents(ids=hashes, arguments=["id", "status"])
            return sum(1 for t in torrents if t.fields["status"] in self._VERIFYING)
        rows = self._scgi("d.multicall2", "", "main", "d.hash=", "d.hashing=")
        wanted = None if hashes is None else {h.upper() for h in hashes}
        return sum(1 for h, hashing in rows if hashing and (wanted is None or h in wanted))  # type: ignore[union-attr]


class QBittorrentControl:
    """RawControl's qBittorrent part, through qbittorrent-api."""

    _CHECKING = ("checkingDL", "checkingUP", "checkingResumeData", "allocating", "moving")

    def __init__(self, api) -> None:
        self.api = api

    def hashes(self) -> list[str]:
        return sorted(t["hash"] for t in self.api.torrents_info())

    def busy(self, hashes: list[str] | None = None) -> int:
        rows = self.api.torrents_info(torrent_hashes=hashes) if hashes else self.api.torrents_info()
        return sum(1 for t in rows if t["state"] in self._CHECKING)
