""" "While you were away" (SPEC §11): the pollers, which keep polling while no page is open,
record what finished, failed, was added or removed; the summary lists it per server until the
user dismisses it or closes a page — on a real Transmission."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from nicegui.testing import User

from tests.api_fixtures import transmission_fields
from tests.test_live import add_server, services  # noqa: F401 (a fixture)
from tests.torrent_factory import PIECE_LENGTH, make_real_torrent, make_torrent
from tests.ui_fixtures import element, eventually, sign_in

pytestmark = pytest.mark.daemon


async def summary_kinds(services, user_id: int) -> set[tuple[str, str, str]]:  # noqa: F811
    summary = await asyncio.to_thread(services.away.summary, user_id)
    return {(s.server_name, e.kind, e.name) for s in summary.servers for e in s.events}


async def until_summary_has(services, user_id: int, wanted: set, timeout: float = 20.0):  # noqa: F811
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not wanted <= (found := await summary_kinds(services, user_id)):
        assert loop.time() < deadline, f"{wanted - found} not in the summary: {found}"
        await asyncio.sleep(0.1)


async def test_a_torrent_that_finished_while_no_page_was_open_is_in_the_summary(
    services,  # noqa: F811
    transmission_clean,
    tmp_path,
):
    tr = add_server(services, 1, transmission_fields(transmission_clean))
    services.live.idle_interval = 1.0  # no page is open: the idle polls, made quick
    doomed = make_torrent("away-removed")
    files = [("a.bin", 2 * PIECE_LENGTH, True)]
    data, info_hash = make_real_torrent(tmp_path / "stash", "away-done", files)
    await services.torrents.upload(1, tr, doomed.data, start=False)
    await services.torrents.upload(1, tr, data, start=False)  # its data is not there yet
    services.away.seen(1)  # the user's last visit: now
    await services.live.start()
    try:
        both = {info_hash, doomed.info_hash}
        await eventually(
            lambda: {r["info_hash"] for r in services.live.view(1)[0]} >= both,
            message="both listed by the idle poller",
        )
        # The data arrives and is verified; another torrent goes, both from outside.
        shutil.move(tmp_path / "stash" / "away-done", transmission_clean.download_dir)
        with transmission_clean.raw() as raw:
            raw.verify_torrent(info_hash)
            raw.remove_torrent(doomed.info_hash)
        wanted = {
            ("seedbox-tr", "finished", "away-done"),
            ("seedbox-tr", "removed", "away-removed"),
        }
        await until_summary_has(services, 1, wanted)
    finally:
        await services.live.stop()
    # Dismissed: the next summary starts afresh.
    services.away.seen(1)
    assert await summary_kinds(services, 1) == set()
    # Bob, who owns no server, has nothing to be told.
    assert await summary_kinds(services, 2) == set()


async def test_the_summary_shows_when_a_page_opens_and_is_dismissed(
    ui_app, two_servers, user: User
) -> None:
    user_id, tr, rt = two_servers
    services = ui_app.services  # noqa: F811 (the UI app's own, not the fixture)
    await asyncio.to_thread(services.away.seen, user_id)
    await asyncio.to_thread(
        services.away.record,
        tr,
        [
            ("finished", "ab" * 20, "done while away", None),
            ("failed", "cd" * 20, "broken", "disk full"),
        ],
    )
    await asyncio.to_thread(services.away.record, rt, [("removed", "ef" * 20, "gone", None)])
    await sign_in(user)
    await user.should_see("While you were away")
    await user.should_see("tr-box — 1 finished, 1 failed")
    await user.should_see("rt-box — 1 removed")
    await user.should_see("done while away")
    user.find(marker="away-dismiss").click()
    await eventually(lambda: services.away.summary(user_id).empty, message="dismissed")
    # Nothing new: the next page opens without it.
    await user.open("/")
    await user.should_see(marker="torrent-grid")
    assert not element(user, "away-dialog").value  # built, never opened
