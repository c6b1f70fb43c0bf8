"""Slow mode, sessions and limits in the UI (NiceGUI `user` fixture) against real Transmission
and rTorrent: the header switch reaches both daemons, chips and the header show the sessions,
the servers dialog edits a server's limits, "Limits…" limits torrents, the Speed tab shows
them — each read back from the daemon in its own units."""

from __future__ import annotations

import asyncio

import pytest
from nicegui import ui
from nicegui.testing import User

from tests.daemons.fakes import closed_port
from tests.test_api_speed import limits_reset, rtorrent_limits, transmission_settings
from tests.test_ui_actions import NotifyWithCaptions, two_torrents
from tests.test_ui_torrents import select
from tests.ui_fixtures import element, eventually, sign_in
from torrentdesk.ui import format as fmt
from torrentdesk.ui import speed as speed_ui

pytestmark = pytest.mark.daemon
__all__ = ["limits_reset"]  # a fixture these tests use


@pytest.fixture
def user(user: User) -> User:
    user.notify = NotifyWithCaptions()
    return user


@pytest.fixture
def speed_servers(ui_app, limits_reset, two_servers):
    """alice's two servers, their capabilities known, the daemons unlimited afterwards."""
    return two_servers


async def known(ui_app, user_id: int, *server_ids: str) -> None:
    for server_id in server_ids:  # capabilities come from a successful connection
        await ui_app.services.server_admin.test(user_id, server_id)


async def test_the_header_switch_turns_slow_mode_on_and_off_on_both_daemons(
    ui_app, speed_servers, transmission_clean, rtorrent_clean, user: User
) -> None:
    user_id, tr, rt = speed_servers
    speed = ui_app.services.speed
    await speed.set_limits(user_id, tr, {"alt_download": 50_000, "alt_upload": 20_000})
    await speed.set_limits(user_id, rt, {"alt_download": 51_200, "alt_upload": 20_480})
    await sign_in(user)
    switch = element(user, "slow-mode")
    await eventually(lambda: element(user, "total-moved").visible, message="sessions read")
    assert switch.value is False

    user.find(marker="slow-mode").click()
    await user.should_see("Slow mode on: 2 servers")
    settings = transmission_settings(transmission_clean)
    assert (settings["alt-speed-enabled"], settings["alt-speed-down"]) == (True, 50)
    assert rtorrent_limits(rtorrent_clean) == (51_200, 20_480)
    assert switch.value is True

    user.find(marker="slow-mode").click()
    await user.should_see("Slow mode off: 2 servers")
    assert transmission_settings(transmission_clean)["alt-speed-enabled"] is False
    assert rtorrent_limits(rtorrent_clean) == (0, 0)
    assert switch.value is False


async def test_the_switch_follows_changes_made_elsewhere_and_never_switches_servers_itself(
    ui_app, speed_servers, transmission_clean, rtorrent_clean, user: User, monkeypatch
) -> None:
    """The switch shows what the sessions say; showing it never acts. Seen in CI before: a
    refresh that showed "off" (one server had left slow mode) turned the others off too."""
    user_id, tr, rt = speed_servers
    speed = ui_app.services.speed
    await speed.set_limits(user_id, tr, {"alt_download": 50_000, "alt_upload": 20_000})
    await speed.set_limits(user_id, rt, {"alt_download": 51_200, "alt_upload": 20_480})
    monkeypatch.setattr(speed_ui, "SESSION_REFRESH", 0.3)  # the page reads sessions often
    await sign_in(user)
    switch = element(user, "slow-mode")
    await eventually(lambda: element(user, "total-moved").visible, message="sessions read")
    assert switch.value is False

    await speed.set_alt_speed(user_id, True)  # elsewhere: the API, another page
    await eventually(lambda: switch.value is True, message="the switch showing on")
    await speed.set_limits(user_id, rt, {"alt_enabled": False})  # one server leaves slow mode
    await eventually(lambda: switch.value is False, message="the switch showing off")
    await asyncio.sleep(1.0)  # three more reads: time for a switch that acted to show it
    # Transmission stays in slow mode: showing "off" switched nothing.
    assert transmission_settings(transmission_clean)["alt-speed-enabled"] is True
    assert rtorrent_limits(rtorrent_clean) == (0, 0)
    assert switch.value is False
    assert not [m for m in user.notify.messages if "Slow mode" in m]


async def test_a_failing_server_is_named_and_the_others_switch(
    ui_app, speed_servers, transmission_clean, user: User
) -> None:
    user_id = speed_servers[0]
    with closed_port() as port:
        ui_app.add_server(
            user_id, name="gone-box", server_type="transmission", host="127.0.0.1", port=port
        )
        await sign_in(user)
        user.find(marker="slow-mode").click()
        await user.should_see("Slow mode on: 2 servers")
        await user.should_see("Slow mode not switched on: 1 server failed")
        await user.should_see("gone-box: cannot connect")
    assert transmission_settings(transmission_clean)["alt-speed-enabled"] is True


