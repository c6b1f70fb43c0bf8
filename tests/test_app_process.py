"""The real `torrentdesk` process: served API, first-start admin, data dir, clean stop."""

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.api_fixtures import transmission_fields
from tests.daemons.common import free_port, wait_for_port
from tests.torrent_factory import make_torrent

pytestmark = [pytest.mark.daemon, pytest.mark.slow]


@pytest.fixture
def app_process(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    env.pop("TORRENTDESK_DB_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "torrentdesk",
            "--no-open",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        wait_for_port(port, process, timeout=60)
        yield process, f"http://127.0.0.1:{port}", tmp_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(20)


def read_admin_password(process) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        match = re.search(r"created the first user 'admin' with password: (\S+)", line)
        if match:
            return match.group(1)
    raise AssertionError("no admin password printed")


def test_served_api_end_to_end(app_process, transmission_clean):
    process, base, workdir = app_process
    password = read_admin_password(process)
    with httpx.Client(base_url=base, timeout=30) as http:
        assert http.get("/health").json()["status"] == "ok"
        assert http.get("/servers").status_code == 401
        assert http.get("/docs").status_code == 401
        token = http.post("/auth/token", json={"username": "admin", "password": password}).json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        assert token["user"]["is_admin"] is True
        # SPEC §8: everything but /health and the login page needs a session or a token.
        assert http.get("/docs", headers=headers).status_code == 200
        assert (
            http.get("/openapi.json", headers={"Authorization": "Bearer nope"}).status_code == 401
        )
        server = http.post(
            "/servers", json=transmission_fields(transmission_clean), headers=headers
        )
        assert server.status_code == 201
        torrent = make_torrent("served.bin")
        uploaded = http.post(
            f"/torrents/upload?server_id={server.json()['id']}&start=false",
            files={"file": ("served.torrent", torrent.data)},
            headers=headers,
        )
        assert uploaded.status_code == 201
        listing = http.get("/torrents", headers=headers).json()
        assert [t["info_hash"] for t in listing["torrents"]] == [torrent.info_hash]
        assert listing["servers"][0]["status"] == "connected"

    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    data_dir = workdir / "data"
    assert {"torrentdesk.sqlite", "secret.key", "session.secret"} <= {
        p.name for p in data_dir.iterdir()
    }
    assert not (workdir / ".nicegui").exists()  # nothing in the working directory


def test_the_admin_password_is_printed_only_on_first_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    data_dir = tmp_path / "data"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "torrentdesk",
            "user",
            "add",
            "alice",
            "--password-stdin",
            "--data-dir",
            str(data_dir),
        ],
        input="long-enough-pw\n",
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "torrentdesk",
            "--no-open",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        wait_for_port(port, process, timeout=60)
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=20)[0]
    assert process.returncode == 0
    # No display: no native window, and the console says why.
    assert "no native window: there is no display" in output
    assert "serving on http://127.0.0.1:" in output
    assert "password" not in output  # a user exists: no admin is created
