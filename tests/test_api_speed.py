"""SPEC §10 server side: sessions, global and per-torrent limits, slow mode on every server —
against real daemons, read back from each daemon in its own units (Transmission kB/s with
K = 1000, rTorrent bytes/s kept in whole KiB/s), and a real swarm of two for the totals."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from tests.api_fixtures import (
    allow_loopback_servers,
    release_services,
    rtorrent_scgi_fields,
    transmission_fields,
)
from tests.daemons.common import wait_until
from tests.daemons.fakes import closed_port
from tests.daemons.swarm import (
    TRANSFER_TIMEOUT,
    download_on_rtorrent,
    make_seed,
    rtorrent_done,
    seed_on_transmission,
)
from tests.torrent_factory import make_torrent
from torrentdesk.api import install_api
from torrentdesk.db import open_database
from torrentdesk.services import build_services
from torrentdesk.services.secrets import SecretStore

pytestmark = pytest.mark.daemon

UNLIMITED = {"download": None, "upload": None, "alt_enabled": False}


def transmission_settings(daemon) -> dict:
    """The daemon's own limit settings (kB/s, K = 1000)."""
    with daemon.raw() as raw:
        fields = raw.get_session().fields
    keys = ("speed-limit-down", "speed-limit-down-enabled", "speed-limit-up",
            "speed-limit-up-enabled", "alt-speed-down", "alt-speed-up", "alt-speed-enabled")
    return {key: fields[key] for key in keys}


def rtorrent_limits(daemon) -> tuple[int, int]:
    """The daemon's own global limits (bytes/s, 0 = unlimited)."""
    return (
        daemon.rpc("throttle.global_down.max_rate", ""),
        daemon.rpc("throttle.global_up.max_rate", ""),
    )


@pytest.fixture
def limits_reset(transmission_clean, rtorrent_clean):
    """The shared daemons back to unlimited, without slow mode (Transmission's slow-mode
    limits at their defaults), after the test."""
    yield transmission_clean, rtorrent_clean
    with transmission_clean.raw() as raw:
        raw.set_session(
            speed_limit_down_enabled=False,
            speed_limit_up_enabled=False,
            alt_speed_enabled=False,
            alt_speed_down=50,  # Transmission's defaults (kB/s)
            alt_speed_up=50,
        )
    for setter in ("throttle.global_down.max_rate.set", "throttle.global_up.max_rate.set"):
        rtorrent_clean.rpc(setter, "", 0)


@pytest.fixture
def servers(api, limits_reset):
    transmission, rtorrent = limits_reset
    headers = api.user("alice")
    tr = api.add_server(headers, **transmission_fields(transmission))
    rt = api.add_server(headers, **rtorrent_scgi_fields(rtorrent))
    return headers, tr["id"], rt["id"], transmission, rtorrent


def put_limits(api, headers, server_id, status=200, **limits):
    response = api.client.put(
        f"/servers/{server_id}/session", json={"limits": limits}, headers=headers
    )
    assert response.status_code == status, response.text
    return response.json()