async def test_chips_and_header_show_the_sessions(
    ui_app, speed_servers, transmission_clean, rtorrent_clean, user: User
) -> None:
    user_id, tr, rt = speed_servers
    await known(ui_app, user_id, tr, rt)
    await ui_app.services.speed.set_limits(user_id, tr, {"download": 512_000})
    await sign_in(user)

    def tip(name: str) -> str:
        return element(user, f"chip-tip-{name}").text

    await eventually(lambda: "Free space:" in tip("tr-box"), message="session in the tooltip")
    lines = tip("tr-box").split("\n")
    assert lines[0].startswith("tr-box: connected")
    assert f"Default directory: {transmission_clean.download_dir}" in lines
    assert f"Limits: ↓ {fmt.speed(512_000)} ↑ unlimited" in lines
    assert any(line.startswith("Free space: ") and str(transmission_clean.download_dir) in line
               for line in lines)
    fifty = fmt.speed(50_000)  # Transmission's default 50 kB/s
    assert f"Slow mode off: ↓ {fifty} ↑ {fifty}" in lines
    rt_lines = tip("rt-box").split("\n")
    assert f"Default directory: {rtorrent_clean.download_dir}" in rt_lines
    assert "Free space: unknown" in rt_lines  # no torrent open there
    assert "Slow mode off: ↓ unlimited ↑ unlimited" in rt_lines
    moved = element(user, "total-moved")
    assert moved.text.startswith("⇅ ")
    assert element(user, "total-moved-tip").text.startswith("2 servers: ↓ ")


async def test_the_servers_dialog_edits_a_servers_limits(
    ui_app, speed_servers, transmission_clean, rtorrent_clean, user: User
) -> None:
    user_id, tr, rt = speed_servers
    await known(ui_app, user_id, tr, rt)
    await sign_in(user)
    user.find(marker="user-menu").click()
    user.find(marker="menu-servers").click()
    await user.should_see(marker="server-speed-rt-box")
    user.find(marker="server-speed-rt-box").click()
    await user.should_see("Speed of rt-box")
    await user.should_see(f"Default directory: {rtorrent_clean.download_dir}")
    assert element(user, "limit-download").value is None  # unlimited
    element(user, "limit-download").value = 500  # KiB/s
    element(user, "limit-alt-upload").value = 40
    user.find(marker="limit-save").click()
    await user.should_see("Saved the limits of rt-box")
    assert rtorrent_limits(rtorrent_clean) == (512_000, 0)  # slow mode off: the normal pair
    limits = (await ui_app.services.speed.session(user_id, rt)).limits
    assert (limits.download, limits.alt_upload) == (512_000, 40_960)

    # Transmission keeps kB/s (K = 1000): 100 KiB/s is 102 400 B/s, held as 102 kB/s.
    element(user, "speed-title")  # the dialog is still open
    user.find(marker="server-speed-tr-box").click()
    await user.should_see("Speed of tr-box")
    element(user, "limit-upload").value = 100
    element(user, "limit-alt-enabled").value = True
    user.find(marker="limit-save").click()
    await user.should_see("Saved the limits of tr-box")
    settings = transmission_settings(transmission_clean)
    assert (settings["speed-limit-up"], settings["speed-limit-up-enabled"]) == (102, True)
    assert settings["alt-speed-enabled"] is True
    assert settings["speed-limit-down-enabled"] is False  # untouched

    # Transmission's slow-mode limits cannot be emptied: the dialog says so, nothing changes.
    element(user, "limit-alt-download").value = None
    user.find(marker="limit-save").click()
    await user.should_see("tr-box: its alternative (slow mode) limits cannot be unlimited")
    assert transmission_settings(transmission_clean)["alt-speed-down"] == 50


async def test_limits_menu_entry_limits_torrents_and_greys_for_rtorrent(
    ui_app, speed_servers, transmission_clean, user: User
) -> None:
    user_id, tr, rt = speed_servers
    await known(ui_app, user_id, tr, rt)
    ids, tr_hash, _ = await two_torrents(ui_app, speed_servers, user)

    await select(user, ids[1])  # rTorrent alone: greyed, with the reason
    items = [e for e in user.find(marker="action-limits").elements]
    assert items and all(not e.enabled for e in items)
    why = {e.text for e in user.find(marker="action-limits-why").elements}
    assert why == {
        "rt-box limits whole servers only (rTorrent): set the server's limits in Servers"
    }

    await select(user, *ids)
    assert all(e.enabled for e in user.find(marker="action-limits").elements)
    user.find(marker="action-limits").click()
    await user.should_see("Speed limits of 2 torrents")
    assert "rt-box cannot limit single torrents" in element(user, "limits-note").text
    element(user, "torrent-limit-download").value = 300  # KiB/s = 307 200 B/s
    user.find(marker="limits-apply").click()
    await user.should_see("Limited 1 torrent")
    assert transmission_clean.field(tr_hash, "downloadLimit") == 307  # kB/s, K = 1000
    assert transmission_clean.field(tr_hash, "downloadLimited") is True
    assert transmission_clean.field(tr_hash, "uploadLimited") is False

    # The Speed tab shows the torrent's own limits, as the daemon holds them.
    await select(user, ids[0])
    user.find(marker="tab-speed").click()
    await eventually(
        lambda: element(user, "detail-limits").text
        == f"Limits: ↓ {fmt.speed(307_000)} ↑ unlimited",
        message="limits on the Speed tab",
    )
    await select(user, ids[1])
    await eventually(
        lambda: "whole servers only" in element(user, "detail-limits").text,
        message="rTorrent's Speed tab",
    )
    assert isinstance(element(user, "detail-limits"), ui.label)
