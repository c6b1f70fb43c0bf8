"""Inside a torrent in the UI (NiceGUI `user` fixture) against real Transmission and rTorrent:
the Files tree's ticks and priorities reach the daemon, the Trackers tab adds, removes and
disables, the Peers tab lists, the menu's Replace tracker… acts across both servers, and the
add dialog's file tree leaves unticked files out. Read back from the daemons."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from tests.test_inside_torrent import FILES, TRACKER, rt_priorities, rt_trackers, tr_files
from tests.test_ui_actions import NotifyWithCaptions
from tests.test_ui_add import upload as upload_in_dialog
from tests.test_ui_torrents import select
from tests.torrent_factory import make_torrent
from tests.ui_fixtures import element, eventually, sign_in, the_grid

pytestmark = pytest.mark.daemon


@pytest.fixture
def user(user: User) -> User:
    user.notify = NotifyWithCaptions()
    return user


async def torrents_on_both(ui_app, two_servers, user: User):
    """A 3-file torrent on each server (capabilities known), signed in, rows shown."""
    user_id, tr, rt = two_servers
    for server_id in (tr, rt):
        await ui_app.services.server_admin.test(user_id, server_id)
    a, b = make_torrent("td-ui-files-tr", FILES), make_torrent("td-ui-files-rt", FILES)
    await ui_app.services.torrents.upload(user_id, tr, a.data, start=False)
    await ui_app.services.torrents.upload(user_id, rt, b.data, start=False)
    await sign_in(user)
    ids = [f"{tr}:{a.info_hash}", f"{rt}:{b.info_hash}"]
    await eventually(lambda: set(ids) <= set(ui_app.spy.rows(the_grid(user))), message="rows")
    return ids, a.info_hash, b.info_hash


async def open_add_dialog(two_servers, user: User) -> str:
    """Signed in, the add dialog open on the Transmission server, adding paused."""
    _, tr, _ = two_servers
    await sign_in(user)
    await eventually(lambda: tr in element(user, "add-server").options)
    user.find(marker="open-add").click()
    element(user, "add-server").value = tr
    element(user, "add-start").value = False
    return tr


def tree_rows(user: User, marker: str = "details-files") -> dict[str, dict]:
    return {row["id"]: row for row in element(user, marker).rows}


async def test_files_tree_changes_reach_the_daemon(
    ui_app, two_servers, transmission_clean, rtorrent_clean, user: User
) -> None:
    ids, tr_hash, rt_hash = await torrents_on_both(ui_app, two_servers, user)
    await select(user, ids[1])  # rTorrent
    await eventually(lambda: "f:2" in tree_rows(user), message="rTorrent files")
    tree = element(user, "details-files")
    rows = tree_rows(user)
    # Folders first, open (a small torrent), then files; a folder's box follows its files.
    assert [(r["name"], r["depth"], r["dir"]) for r in element(user, "details-files").rows] == [
        ("disc", 0, True), ("sub", 1, True), ("b.bin", 2, False), ("a.bin", 1, False),
        ("c.nfo", 0, False),
    ]  # fmt: skip
    assert rows["d:disc"]["size_text"] == "48.8 KiB" and rows["d:disc"]["wanted"] is True
    # Only rTorrent's levels are offered: it has no "low".
    [priority] = [c for c in tree.columns if c["name"] == "priority"]
    assert [o["value"] for o in priority["options"]] == ["normal", "high"]

    user.find(marker="details-files").trigger("tdtoggle", {"detail": "f:1"})
    await eventually(lambda: rt_priorities(rtorrent_clean, rt_hash) == [1, 0, 1], message="off")
    await eventually(lambda: tree_rows(user)["d:disc"]["wanted"] is None, message="mixed")
    # The mixed folder's box wants all of it; again, none of it. Never a file outside it.
    user.find(marker="details-files").trigger("tdtoggle", {"detail": "d:disc"})
    await eventually(lambda: rt_priorities(rtorrent_clean, rt_hash) == [1, 1, 1], message="all")
    await eventually(lambda: tree_rows(user)["d:disc"]["wanted"] is True, message="shown")
    user.find(marker="details-files").trigger("tdtoggle", {"detail": "d:disc"})
    await eventually(lambda: rt_priorities(rtorrent_clean, rt_hash) == [0, 0, 1], message="none")
    user.find(marker="details-files").trigger(
        "tdpriority", {"detail": {"id": "f:2", "value": "high"}}
    )
    await eventually(lambda: rt_priorities(rtorrent_clean, rt_hash) == [0, 0, 2], message="high")

    # Transmission: its four levels, and one file's change leaves the others alone.
    await select(user, ids[0])
    await eventually(
        lambda: [o["value"] for o in priority["options"]] == ["low", "normal", "high"],
        message="Transmission's levels",
    )
    user.find(marker="details-files").trigger("tdtoggle", {"detail": "f:2"})
    await eventually(
        lambda: tr_files(transmission_clean, tr_hash) == [(True, 0), (True, 0), (False, 0)],
        message="one file off",
    )
    user.find(marker="details-files").trigger(
        "tdpriority", {"detail": {"id": "d:disc", "value": "low"}}
    )
    await eventually(
        lambda: tr_files(transmission_clean, tr_hash) == [(True, -1), (True, -1), (False, 0)],
        message="the folder's files low",
    )
    # Collapsing a folder hides its rows (and the server is not asked anything).
    user.find(marker="details-files").trigger("tdexpand", {"detail": "d:disc"})
    assert list(tree_rows(user)) == ["d:disc", "f:2"]


async def test_trackers_and_peers_tabs(
    ui_app, two_servers, transmission_clean, rtorrent_clean, user: User
) -> None:
    ids, tr_hash, rt_hash = await torrents_on_both(ui_app, two_servers, user)
    extra = "http://127.0.0.1:10/announce"
    user.find(marker="tab-trackers").click()

    await select(user, ids[0])  # Transmission: add, then remove
    trackers = element(user, "details-trackers")
    await eventually(lambda: [r["url"] for r in trackers.rows] == [TRACKER], message="listed")
    assert trackers.rows[0]["status"] == "Not contacted"
    assert trackers.rows[0]["last_announce"] == "never"
    element(user, "tracker-url").value = extra
    user.find(marker="tracker-add").click()
    await user.should_see(f"tr-box: added {extra}")
    assert [t["announce"] for t in transmission_clean.field(tr_hash, "trackerStats")] == [
        TRACKER,
        extra,
    ]
    await eventually(lambda: len(trackers.rows) == 2, message="two listed")
    trackers.selected = [trackers.rows[0]]
    user.find(marker="tracker-remove").click()
    await user.should_see(f"tr-box: removed {TRACKER}")
    assert [t["announce"] for t in transmission_clean.field(tr_hash, "trackerStats")] == [extra]

    # A bad URL is refused before anything is sent, and says why.
    element(user, "tracker-url").value = "ftp://nope/announce"
    user.find(marker="tracker-add").click()
    await user.should_see("a tracker is an http, https or udp announce URL")

    await select(user, ids[1])  # rTorrent: "Disable", and the reply says it was disabled
    await eventually(lambda: [r["url"] for r in trackers.rows] == [TRACKER], message="rt listed")
    assert element(user, "tracker-remove").text == "Disable"
    trackers.selected = [trackers.rows[0]]
    user.find(marker="tracker-remove").click()
    await user.should_see(f"rt-box: disabled {TRACKER} (it cannot remove it)")
    assert rt_trackers(rtorrent_clean, rt_hash) == [(TRACKER, 0, 0)]
    await eventually(lambda: trackers.rows[0]["status"] == "Disabled", message="shown disabled")

    user.find(marker="tab-peers").click()
    await eventually(lambda: element(user, "details-peers").rows == [], message="peers")
    await user.should_see("No peers connected")


async def test_replace_tracker_from_the_menu_across_servers(
    ui_app, two_servers, transmission_clean, rtorrent_clean, user: User
) -> None:
    ids, tr_hash, rt_hash = await torrents_on_both(ui_app, two_servers, user)
    new = "https://tracker.example.org/announce"
    await select(user, *ids)
    user.find(marker="action-replace-tracker").click()
    await user.should_see("Replace a tracker of 2 torrents")
    # The first torrent's tracker is offered; rTorrent's disabling is said beforehand.
    await eventually(lambda: element(user, "replace-old").value == TRACKER, message="offered")
    assert "On rt-box the old tracker is disabled" in element(user, "replace-note").text
    element(user, "replace-new").value = new
    user.find(marker="replace-apply").click()
    await user.should_see("Replaced the tracker of 2 torrents")
    assert [t["announce"] for t in transmission_clean.field(tr_hash, "trackerStats")] == [new]
    assert rt_trackers(rtorrent_clean, rt_hash) == [(TRACKER, 0, 0), (new, 0, 1)]

    # Once more: Transmission has no such tracker now — a failure naming the server, why.
    await select(user, ids[0])
    user.find(marker="action-replace-tracker").click()
    element(user, "replace-old").value = TRACKER
    element(user, "replace-new").value = new
    user.find(marker="replace-apply").click()
    await user.should_see("1 torrent failed")
    await user.should_see(f"tr-box: this torrent has no tracker {TRACKER}; left as it is")


async def test_add_dialog_file_tree_leaves_unticked_files_out(
    ui_app, two_servers, transmission_clean, user: User
) -> None:
    await open_add_dialog(two_servers, user)
    torrent = make_torrent("td-ui-add-tree", FILES)
    await upload_in_dialog(user, "tree.torrent", torrent.data)
    await user.should_see("Files: 3 of 3 to download")
    tree = element(user, "add-file-tree")
    assert {r["id"] for r in tree.rows} == {"d:disc", "d:disc/sub", "f:0", "f:1", "f:2"}
    user.find(marker="add-file-tree").trigger("tdtoggle", {"detail": "d:disc/sub"})
    user.find(marker="add-file-tree").trigger("tdtoggle", {"detail": "f:2"})
    await user.should_see("Files: 1 of 3 to download")
    assert {r["id"]: r["wanted"] for r in tree.rows}["d:disc"] is None  # mixed
    user.find(marker="add-submit").click()
    await user.should_see("Added to tr-box: td-ui-add-tree", retries=50)
    assert [w for w, _ in tr_files(transmission_clean, torrent.info_hash)] == [True, False, False]


async def test_add_dialog_tree_with_thousands_of_files_sends_only_open_folders(
    ui_app, two_servers, transmission_clean, user: User
) -> None:
    await open_add_dialog(two_servers, user)
    files = [(f"season {i // 100:02d}/episode {i:04d}.mkv", 1000 + i) for i in range(3000)]
    torrent = make_torrent("td-ui-many-files", files)
    await upload_in_dialog(user, "many.torrent", torrent.data)
    await user.should_see("Files: 3000 of 3000 to download")
    tree = element(user, "add-file-tree")
    # Big: folders start closed — 30 rows go to the browser, not 3000.
    assert len(tree.rows) == 30 and all(r["dir"] for r in tree.rows)
    assert tree.rows[0]["size_text"] == "102 KiB"  # the folder's files summed
    user.find(marker="add-file-tree").trigger("tdexpand", {"detail": "d:season 07"})
    assert len(tree.rows) == 130
    user.find(marker="add-file-tree").trigger("tdtoggle", {"detail": "d:season 07"})
    await user.should_see("Files: 2900 of 3000 to download")
    user.find(marker="add-submit").click()
    await user.should_see("Added to tr-box: td-ui-many-files", retries=50)
    wanted = [w for w, _ in tr_files(transmission_clean, torrent.info_hash)]
    assert [i for i, w in enumerate(wanted) if not w] == list(range(700, 800))
