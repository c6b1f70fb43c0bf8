"""The torrent actions menu (right click, and the toolbar's ⋯) on rows of two servers, with
the labels and move dialogs, against real Transmission and rTorrent; read back from the
daemons. One notice for what worked, one readable notice for the failures."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_notify import UserNotify

from tests.test_ui_torrents import select
from tests.torrent_factory import make_torrent
from tests.ui_fixtures import element, eventually, sign_in, the_grid
from torrentdesk.clients.rtorrent import decode_labels

pytestmark = pytest.mark.daemon


class NotifyWithCaptions(UserNotify):
    """The `user` fixture's notifications, with their captions (where the reasons are)."""

    def __call__(self, message: str, **kwargs) -> None:
        caption = kwargs.get("caption")
        self.messages.append(f"{message}\n{caption}" if caption else message)


@pytest.fixture
def user(user: User) -> User:
    user.notify = NotifyWithCaptions()
    return user


def menu_texts(user: User, menu_marker: str) -> list[str]:
    """The entries' texts (each entry holds its text in an item section), in order."""
    menu = element(user, menu_marker)
    return [
        next(e.text for e in item.descendants() if isinstance(e, ui.item_section) and e.text)
        for item in menu.descendants()
        if isinstance(item, ui.menu_item)
    ]


async def two_torrents(ui_app, two_servers, user: User):
    user_id, tr, rt = two_servers
    a, b = make_torrent("td-menu-tr"), make_torrent("td-menu-rt")
    await ui_app.services.torrents.upload(user_id, tr, a.data, start=False)
    await ui_app.services.torrents.upload(user_id, rt, b.data, start=False)
    await sign_in(user)
    ids = [f"{tr}:{a.info_hash}", f"{rt}:{b.info_hash}"]
    await eventually(lambda: set(ids) <= set(ui_app.spy.rows(the_grid(user))), message="rows")
    return ids, a.info_hash, b.info_hash


async def test_both_menus_offer_every_action(ui_app, two_servers, user: User) -> None:
    await two_torrents(ui_app, two_servers, user)
    expected = [
        "Start", "Stop", "Recheck", "Reannounce", "Labels…", "Move…", "Limits…",
        "Copy or move to server…", "Replace tracker…", "Queue",
        "To the top", "Up", "Down", "To the bottom", "Remove…",
    ]  # fmt: skip
    assert menu_texts(user, "row-menu") == expected
    assert menu_texts(user, "bulk-more") == expected


async def test_labels_on_two_servers_through_the_menu(
    ui_app, two_servers, transmission_clean, rtorrent_clean, user: User
) -> None:
    ids, tr_hash, rt_hash = await two_torrents(ui_app, two_servers, user)
    await select(user, *ids)
    user.find(marker="action-labels").click()
    await user.should_see("Labels of 2 torrents")
    assert element(user, "label-mode").value == "add_labels"
    element(user, "label-input").value = ["linux isos", "ünï $x;y"]
    user.find(marker="label-apply").click()
    await user.should_see("Labelled 2 torrents")
    assert transmission_clean.field(tr_hash, "labels") == ["linux isos", "ünï $x;y"]
    custom1 = rtorrent_clean.rpc("d.custom1", rt_hash.upper())
    assert decode_labels(custom1) == ["linux isos", "ünï $x;y"]
    # The rows show them once the next poll has them.
    await eventually(
        lambda: [ui_app.spy.rows(the_grid(user))[i]["labels"] for i in ids]
        == [["linux isos", "ünï $x;y"]] * 2,
        message="labels on the rows",
    )

    # Remove one label from the rTorrent one only.
    await select(user, ids[1])
    user.find(marker="action-labels").click()
    await user.should_see("Labels of 1 torrent")
    assert element(user, "label-input").value == ["linux isos", "ünï $x;y"]
    element(user, "label-mode").value = "remove_labels"
    element(user, "label-input").value = ["linux isos"]
    user.find(marker="label-apply").click()
    await user.should_see("Unlabelled 1 torrent")
    assert decode_labels(rtorrent_clean.rpc("d.custom1", rt_hash.upper())) == ["ünï $x;y"]


async def test_move_says_which_server_only_relocates_and_reports_failures_once(
    ui_app, two_servers, transmission_clean, rtorrent_clean, tmp_path, user: User
) -> None:
    user_id, tr, rt = two_servers
    for server_id in (tr, rt):  # capabilities come from a successful connection
        await ui_app.services.server_admin.test(user_id, server_id)
    ids, tr_hash, rt_hash = await two_torrents(ui_app, two_servers, user)
    assert element(user, "bulk-more").enabled is False  # nothing selected yet
    target = tmp_path / "moved here"
    target.mkdir()
    await select(user, *ids)
    user.find(marker="action-move").click()
    await user.should_see("Move 2 torrents")
    note = element(user, "move-note").text
    assert note.startswith("rt-box cannot move data over RPC")
    element(user, "move-dir").value = str(target)
    assert element(user, "move-data").value is True
    user.find(marker="move-apply").click()
    # One notice for what worked, one for the failure, naming the server and why.
    await user.should_see("Moved 1 torrent")
    await user.should_see("1 torrent failed")
    await user.should_see("rt-box: this server cannot move data over RPC")
    assert transmission_clean.field(tr_hash, "downloadDir") == str(target)
    assert rtorrent_clean.rpc("d.directory", rt_hash.upper()) == str(rtorrent_clean.download_dir)

    # Without moving data rTorrent relocates; the directory is remembered for the next time.
    await select(user, ids[1])
    user.find(marker="action-move").click()
    element(user, "move-dir").value = str(target)
    element(user, "move-data").value = False
    user.find(marker="move-apply").click()
    # The directory is remembered once the move has answered (its notice).
    await eventually(
        lambda: sum(m.startswith("Moved 1 torrent") for m in user.notify.messages) == 2,
        message="the second move's notice",
    )
    assert rtorrent_clean.rpc("d.directory", rt_hash.upper()) == str(target)
    user.find(marker="action-move").click()
    assert element(user, "move-dir")._props["_autocomplete"] == [str(target)]


async def test_queue_moves_fail_with_a_reason_on_rtorrent(ui_app, two_servers, user: User) -> None:
    user_id, _, rt = two_servers
    await ui_app.services.server_admin.test(user_id, rt)
    ids, _, _ = await two_torrents(ui_app, two_servers, user)
    await select(user, ids[1])
    user.find(marker="action-queue-top").click()
    await user.should_see("1 torrent failed")
    await user.should_see("rt-box: this server has no queue")
