"""A real qbittorrent-nox (Debian 4.5.2, Web API v2) on loopback with a temporary profile.

The credentials, WebUI port, save path and ban threshold are written into the profile's
`qBittorrent/config/qBittorrent.conf` before the first start (4.5.x would otherwise use
admin/adminadmin, and its default port 8080 is torrentdesk's too). `running_qbittorrent` is a
plain context manager so benchmarks can start several daemons outside pytest.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import qbittorrentapi

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

# Failed logins before qBittorrent bans the address (default 5, for an hour). The shared test
# daemon allows many, so the wrong-password tests never ban 127.0.0.1 for the others; the ban
# itself is tested on a daemon of its own.
SHARED_FAIL_COUNT = 1000


@dataclass
class QBittorrentDaemon:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    download_dir: Path
    profile_dir: Path
    process: subprocess.Popen
    executable: str = "qbittorrent-nox"
    log_file: Path | None = None

    def raw(self) -> qbittorrentapi.Client:
        """A plain qbittorrent-api client: reads back what the daemon itself holds."""
        return qbittorrentapi.Client(
            host=f"http://{self.host}:{self.port}",
            username=self.username,
            password=self.password,
            FORCE_SCHEME_FROM_HOST=True,
            REQUESTS_ARGS={"timeout": 10},
            RAISE_NOTIMPLEMENTEDERROR_FOR_UNIMPLEMENTED_API_ENDPOINTS=True,
        )

    def torrent(self, info_hash: str) -> dict:
        """One torrent as the daemon has it (torrents/info), or {} when absent."""
        with self.raw() as raw:
            rows = raw.torrents_info(torrent_hashes=info_hash)
            return dict(rows[0]) if rows else {}

    def hashes(self) -> set[str]:
        with self.raw() as raw:
            return {t["hash"] for t in raw.torrents_info()}

    def restart(self) -> None:
        stop_process(self.process)
        self.process = _spawn(self.executable, self.profile_dir, self.log_file)
        wait_for_port(self.port, self.process)


def password_pbkdf2(password: str) -> str:
    """qBittorrent's `WebUI\\Password_PBKDF2`: PBKDF2-HMAC-SHA512, 100 000 rounds, a 16-byte
    salt, as `@ByteArray(salt_b64:key_b64)`."""
    salt = os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 100_000)
    return f"@ByteArray({base64.b64encode(salt).decode()}:{base64.b64encode(key).decode()})"


def _config(
    port: int, peer_port: int, username: str, password: str, download_dir: Path, fail_count: int
) -> str:
    return "\n".join(
        [
            "[LegalNotice]",
            "Accepted=true",
            "",
            "[BitTorrent]",
            f"Session\\DefaultSavePath={download_dir}",
            f"Session\\TempPath={download_dir}/incomplete",
            "Session\\TempPathEnabled=false",
            f"Session\\Port={peer_port}",
            "Session\\Interface=lo",
            "Session\\InterfaceName=lo",
            "Session\\InterfaceAddress=127.0.0.1",
            "Session\\DHTEnabled=false",
            "Session\\LSDEnabled=false",
            "Session\\PeXEnabled=false",
            "Session\\AnonymousModeEnabled=false",
            # No queueing by default: a started torrent is downloading, not queued.
            "Session\\QueueingSystemEnabled=false",
            "Session\\AddExtensionToIncompleteFiles=false",
            "",
            "[Preferences]",
            "WebUI\\Enabled=true",
            "WebUI\\Address=127.0.0.1",
            f"WebUI\\Port={port}",
            f"WebUI\\Username={username}",
            f'WebUI\\Password_PBKDF2="{password_pbkdf2(password)}"',
            "WebUI\\LocalHostAuth=true",
            "WebUI\\CSRFProtection=true",
            "WebUI\\HostHeaderValidation=false",
            "WebUI\\UseUPnP=false",
            f"WebUI\\MaxAuthenticationFailCount={fail_count}",
            "WebUI\\BanDuration=3600",
            "Connection\\UPnP=false",
            "General\\Locale=en",
            "",
        ]
    )


def _spawn(executable: str, profile_dir: Path, log_file: Path | None) -> subprocess.Popen:
    # Its own HOME: nothing of the real user's profile is read or written.
    env = {**os.environ, "HOME": str(profile_dir)}
    return spawn_logged([executable, f"--profile={profile_dir}"], log_file, env)


def _answers(daemon: QBittorrentDaemon) -> bool:
    try:
        with daemon.raw() as raw:
            raw.app_version()
    except qbittorrentapi.APIError:
        return False
    return True


@contextmanager
def running_qbittorrent(
    workdir: Path,
    username: str = "td",
    password: str | None = None,
    executable: str | None = None,
    fail_count: int = SHARED_FAIL_COUNT,
) -> Iterator[QBittorrentDaemon]:
    """Start `qbittorrent-nox --profile=workdir/profile`; stop it (SIGTERM, then wait) on exit."""
    executable = executable or shutil.which("qbittorrent-nox") or "/usr/bin/qbittorrent-nox"
    password = password or secrets.token_urlsafe(12)
    workdir = Path(workdir)
    profile_dir, download_dir = workdir / "profile", workdir / "downloads"
    config_dir = profile_dir / "qBittorrent" / "config"
    for folder in (config_dir, download_dir):
        folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (config_dir / "qBittorrent.conf").write_text(
        _config(port, free_port(), username, password, download_dir, fail_count)
    )
    log_file = workdir / "qbittorrent.log"
    process = _spawn(executable, profile_dir, log_file)
    daemon = QBittorrentDaemon(
        host="127.0.0.1",
        port=port,
        username=username,
        password=password,
        download_dir=download_dir,
        profile_dir=profile_dir,
        process=process,
        executable=executable,
        log_file=log_file,
    )
    try:
        with log_on_failure(log_file):
            wait_for_port(port, process, timeout=30)
            wait_until(lambda: _answers(daemon), timeout=30, message="qBittorrent answering")
        yield daemon
    finally:
        stop_process(daemon.process)


@pytest.fixture(scope="session")
def qbittorrent_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QBittorrentDaemon]:
    executable = require_tool("qbittorrent-nox")
    with running_qbittorrent(tmp_path_factory.mktemp("qbittorrent"), executable=executable) as d:
        yield d


@pytest.fixture
def qbittorrent_clean(qbittorrent_daemon: QBittorrentDaemon) -> Iterator[QBittorrentDaemon]:
    """The daemon; every torrent, tag, category and file is removed after the test."""
    yield qbittorrent_daemon
    d = qbittorrent_daemon
    with d.raw() as raw:
        if raw.torrents_info():
            raw.torrents_delete(delete_files=True, torrent_hashes="all")
        wait_until(lambda: not raw.torrents_info(), message="qBittorrent empty")
        tags = list(raw.torrents_tags())
        if tags:
            raw.torrents_delete_tags(tags=tags)
        categories = list(raw.torrents_categories())
        if categories:
            raw.torrents_remove_categories(categories=categories)
        raw.transfer_set_download_limit(0)
        raw.transfer_set_upload_limit(0)
        if raw.transfer_speed_limits_mode() == "1":
            raw.transfer_toggle_speed_limits_mode()
    empty_dir(d.download_dir)


@pytest.fixture
def qbittorrent_client(qbittorrent_clean: QBittorrentDaemon):
    from torrentdesk.clients.qbittorrent import QBittorrentClient

    client = QBittorrentClient(
        qbittorrent_clean.host,
        qbittorrent_clean.port,
        username=qbittorrent_clean.username,
        password=qbittorrent_clean.password,
        timeout=5.0,
        name="test-qbittorrent",
    )
    yield client
    client.close()
