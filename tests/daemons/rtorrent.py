"""A real rtorrent on loopback (SCGI), and nginx with basic auth in front of it.

`running_rtorrent` and `running_nginx_scgi` are plain context managers so benchmarks can start
several daemons outside pytest; the fixtures at the bottom wrap them for tests.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from torrentdesk.clients.rtorrent import RTorrentClient

from .common import free_port, require_tool, stop_process, wait_for_port


@dataclass
class RTorrentDaemon:
    host: str
    scgi_port: int
    session_dir: Path
    download_dir: Path
    log_file: Path
    process: subprocess.Popen

    def rpc(self, method: str, *params: object) -> object:
        """A raw SCGI call for test setup and checks, bypassing the client under test."""
        body = xmlrpc.client.dumps(params, method).encode()
        headers = b"CONTENT_LENGTH\x00%d\x00SCGI\x001\x00" % len(body)
        with socket.create_connection((self.host, self.scgi_port), timeout=10) as sock:
            sock.sendall(b"%d:%s,%s" % (len(headers), headers, body))
            reply = b"".join(iter(lambda: sock.recv(65536), b""))
        return xmlrpc.client.loads(reply.partition(b"\r\n\r\n")[2])[0][0]

    def hashes(self) -> set[str]:
        return {h.lower() for (h,) in self.rpc("d.multicall2", "", "main", "d.hash=")}


@dataclass
class NginxProxy:
    host: str
    port: int
    rpc_path: str
    username: str
    password: str
    process: subprocess.Popen


@contextlib.contextmanager
def running_rtorrent(
    workdir: Path, startup_timeout: float = 15.0, peer_address: str = "127.0.0.1"
) -> Iterator[RTorrentDaemon]:
    """Start `rtorrent` headless on 127.0.0.1 with its own session and download dirs; its
    peers (and tracker announces) go through `peer_address` (see tests/daemons/swarm.py)."""
    executable = shutil.which("rtorrent") or "/usr/bin/rtorrent"
    workdir = Path(workdir)
    session_dir, download_dir = workdir / "session", workdir / "downloads"
    session_dir.mkdir(parents=True, exist_ok=True)
    download_dir.mkdir(parents=True, exist_ok=True)
    scgi_port, peer_port = free_port(), free_port()
    log_file = workdir / "rtorrent.log"
    rc = workdir / "rtorrent.rc"
    rc.write_text(
        "\n".join(
            [
                "system.daemon.set = true",
                f"session.path.set = {session_dir}",
                f"directory.default.set = {download_dir}",
                f"network.scgi.open_port = 127.0.0.1:{scgi_port}",
                f"network.port_range.set = {peer_port}-{peer_port}",
                "network.port_random.set = no",
                f"network.bind_address.set = {peer_address}",
                "network.xmlrpc.size_limit.set = 67108863",
                "dht.mode.set = disable",
                "protocol.pex.set = no",
                "trackers.use_udp.set = no",
                f"log.open_file = main, {log_file}",
                "log.add_output = info, main",
                "",
            ]
        )
    )
    output = (workdir / "rtorrent.out").open("wb")
    process = subprocess.Popen(
        [executable, "-n", "-o", f"import={rc}"],
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    daemon = RTorrentDaemon("127.0.0.1", scgi_port, session_dir, download_dir, log_file, process)
    try:
        wait_for_port(scgi_port, process, startup_timeout)
        _wait_answering(daemon, startup_timeout)
        yield daemon
    finally:
        stop_process(process)  # SIGTERM: rtorrent saves its session and exits
        output.close()


def _wait_answering(daemon: RTorrentDaemon, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            daemon.rpc("system.client_version")
            return
        except (OSError, xmlrpc.client.Error, IndexError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def ssha_entry(username: str, password: str) -> str:
    """An htpasswd line in RFC 2307 {SSHA} form, which nginx accepts; no openssl needed."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return f"{username}:{{SSHA}}{base64.b64encode(digest + salt).decode()}\n"


