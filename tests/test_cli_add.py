"""`torrentdesk add` through a running app (its run file and local key) and directly when none
runs, on a real Transmission daemon; `torrentdesk install-desktop` with xdg-mime."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.api_fixtures import transmission_fields
from tests.app_process import PYTHON_APP, clean_env, start_app
from tests.daemons.common import free_port, wait_until
from tests.daemons.transmission import running_transmission
from tests.torrent_factory import magnet_for, make_torrent, random_info_hash
from torrentdesk.runfile import RUN_FILE

pytestmark = [pytest.mark.daemon, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]


def cli(data_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*PYTHON_APP, *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,  # this checkout's package, not the editable install's
        env=env or clean_env(),
    )


def hashes(daemon) -> set[str]:
    return {t.hash_string for t in daemon.raw().get_torrents()}


def test_add_through_the_running_app_then_directly(tmp_path, transmission_clean):
    data_dir = tmp_path / "data"
    tr = transmission_clean
    with running_transmission(tmp_path / "other") as other:
        app = start_app(data_dir, "--browser", port=free_port(), cwd=ROOT)
        try:
            password = app.admin_password()
            run_file = data_dir / RUN_FILE
            assert stat.S_IMODE(run_file.stat().st_mode) == 0o600
            with httpx.Client(base_url=app.base, timeout=30) as http:
                token = http.post(
                    "/auth/token", json={"username": "admin", "password": password}
                ).json()["token"]
                headers = {"Authorization": f"Bearer {token}"}
                ids = {}
                for daemon, name in ((tr, "nas"), (other, "seedbox")):
                    reply = http.post(
                        "/servers", json=transmission_fields(daemon, name=name), headers=headers
                    )
                    assert reply.status_code == 201, reply.text
                    ids[name] = reply.json()["id"]
                rule = {
                    "match": {"name_regex": "by rule"},
                    "target": {"server_ids": [ids["seedbox"]]},
                }
                assert http.put("/rules", json=[rule], headers=headers).status_code == 200
                # A wrong key is refused; the run file's gives a token.
                wrong = {"Authorization": "Bearer x"}
                assert http.post("/auth/local", headers=wrong).status_code == 401

            # Two servers, none named, no rule matches: nothing is tried, the servers listed.
            magnet = magnet_for(random_info_hash(), "via cli")
            done = cli(data_dir, "add", magnet)
            assert done.returncode == 2, done
            assert "2 servers (nas, seedbox) and none of your add rules matches" in done.stderr
            assert "say which with --server NAME" in done.stderr
            assert "through the running app" in done.stderr
            # A rule matches: it picks the server.
            ruled = random_info_hash()
            done = cli(data_dir, "add", magnet_for(ruled, "by rule"))
            assert done.returncode == 0, done
            assert f"added by rule to seedbox ({ruled})" in done.stdout

            # Named: a magnet and a file, to one server, paused, labelled.
            torrent = make_torrent("cli file")
            path = tmp_path / "cli.torrent"
            path.write_bytes(torrent.data)
            done = cli(data_dir, "add", magnet, str(path), "--server", "nas", "--paused",
                       "--label", "from-cli")
            assert done.returncode == 0, done
            assert f"added cli file to nas ({torrent.info_hash})" in done.stdout
            assert "added via cli to nas" in done.stdout
            on_nas = {t.hash_string: t for t in tr.raw().get_torrents()}
            assert torrent.info_hash in on_nas
            # Paused: Transmission checks a paused add's (absent) data first, then it stops.
            wait_until(
                lambda: tr.field(torrent.info_hash, "status") == 0, message="paused on nas"
            )
            assert tr.field(torrent.info_hash, "labels") == ["from-cli"]
            assert hashes(other) == {ruled}  # only what the rule sent there
            # Both servers by name; one already has it: exit 1, the other still gets it.
            done = cli(data_dir, "add", str(path), "--server", "nas", "--server", "seedbox")
            assert done.returncode == 1, done
            assert f"added cli file to seedbox ({torrent.info_hash})" in done.stdout
            assert "could not add" in done.stderr and "to nas" in done.stderr
            assert torrent.info_hash in hashes(other)
            # Unknown server, unknown user, not a torrent: usage errors, nothing added.
            done = cli(data_dir, "add", magnet, "--server", "nope")
            assert done.returncode == 2 and "no server named 'nope'" in done.stderr
            done = cli(data_dir, "add", magnet, "--user", "ghost", "--server", "nas")
            assert done.returncode == 2 and "no user named 'ghost'" in done.stderr
            junk = tmp_path / "junk.torrent"
            junk.write_bytes(b"not bencoded")
            done = cli(data_dir, "add", str(junk), "--server", "nas")
            assert done.returncode == 2 and "junk.torrent" in done.stderr
        finally:
            assert app.stop(signal.SIGTERM) == 0, app.output()
        assert not run_file.exists()  # gone with the app

        # No app running: directly, as the owner; a file:// URI as a desktop hands it.
        second = make_torrent("cli direct")
        path = tmp_path / "direct file.torrent"
        path.write_bytes(second.data)
        done = cli(data_dir, "add", path.as_uri(), "--server", "seedbox")
        assert done.returncode == 0, done
        assert "no app running" in done.stderr
        assert f"added cli direct to seedbox ({second.info_hash})" in done.stdout
        assert second.info_hash in hashes(other)


def test_a_run_file_of_a_dead_app_is_ignored(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / RUN_FILE).write_text('{"pid": 999999999, "url": "http://127.0.0.1:9", "key": "k"}')
    done = cli(data_dir, "add", magnet_for(random_info_hash(), "x"))
    assert done.returncode == 2
    assert "no app running" in done.stderr


def test_install_desktop(tmp_path):
    if not shutil.which("xdg-mime"):
        if os.environ.get("CI") == "true":
            pytest.fail("xdg-mime (xdg-utils) is not installed")
        pytest.skip("xdg-mime is not installed")
    home = tmp_path / "home"
    env = {
        **clean_env(),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CURRENT_DESKTOP": "X-Generic",
    }
    data_dir = tmp_path / "my data"
    done = cli(data_dir, "install-desktop", env=env)
    assert done.returncode == 0, done
    entry = home / "data" / "applications" / "torrentdesk-add.desktop"
    text = entry.read_text()
    assert "MimeType=x-scheme-handler/magnet;application/x-bittorrent;" in text
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line.endswith('add --notify %u') and f'--data-dir "{data_dir}"' in exec_line
    assert f"wrote {entry}" in done.stdout
    assert "set as the default for x-scheme-handler/magnet (xdg-mime)" in done.stdout
    query = subprocess.run(
        ["xdg-mime", "query", "default", "x-scheme-handler/magnet"],
        capture_output=True, text=True, env=env, check=True,
    )
    assert query.stdout.strip() == "torrentdesk-add.desktop"
