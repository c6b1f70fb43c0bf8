"""The PyInstaller executable (torrentdesk.spec): built once, then run for real against daemons.

The build lands in build/test/<key>/torrentdesk/, where <key> hashes everything that goes into
it (our sources, assets, the spec, pyproject.toml and the installed distributions), so a later
run with nothing changed reuses it and concurrent sessions never overwrite each other's build.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.api_fixtures import rtorrent_scgi_fields, transmission_fields
from tests.app_process import RunningApp, clean_env, start_app
from tests.daemons.common import free_port, wait_until
from tests.torrent_factory import make_torrent

pytestmark = [pytest.mark.daemon, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
BUILDS = ROOT / "build" / "test"
BUILD_TIMEOUT = 20 * 60
KEEP_BUILDS = 2


def _build_key() -> str:
    digest = hashlib.sha256(f"{sys.version} {os.environ.get('TORRENTDESK_NATIVE')}".encode())
    inputs = [ROOT / "torrentdesk.spec", ROOT / "pyproject.toml"]
    for folder in (ROOT / "torrentdesk", ROOT / "assets"):
        inputs += sorted(
            p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
        )
    for path in inputs:
        if path.is_file():
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    # A dependency upgraded or added in the venv changes what gets bundled.
    dists = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    digest.update("\n".join(dists).encode())
    return digest.hexdigest()[:16]


@dataclass
class Build:
    executable: Path
    seconds: float | None  # None: reused

    @property
    def folder(self) -> Path:
        return self.executable.parent

    def size_mb(self) -> float:
        """What the folder takes on disk: PyInstaller links some Qt files, counted once."""
        files = (p for p in self.folder.rglob("*") if p.is_file() and not p.is_symlink())
        return sum(p.stat().st_size for p in files) / 1e6


def _build(key: str) -> Build:
    target = BUILDS / key
    executable = target / "torrentdesk" / "torrentdesk"
    if executable.is_file():
        return Build(executable, None)
    if importlib.util.find_spec("PyInstaller") is None:
        message = "PyInstaller is not installed (pip install -e '.[build]' or '.[test]')"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    scratch = BUILDS / f".tmp-{key}-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    started = time.monotonic()
    # Same as build/build.sh, minus --clean: that empties PyInstaller's cache shared with any
    # concurrent build; a fresh work path is clean enough.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(scratch / "dist"),
            "--workpath",
            str(scratch / "work"),
            str(ROOT / "torrentdesk.spec"),
        ],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0 or not (scratch / "dist" / "torrentdesk" / "torrentdesk").is_file():
        log = (result.stdout + result.stderr)[-6000:]
        shutil.rmtree(scratch, ignore_errors=True)
        pytest.fail(f"PyInstaller build failed (exit {result.returncode}):\n{log}")
    (scratch / "dist").rename(target)
    shutil.rmtree(scratch, ignore_errors=True)
    return Build(executable, seconds)


def _prune(keep: str) -> None:
    """Keep the newest builds only, and no scratch folder of a build that died an hour ago."""
    builds = sorted(
        (p for p in BUILDS.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in [p for p in builds if p.name != keep][KEEP_BUILDS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
    for scratch in BUILDS.glob(".tmp-*"):
        if time.time() - scratch.stat().st_mtime > 3600:
            shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="session")
def packaged_app() -> Build:
    """The executable for the current sources: built now (a minute or two) or reused."""
    BUILDS.mkdir(parents=True, exist_ok=True)
    key = _build_key()
    with open(BUILDS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time across concurrent sessions
        build = _build(key)
        _prune(key)
    how = "reused" if build.seconds is None else f"built in {build.seconds:.0f} s"
    print(f"\npackaged app: {build.folder} ({how}), {build.size_mb():.0f} MB")
    return build


def _wait_ok(http: httpx.Client, path: str, running: RunningApp, timeout: float = 60) -> None:
    """Until `path` answers 200 (following redirects), polled every 20 ms."""

    def answered():
        if running.process.poll() is not None:
            raise AssertionError(f"exited with {running.process.returncode}:\n{running.output()}")
        try:
            return http.get(path, follow_redirects=True).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(answered, timeout=timeout, interval=0.02, message=f"{path} answering")


def _check_page_resources(http: httpx.Client, html: str) -> int:
    """Every file a page references (NiceGUI's scripts, CSS, ESM modules; our assets) is served."""
    # Files only: the importmap also holds folder prefixes ("…/esm/KEY/"), and pages name
    # per-client endpoints (uploads) under /_nicegui/client/.
    paths = {
        path
        for path in re.findall(r"""["'](/(?:_nicegui|assets)/[^"'?#\s]+)""", html)
        if not path.startswith("/_nicegui/client/") and "." in path.rsplit("/", 1)[-1]
    }
    missing = [p for p in sorted(paths) if http.get(p).status_code != 200]
    assert not missing, f"the frozen app does not serve {missing}"
    return len(paths)


def _check_websocket(port: int) -> None:
    """NiceGUI's socket.io answers over a WebSocket (uvicorn's wsproto, engine.io's ASGI driver)."""
    url = f"ws://127.0.0.1:{port}/_nicegui_ws/socket.io/?EIO=4&transport=websocket"
    with connect(url, open_timeout=10) as websocket:
        assert websocket.recv(timeout=10).startswith('0{"sid"')


@pytest.mark.timeout(BUILD_TIMEOUT + 300)
def test_packaged_executable_end_to_end(packaged_app, transmission_clean, rtorrent_clean, tmp_path):
    executable = packaged_app.executable
    version = subprocess.run(
        [str(executable), "--version"], capture_output=True, text=True, env=clean_env()
    )
    assert version.returncode == 0, version.stdout + version.stderr
    assert version.stdout.startswith("torrentdesk ")

    data_dir = tmp_path / "data"
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    port = free_port()
    started = time.monotonic()
    app = start_app(data_dir, "--browser", port=port, command=[executable], cwd=workdir)
    try:
        with httpx.Client(base_url=app.base, timeout=30) as http:
            _wait_ok(http, "/health", app)
            health_s = time.monotonic() - started
            assert http.get("/health").json()["status"] == "ok"
            # The first page, once the UI exists: whatever is there must be served whole.
            page_s, page = None, None
            for path in ("/login", "/"):
                response = http.get(path, follow_redirects=True)
                if response.status_code == 404:
                    continue
                assert response.status_code == 200, f"{path}: {response.text}\n{app.output()}"
                assert "text/html" in response.headers["content-type"]
                page_s, page = time.monotonic() - started, response
                break
            resources = _check_page_resources(http, page.text) if page is not None else 0
            nicegui_version = importlib.metadata.version("nicegui")
            assert http.get(f"/_nicegui/{nicegui_version}/static/nicegui.js").status_code == 200
            _check_websocket(port)
            assert http.get("/favicon.ico").status_code == 200
            assert http.get("/servers").status_code == 401

            admin_password = app.wait_for_line(
                r"created the first user 'admin' with password: (\S+)"
            ).group(1)
            admin = http.post("/auth/token", json={"username": "admin", "password": admin_password})
            assert admin.status_code == 200, admin.text
            assert admin.json()["user"]["is_admin"] is True

            # The frozen CLI, on the same database while the server runs.
            added = subprocess.run(
                [
                    str(executable),
                    # An admin: only admins add servers on loopback by default (SPEC §14).
                    *("user", "add", "alice", "--admin", "--password-stdin"),
                    *("--data-dir", str(data_dir)),
                ],
                input="alice-password-1\n",
                capture_output=True,
                text=True,
                env=clean_env(),
                cwd=workdir,
                timeout=60,
            )
            assert added.returncode == 0, added.stdout + added.stderr
            token = http.post(
                "/auth/token", json={"username": "alice", "password": "alice-password-1"}
            )
            assert token.status_code == 200, token.text
            headers = {"Authorization": f"Bearer {token.json()['token']}"}
            # The API docs, their offline Swagger UI files (fastapi-offline's data) and the
            # OpenAPI schema (pydantic) work frozen, opened with a token.
            for path in ("/docs", "/docs-assets/swagger-ui-bundle.js", "/openapi.json"):
                response = http.get(path, headers=headers)
                assert response.status_code == 200, f"{path}: {response.status_code}"
                if path != "/docs":
                    assert http.get(path).status_code == 401, path
            assert http.get("/docs").headers["location"] == "/login?redirect_to=%2Fdocs"
            invalid = http.post("/servers", json={"name": ""}, headers=headers)
            assert invalid.status_code == 422, invalid.text

            servers = {}
            for fields in (
                transmission_fields(transmission_clean, name="tr-frozen"),
                rtorrent_scgi_fields(rtorrent_clean, name="rt-frozen"),
            ):
                response = http.post("/servers", json=fields, headers=headers)
                assert response.status_code == 201, response.text
                servers[fields["name"]] = response.json()["id"]
                test = http.post(f"/servers/{response.json()['id']}/test", headers=headers)
                assert test.json()["ok"] is True, test.text

            expected = {}
            for name, server_id in servers.items():
                torrent = make_torrent(f"{name}.bin")
                uploaded = http.post(
                    f"/torrents/upload?server_id={server_id}&start=false",
                    files={"file": (f"{name}.torrent", torrent.data)},
                    headers=headers,
                )
                assert uploaded.status_code == 201, uploaded.text
                expected[torrent.info_hash] = name

            def listed():
                listing = http.get("/torrents", headers=headers).json()
                found = {t["info_hash"]: t["server_name"] for t in listing["torrents"]}
                return listing if found == expected else None

            listing = wait_until(listed, timeout=15, message="both torrents listed")
            assert {s["name"]: s["status"] for s in listing["servers"]} == {
                "tr-frozen": "connected",
                "rt-frozen": "connected",
            }
    finally:
        code = app.stop(signal.SIGTERM)
    assert code == 0, app.output()

    files = {p.name for p in data_dir.iterdir()}
    assert {"torrentdesk.sqlite", "secret.key", "session.secret"} <= files, files
    assert list(workdir.iterdir()) == []  # nothing lands in the working directory
    build = "reused" if packaged_app.seconds is None else f"{packaged_app.seconds:.0f} s"
    page_note = f"{page_s:.2f} s" if page_s is not None else "no UI page yet"
    print(
        f"\npackaged app: {packaged_app.size_mb():.0f} MB, build {build}; "
        f"start-up to /health {health_s:.2f} s, to the first page {page_note} "
        f"({resources} page files checked)"
    )
