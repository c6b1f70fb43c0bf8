"""A real transmission-daemon on loopback, with RPC auth on; fixtures and a plain context manager.

`running_transmission` works outside pytest too (benchmarks start several daemons).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import transmission_rpc

from .common import (
    empty_dir,
    free_port,
    log_on_failure,
    require_tool,
    spawn_logged,
    stop_process,
    wait_for_port,
    wait_until,
)


@dataclass
class TransmissionDaemon:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    download_dir: Path
    config_dir: Path
    process: subprocess.Popen
    executable: str = "transmission-daemon"
    log_file: Path | None = None

    def raw(self) -> transmission_rpc.Client:
        """A plain transmission-rpc client: reads back what the daemon itself holds."""
        return transmission_rpc.Client(
            host=self.host, port=self.port, username=self.username, password=self.password,
            timeout=5,
        )

    def field(self, info_hash: str, name: str):
        """One field of one torrent, as the daemon has it."""
        with self.raw() as raw:
            (torrent,) = raw.get_torrents(ids=[info_hash], arguments=["hashString", name])
            return torrent.fields[name]

    def restart(self) -> None:
        """Stop and start the daemon on the same port and config (torrents are kept)."""
        stop_process(self.process)
        self.process = _spawn(self.executable, self.config_dir, self.log_file)
        wait_for_port(self.port, self.process)


def _settings(
    port: int,
    peer_port: int,
    username: str,
    password: str,
    workdir: Path,
    peer_address: str = "127.0.0.1",
) -> dict:
    return {
        "rpc-enabled": True,
        "rpc-port": port,
        "rpc-bind-address": "127.0.0.1",
        "rpc-authentication-required": True,
        "rpc-username": username,
        "rpc-password": password,  # the daemon salts and hashes it on first start
        "rpc-whitelist-enabled": False,
        "rpc-host-whitelist-enabled": False,
        "dht-enabled": False,
        "lpd-enabled": False,
        "pex-enabled": False,
        "utp-enabled": False,
        "port-forwarding-enabled": False,
        "peer-port": peer_port,
        "peer-port-random-on-start": False,
        "bind-address-ipv4": peer_address,
        "bind-address-ipv6": "::1",
        "download-dir": str(workdir / "downloads"),
        "incomplete-dir": str(workdir / "incomplete"),
        # Data stays in download-dir, so tests (and erase with data) know where files live.
        "incomplete-dir-enabled": False,
        "watch-dir-enabled": False,
        "blocklist-enabled": False,
        "message-level": 1,  # errors only
        "cache-size-mb": 1,
        "prefetch-enabled": False,
        "scrape-paused-torrents-enabled": False,
        "rename-partial-files": False,
        "start-added-torrents": True,
        "trash-original-torrent-files": False,
        # No queueing by default: a started torrent is downloading, not "download pending".
        "download-queue-enabled": False,
        "seed-queue-enabled": False,
        "queue-stalled-enabled": False,
        "ratio-limit-enabled": False,
        "idle-seeding-limit-enabled": False,
        "encryption": 1,
        "umask": 18,
    }


def _spawn(executable: str, config_dir: Path, log_file: Path | None) -> subprocess.Popen:
    return spawn_logged([executable, "-f", "-g", str(config_dir)], log_file)


@contextmanager
def running_transmission(
    workdir: Path,
    username: str = "td",
    password: str | None = None,
    executable: str | None = None,
    peer_address: str = "127.0.0.1",
) -> Iterator[TransmissionDaemon]:
    """Start `transmission-daemon -f -g workdir/config`; stop it (SIGTERM, then wait) on exit.
    Its peers (and tracker announces) go through `peer_address` (see tests/daemons/swarm.py)."""
    executable = executable or shutil.which("transmission-daemon") or "/usr/bin/transmission-daemon"
    password = password or secrets.token_urlsafe(12)
    workdir = Path(workdir)
    config_dir = workdir / "config"
    download_dir = workdir / "downloads"
    for folder in (config_dir, download_dir, workdir / "incomplete"):
        folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    settings = _settings(port, free_port(), username, password, workdir, peer_address)
    (config_dir / "settings.json").write_text(json.dumps(settings, indent=2))
    log_file = workdir / "transmission.log"
    process = _spawn(executable, config_dir, log_file)
    daemon = TransmissionDaemon(
        host="127.0.0.1",
        port=port,
        username=username,
        password=password,
        download_dir=download_dir,
        config_dir=config_dir,
        process=process,
        executable=executable,
        log_file=log_file,
    )
    try:
        with log_on_failure(log_file):
            wait_for_port(port, process)
        yield daemon
    finally:
        stop_process(daemon.process)


@pytest.fixture(scope="session")
def transmission_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TransmissionDaemon]:
    executable = require_tool("transmission-daemon")
    with running_transmission(tmp_path_factory.mktemp("transmission"), executable=executable) as d:
        yield d


@pytest.fixture
def transmission_client(transmission_daemon: TransmissionDaemon):
    from torrentdesk.clients.transmission import TransmissionClient

    client = TransmissionClient(
        transmission_daemon.host,
        transmission_daemon.port,
        username=transmission_daemon.username,
        password=transmission_daemon.password,
        timeout=5.0,
        name="test-transmission",
    )
    yield client
    client.close()


@pytest.fixture
def transmission_clean(transmission_daemon: TransmissionDaemon) -> Iterator[TransmissionDaemon]:
    """The daemon; every torrent and file is removed after the test, even when it fails."""
    yield transmission_daemon
    d = transmission_daemon
    with transmission_rpc.Client(
        host=d.host, port=d.port, username=d.username, password=d.password, timeout=5
    ) as client:
        wait_until(lambda: _port_answers(client), timeout=15, message="daemon answering")
        ids = [t.id for t in client.get_torrents(arguments=["id"])]
        if ids:
            client.remove_torrent(ids, delete_data=True)
        wait_until(lambda: not client.get_torrents(arguments=["id"]), message="daemon empty")
    empty_dir(d.download_dir)


def _port_answers(client: transmission_rpc.Client) -> bool:
    try:
        client.get_session()
    except transmission_rpc.TransmissionError:
        return False
    return True
