"""Files on disk and in logs (SPEC §8, §14): the data dir is its user's alone, one that exists
is made so at start, and no log level ever prints a server's credentials."""

from __future__ import annotations

import base64
import logging
import os
import stat

import httpx
import pytest

from tests.api_fixtures import rtorrent_http_fields, transmission_fields
from tests.app_process import add_user, start_app
from tests.daemons.common import free_port


def modes(root) -> dict[str, int]:
    """Every path under `root` (itself included) and its permission bits."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        if not path.is_symlink():
            found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


@pytest.mark.slow
def test_an_existing_open_data_dir_is_made_private_at_start(tmp_path):
    data_dir = tmp_path / "data"
    # A data dir left open by an older version or a loose umask: 0755, its files 0644, and a
    # NiceGUI storage folder 0755 with a session file in it.
    add_user(data_dir, "alice", "long-enough-pw")
    storage = data_dir / "nicegui"
    storage.mkdir()
    (storage / "storage-user-old.json").write_text("{}")
    outside = tmp_path / "elsewhere.txt"  # a symlink out of the data dir is left alone
    outside.write_text("not ours to change")
    outside.chmod(0o644)
    (data_dir / "link").symlink_to(outside)
    data_dir.chmod(0o755)
    for path in data_dir.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert modes(data_dir)["torrentdesk.sqlite"] == 0o644

    port = free_port()
    app = start_app(data_dir, port=port)
    try:
        # A page load makes NiceGUI write its storage (a session file for this browser).
        with httpx.Client(base_url=app.base, timeout=30) as http:
            assert http.get("/login").status_code == 200
            body = {"username": "alice", "password": "long-enough-pw"}
            assert http.post("/auth/token", json=body).status_code == 200
    finally:
        assert app.stop() == 0, app.output()
    found = modes(data_dir)
    assert found.pop(".") == 0o700
    assert {"torrentdesk.sqlite", "secret.key", "session.secret", "nicegui"} <= set(found)
    assert any(name.startswith("nicegui/") for name in found), found  # its storage files
    wrong = {
        name: oct(mode)
        for name, mode in found.items()
        if mode != (0o700 if (data_dir / name).is_dir() else 0o600)
    }
    assert wrong == {}
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644


def test_a_new_data_dir_and_everything_in_it_are_private(tmp_path):
    data_dir = tmp_path / "fresh"
    previous = os.umask(0o022)
    try:
        add_user(data_dir, "bob", "long-enough-pw")
    finally:
        os.umask(previous)
    found = modes(data_dir)
    assert found.pop(".") == 0o700
    assert "torrentdesk.sqlite" in found
    assert {name: oct(mode) for name, mode in found.items() if mode != 0o600} == {}


@pytest.mark.daemon
def test_no_log_level_prints_a_server_password(
    api, transmission_daemon, rtorrent_http, caplog
):
    caplog.set_level(logging.DEBUG)  # every logger, the libraries' included
    headers = api.user("alice")
    daemon = transmission_daemon
    secrets_seen = {
        daemon.password,
        base64.b64encode(f"{daemon.username}:{daemon.password}".encode()).decode(),
        rtorrent_http.password,
        base64.b64encode(f"{rtorrent_http.username}:{rtorrent_http.password}".encode()).decode(),
    }
    for fields in (transmission_fields(daemon), rtorrent_http_fields(rtorrent_http)):
        server = api.add_server(headers, **fields)
        assert api.client.post(f"/servers/{server['id']}/test", headers=headers).json()["ok"]
    assert api.client.get("/torrents", headers=headers).status_code == 200
    # A wrong password too: transmission-rpc logs the request's headers on a 401.
    wrong = api.add_server(
        headers, **transmission_fields(daemon, name="wrong", password="not-" + daemon.password)
    )
    secrets_seen |= {
        "not-" + daemon.password,
        base64.b64encode(f"{daemon.username}:not-{daemon.password}".encode()).decode(),
    }
    assert not api.client.post(f"/servers/{wrong['id']}/test", headers=headers).json()["ok"]
    assert api.client.get("/torrents", headers=headers).status_code == 200
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
    )
    logging.getLogger("tests.private_data").debug("DEBUG records are captured")
    assert "DEBUG records are captured" in logged + caplog.text
    # transmission-rpc's own DEBUG records (its URL, headers and replies) are never made.
    assert not logging.getLogger("torrentdesk.clients.transmission.rpc").isEnabledFor(
        logging.DEBUG
    )
    assert [s for s in secrets_seen if s in logged] == []