@contextlib.contextmanager
def running_nginx_scgi(
    workdir: Path, scgi_port: int, username: str, password: str, startup_timeout: float = 15.0
) -> Iterator[NginxProxy]:
    """nginx on 127.0.0.1 passing /RPC2 (basic auth) to rtorrent's SCGI port."""
    executable = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = Path(workdir)
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # The worker runs unprivileged and reads the password file on every request: it needs a
    # world-readable file in a world-traversable folder (pytest's tmp dirs are 0700).
    auth_dir = Path(tempfile.mkdtemp(prefix="torrentdesk-nginx-auth-"))
    auth_dir.chmod(0o755)
    htpasswd = auth_dir / "htpasswd"
    htpasswd.write_text(ssha_entry(username, password))
    htpasswd.chmod(0o644)
    user = "user nobody nogroup;" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
master_process on;
worker_processes 1;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    client_max_body_size 16m;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 404; }}
        location /RPC2 {{
            auth_basic "rtorrent";
            auth_basic_user_file {htpasswd};
            scgi_param REQUEST_METHOD $request_method;
            scgi_param REQUEST_URI $request_uri;
            scgi_param CONTENT_TYPE $content_type;
            scgi_param SCGI 1;
            scgi_pass 127.0.0.1:{scgi_port};
        }}
    }}
}}
"""
    )
    (prefix / "tmp").mkdir(exist_ok=True)
    output = (prefix / "nginx.out").open("wb")
    process = subprocess.Popen(
        [executable, "-c", str(conf), "-p", str(prefix)],
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process, startup_timeout)
        yield NginxProxy("127.0.0.1", port, "/RPC2", username, password, process)
    finally:
        stop_process(process)  # SIGTERM: fast shutdown of master and worker
        output.close()
        shutil.rmtree(auth_dir, ignore_errors=True)


# -- pytest fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def rtorrent_daemon(tmp_path_factory) -> Iterator[RTorrentDaemon]:
    require_tool("rtorrent")
    # Its peers on their own loopback address: with the shared Transmission (127.0.0.1) it
    # makes a swarm of two (tests/daemons/swarm.py).
    with running_rtorrent(tmp_path_factory.mktemp("rtorrent"), peer_address="127.0.0.2") as d:
        yield d


@pytest.fixture(scope="session")
def rtorrent_http(rtorrent_daemon, tmp_path_factory) -> Iterator[NginxProxy]:
    require_tool("nginx")
    with running_nginx_scgi(
        tmp_path_factory.mktemp("nginx"), rtorrent_daemon.scgi_port, "rtuser", "s3cret pass:word"
    ) as proxy:
        yield proxy


@pytest.fixture
def rtorrent_clean(rtorrent_daemon) -> Iterator[RTorrentDaemon]:
    """The daemon; whatever a test adds is erased afterwards, even when it fails."""
    before = rtorrent_daemon.hashes()
    yield rtorrent_daemon
    for info_hash in rtorrent_daemon.hashes() - before:
        with contextlib.suppress(xmlrpc.client.Fault):
            rtorrent_daemon.rpc("d.erase", info_hash.upper())


@pytest.fixture
def rtorrent_client(rtorrent_clean) -> Iterator[RTorrentClient]:
    client = RTorrentClient(
        rtorrent_clean.host, rtorrent_clean.scgi_port, protocol="scgi", timeout=5, name="rt-scgi"
    )
    yield client
    client.close()


@pytest.fixture
def rtorrent_http_client(rtorrent_clean, rtorrent_http) -> Iterator[RTorrentClient]:
    client = RTorrentClient(
        rtorrent_http.host,
        rtorrent_http.port,
        protocol="http",
        username=rtorrent_http.username,
        password=rtorrent_http.password,
        rpc_path=rtorrent_http.rpc_path,
        timeout=5,
        name="rt-http",
    )
    yield client
    client.close()


@pytest.fixture(params=["scgi", "http"])
def rtorrent_any_client(request) -> RTorrentClient:
    """The same rtorrent, reached by SCGI or through nginx with basic auth."""
    return request.getfixturevalue(
        "rtorrent_client" if request.param == "scgi" else "rtorrent_http_client"
    )