def get_session(api, headers, server_id, status=200):
    response = api.client.get(f"/servers/{server_id}/session", headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def alt_speed(api, headers, enabled: bool) -> list[dict]:
    response = api.client.post("/servers/alt-speed", json={"enabled": enabled}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_transmission_limits_in_kilobytes_of_1000_and_only_the_keys_given_change(api, servers):
    headers, tr, _, transmission, _ = servers
    session = put_limits(
        api, headers, tr, download=512_000, upload=1_500_000, alt_download=64_000,
        alt_upload=32_499,
    )
    # Read back from the daemon in its own unit: kB/s with K = 1000, nearest, halves up.
    assert transmission_settings(transmission) == {
        "speed-limit-down": 512,
        "speed-limit-down-enabled": True,
        "speed-limit-up": 1500,
        "speed-limit-up-enabled": True,
        "alt-speed-down": 64,
        "alt-speed-up": 32,
        "alt-speed-enabled": False,
    }
    assert session["limits"] == {
        "download": 512_000, "upload": 1_500_000, "alt_download": 64_000, "alt_upload": 32_000,
        "alt_enabled": False,
    }
    # Only the keys given change: the upload limit lifted, the rest as it was.
    session = put_limits(api, headers, tr, upload=None, download=1_500)
    settings = transmission_settings(transmission)
    assert settings["speed-limit-up-enabled"] is False
    assert (settings["speed-limit-down"], settings["alt-speed-down"]) == (2, 64)  # 1.5 kB: 2
    assert session["limits"] == {
        "download": 2_000, "upload": None, "alt_download": 64_000, "alt_upload": 32_000,
        "alt_enabled": False,
    }
    # Smaller than a kB is one kB, never 0 (which would stop every transfer).
    put_limits(api, headers, tr, download=1)
    assert transmission_settings(transmission)["speed-limit-down"] == 1


def test_rtorrent_limits_in_bytes_kept_in_whole_kibibytes(api, servers):
    headers, _, rt, _, rtorrent = servers
    session = put_limits(api, headers, rt, download=512_000, upload=1_500_000)
    # rTorrent keeps whole KiB/s: 512 000 is 500 KiB exactly; 1 500 000 is 1464.8 -> 1465 KiB.
    assert rtorrent_limits(rtorrent) == (512_000, 1_500_160)
    assert session["limits"] == {
        "download": 512_000, "upload": 1_500_160, "alt_download": None, "alt_upload": None,
        "alt_enabled": False,
    }
    # Under one KiB would be 0 (unlimited) there: one KiB instead.
    put_limits(api, headers, rt, upload=100)
    assert rtorrent_limits(rtorrent) == (512_000, 1024)
    put_limits(api, headers, rt, download=None, upload=None)
    assert rtorrent_limits(rtorrent) == (0, 0)


def test_rtorrent_slow_mode_is_emulated_and_survives_an_app_restart(
    api, servers, tmp_path, db_url
):
    headers, _, rt, _, rtorrent = servers
    put_limits(api, headers, rt, download=512_000, upload=256_000)
    session = put_limits(api, headers, rt, alt_download=102_400, alt_upload=51_200)
    assert rtorrent_limits(rtorrent) == (512_000, 256_000)  # slow mode off: the normal pair
    assert session["limits"]["alt_download"] == 102_400

    [result] = [r for r in alt_speed(api, headers, True) if r["server_id"] == rt]
    assert result == {"server_id": rt, "ok": True, "error": None}
    assert rtorrent_limits(rtorrent) == (102_400, 51_200)  # the daemon now runs the slow pair
    assert get_session(api, headers, rt)["limits"] == {
        "download": 512_000, "upload": 256_000, "alt_download": 102_400, "alt_upload": 51_200,
        "alt_enabled": True,
    }

    # A restart of the app: new services on the same database remember both pairs.
    services = build_services(
        open_database(db_url), SecretStore(api.data_dir), timeout=2.0
    )
    allow_loopback_servers(services)
    app = api.client.app.__class__(docs_url=None, redoc_url=None, openapi_url=None)
    install_api(app, services)
    with TestClient(app) as restarted:
        session = restarted.get(f"/servers/{rt}/session", headers=headers).json()
        assert session["limits"] == {
            "download": 512_000, "upload": 256_000, "alt_download": 102_400,
            "alt_upload": 51_200, "alt_enabled": True,
        }
        response = restarted.post("/servers/alt-speed", json={"enabled": False}, headers=headers)
        assert response.status_code == 200
    services.close()
    release_services(app)
    assert rtorrent_limits(rtorrent) == (512_000, 256_000)  # back to the remembered pair
    # While slow mode is on, changing the normal pair leaves the daemon on the slow one.
    # The pair not in force reads back as rTorrent will hold it (whole KiB/s), at once;
    # alt_enabled null keeps slow mode as it is.
    alt_speed(api, headers, True)
    session = put_limits(api, headers, rt, download=2_048_000, upload=30_000, alt_enabled=None)
    assert rtorrent_limits(rtorrent) == (102_400, 51_200)
    assert session["limits"] == {
        "download": 2_048_000, "upload": 29_696, "alt_download": 102_400, "alt_upload": 51_200,
        "alt_enabled": True,
    }
    alt_speed(api, headers, False)
    assert rtorrent_limits(rtorrent) == (2_048_000, 29_696)
    session = put_limits(api, headers, rt, alt_upload=30_000)
    assert session["limits"]["alt_upload"] == 29_696
    assert get_session(api, headers, rt)["limits"]["alt_upload"] == 29_696


def test_slow_mode_on_every_server_with_one_unreachable(api, servers):
    headers, tr, rt, transmission, rtorrent = servers
    put_limits(api, headers, tr, alt_download=50_000, alt_upload=20_000)
    put_limits(api, headers, rt, alt_download=51_200, alt_upload=20_480)
    with closed_port() as port:
        dead = api.add_server(
            headers, **transmission_fields(transmission, name="dead-box", port=port)
        )["id"]
        results = {r["server_id"]: r for r in alt_speed(api, headers, True)}
    assert set(results) == {tr, rt, dead}
    assert results[tr] == {"server_id": tr, "ok": True, "error": None}
    assert results[rt] == {"server_id": rt, "ok": True, "error": None}
    assert results[dead]["ok"] is False
    assert results[dead]["error"].startswith("dead-box: cannot connect")
    # Read back from each daemon, in its own units.
    settings = transmission_settings(transmission)
    assert (settings["alt-speed-enabled"], settings["alt-speed-down"]) == (True, 50)
    assert rtorrent_limits(rtorrent) == (51_200, 20_480)
    assert get_session(api, headers, tr)["limits"]["alt_enabled"] is True

    results = {r["server_id"]: r["ok"] for r in alt_speed(api, headers, False)}
    assert results == {tr: True, rt: True, dead: False}
    assert transmission_settings(transmission)["alt-speed-enabled"] is False
    assert rtorrent_limits(rtorrent) == (0, 0)
    audit = api.client.get("/actions?limit=6", headers=headers).json()
    assert [a["action"] for a in audit[:3]] == ["server.alt_speed"] * 3
    assert {a["ok"] for a in audit[:3]} == {True, False}


def test_transmission_free_space_is_the_filesystems(api, servers):
    headers, tr, _, transmission, _ = servers
    session = get_session(api, headers, tr)
    stat = os.statvfs(transmission.download_dir)
    available = stat.f_bavail * stat.f_frsize
    free = session["free_space"]
    print(f"free space: Transmission {free['bytes']} B, statvfs {available} B")
    assert free["path"] == str(transmission.download_dir)
    assert session["download_dir"] == str(transmission.download_dir)
    assert abs(free["bytes"] - available) <= available * 0.01


def test_rtorrent_free_space_is_approximate_from_its_open_torrents(api, servers):
    headers, _, rt, _, rtorrent = servers
    session = get_session(api, headers, rt)
    assert session["download_dir"] == str(rtorrent.download_dir)
    assert session["free_space"] is None  # nothing open: rTorrent cannot tell
    torrent = make_torrent("td-free-space.bin")
    response = api.client.post(
        f"/torrents/upload?server_id={rt}",
        files={"file": ("x.torrent", torrent.data, "application/x-bittorrent")},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    free = wait_until(lambda: get_session(api, headers, rt)["free_space"], message="free space")
    stat = os.statvfs(rtorrent.download_dir)
    available = stat.f_bavail * stat.f_frsize
    print(f"free space: rTorrent {free['bytes']} B, statvfs {available} B")
    assert free["path"] == str(rtorrent.download_dir)
    assert abs(free["bytes"] - available) <= available * 0.01


def test_session_totals_move_after_a_real_transfer_between_two_daemons(
    api, servers, opentracker
):
    headers, tr, rt, transmission, rtorrent = servers
    before = {s: get_session(api, headers, s) for s in (tr, rt)}
    seed = make_seed(transmission.download_dir, "td-swarm.bin", 2 * 1024 * 1024,
                     opentracker.announce)
    opentracker.allow(seed.info_hash)
    seed_on_transmission(transmission, seed, opentracker)
    download_on_rtorrent(rtorrent, seed)
    wait_until(lambda: rtorrent_done(rtorrent, seed.info_hash), timeout=TRANSFER_TIMEOUT,
               interval=0.5, message="rTorrent downloaded from Transmission")
    after = {s: get_session(api, headers, s) for s in (tr, rt)}
    uploaded = after[tr]["uploaded_total"] - before[tr]["uploaded_total"]
    downloaded = after[rt]["downloaded_total"] - before[rt]["downloaded_total"]
    print(f"totals: Transmission uploaded {uploaded} B, rTorrent downloaded {downloaded} B")
    assert uploaded >= seed.size
    assert downloaded >= seed.size
    # Protocol overhead only beyond the data, not a second copy.
    assert downloaded < seed.size * 1.2


def test_set_limits_action_on_transmission_and_why_rtorrent_cannot(api, servers):
    headers, tr, rt, transmission, _ = servers
    hashes = {}
    for server_id, name in ((tr, "td-lim-tr.bin"), (rt, "td-lim-rt.bin")):
        torrent = make_torrent(name)
        response = api.client.post(
            f"/torrents/upload?server_id={server_id}&start=false",
            files={"file": ("x.torrent", torrent.data, "application/x-bittorrent")},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        hashes[server_id] = torrent.info_hash
    api.client.post(f"/servers/{rt}/test", headers=headers)  # its capabilities now known
    body = {
        "action": "set_limits",
        "targets": [{"server_id": s, "info_hash": h} for s, h in hashes.items()],
        "download_limit": 300_000,
        "upload_limit": 45_600,
    }
    response = api.client.post("/torrents/actions", json=body, headers=headers)
    assert response.status_code == 200, response.text
    results = {r["server_id"]: r for r in response.json()["results"]}
    assert results[tr]["ok"] is True
    assert results[rt]["ok"] is False
    assert "no limits for single torrents" in results[rt]["error"]
    assert results[rt]["error"].startswith("seedbox-rt: ")
    h = hashes[tr]
    # kB/s, K = 1000: 45 600 B/s is 45.6 kB/s, 46 kB/s.
    assert [transmission.field(h, f) for f in ("downloadLimit", "downloadLimited")] == [300, True]
    assert [transmission.field(h, f) for f in ("uploadLimit", "uploadLimited")] == [46, True]
    # null (or left out) is unlimited.
    body.update(download_limit=None, targets=body["targets"][:1])
    del body["upload_limit"]
    assert api.client.post("/torrents/actions", json=body, headers=headers).status_code == 200
    assert transmission.field(h, "downloadLimited") is False
    assert transmission.field(h, "uploadLimited") is False


@pytest.mark.parametrize("bad", [-1, 0, 2**30 + 1, 2**63, True, 1.5, "100", "fast"])
def test_absurd_limits_are_422(api, servers, bad):
    headers, tr, _, transmission, _ = servers
    before = transmission_settings(transmission)
    for limits in ({"download": bad}, {"alt_upload": bad}):
        response = api.client.put(
            f"/servers/{tr}/session", json={"limits": limits}, headers=headers
        )
        assert response.status_code == 422, response.text
    body = {"action": "set_limits", "targets": [{"server_id": tr, "info_hash": "a" * 40}],
            "download_limit": bad}
    assert api.client.post("/torrents/actions", json=body, headers=headers).status_code == 422
    assert transmission_settings(transmission) == before


def test_session_requests_that_are_refused(api, servers):
    headers, tr, _, transmission, _ = servers
    put = api.client.put
    # Unknown keys, no limits object, and slow mode as a number.
    assert put(f"/servers/{tr}/session", json={"limits": {"down": 1}}, headers=headers
               ).status_code == 422
    assert put(f"/servers/{tr}/session", json={}, headers=headers).status_code == 422
    assert put(f"/servers/{tr}/session", json={"limits": {"alt_enabled": 1}}, headers=headers
               ).status_code == 422
    assert api.client.post("/servers/alt-speed", json={"enabled": "yes"}, headers=headers
                           ).status_code == 422
    # Transmission's slow-mode limits are always a number.
    response = put(f"/servers/{tr}/session", json={"limits": {"alt_download": None}},
                   headers=headers)
    assert response.status_code == 422
    assert "seedbox-tr: its alternative (slow mode) limits cannot be unlimited" in response.text
    # Another user's server is absent; an unreachable one is a 502 naming it.
    other = api.user("bob")
    assert api.client.get(f"/servers/{tr}/session", headers=other).status_code == 404
    assert put(f"/servers/{tr}/session", json={"limits": {"download": 1000}}, headers=other
               ).status_code == 404
    assert alt_speed(api, other, True) == []
    with closed_port() as port:
        dead = api.add_server(headers, **transmission_fields(transmission, name="gone", port=port))
        response = api.client.get(f"/servers/{dead['id']}/session", headers=headers)
    assert response.status_code == 502
    assert response.json()["detail"].startswith("gone: cannot connect")
