"""The main view against real daemons: one table across servers fed by the live service
(first fill, then AG Grid transactions), filters, bulk actions, details, stale rows, the
finished notification, and untrusted names rendered as text."""

import asyncio
import json

import pytest
import transmission_rpc
from nicegui import ui
from nicegui.testing import User

from tests.api_fixtures import rtorrent_scgi_fields, transmission_fields
from tests.daemons.transmission import running_transmission
from tests.test_transmission_client import make_real_torrent
from tests.torrent_factory import PIECE_LENGTH, magnet_for, make_torrent, random_info_hash
from tests.ui_fixtures import (
    chosen,
    click_facet,
    counts,
    element,
    eventually,
    sign_in,
    the_grid,
)

pytestmark = pytest.mark.daemon
XSS = "<img src=x onerror=alert(1)>"


def rows_named(ui_app, user: User) -> dict[str, dict]:
    return {row["name"]: row for row in ui_app.spy.rows(the_grid(user)).values()}


def configured(ui_app, key: str) -> list:
    """What the page told the browser's grid (torrentdesk.configure calls), in order."""
    out = []
    for code in ui_app.spy.scripts:
        if code.startswith("torrentdesk.configure("):
            config = json.loads(code.split(", ", 1)[1].removesuffix(")"))
            if key in config:
                out.append(config[key])
    return out


def browser_filter(**chosen_values: list[str]) -> dict:
    """The filter as the page sends it to the browser: every section, then the words."""
    empty = {"states": [], "servers": [], "labels": [], "trackers": [], "words": []}
    return empty | chosen_values


async def select(user: User, *row_ids: str) -> None:
    """What the browser sends when rows are (de)selected: only their ids."""
    the_grid(user)  # the grid exists
    user.find(kind=ui.aggrid).trigger("selectionChanged", {"ids": list(row_ids)})
    await asyncio.sleep(0)


async def test_one_table_across_servers_with_badges_filters_and_totals(
    ui_app, two_servers, user: User
) -> None:
    user_id, tr, rt = two_servers
    services = ui_app.services
    a, b = make_torrent("on transmission"), make_torrent("on rtorrent")
    await services.torrents.upload(user_id, tr, a.data, start=False)
    await services.torrents.upload(user_id, rt, b.data, start=False)
    await sign_in(user)
    rows = await eventually(
        lambda: len(rows_named(ui_app, user)) == 2 and rows_named(ui_app, user),
        message="both rows in the grid",
    )
    assert rows["on transmission"]["id"] == f"{tr}:{a.info_hash}"
    assert rows["on transmission"]["server_name"] == "tr-box"
    assert rows["on rtorrent"]["id"] == f"{rt}:{b.info_hash}"
    assert rows["on rtorrent"]["server_name"] == "rt-box"
    assert rows["on rtorrent"]["server_type"] == "rtorrent"
    assert rows["on rtorrent"]["size"] == b.size  # raw numbers: the browser formats
    # Badge colors: one per server, distinct, sent to the browser's renderer.
    colors = configured(ui_app, "colors")[-1]
    assert set(colors) == {tr, rt} and colors[tr] != colors[rt]
    # Status chips and header totals.
    await eventually(lambda: element(user, "chip-tr-box") and element(user, "chip-rt-box"))
    assert element(user, "total-count").text == "2 torrents"
    # The grid was filled once; the rest came as transactions, never a new rowData.
    grid = the_grid(user)
    assert all(set(t) <= {"add", "update", "remove"} for t in ui_app.spy.transactions(grid))

    click_facet(user, "servers", "rt-box")
    assert configured(ui_app, "filter")[-1] == browser_filter(servers=[rt])
    click_facet(user, "states", "Stopped")
    assert configured(ui_app, "filter")[-1] == browser_filter(servers=[rt], states=["stopped"])
    click_facet(user, "servers", "rt-box")  # a second click: not chosen any more
    assert configured(ui_app, "filter")[-1] == browser_filter(states=["stopped"])
    element(user, "search").value = "On RTOR"
    assert configured(ui_app, "filter")[-1] == browser_filter(
        states=["stopped"], words=["on", "rtor"]
    )
    # Clicking a server's chip filters by that server; again, by every server.
    user.find(marker="chip-tr-box").trigger("click")
    assert chosen(user, "servers") == ["tr-box"]
    user.find(marker="chip-tr-box").trigger("click")
    assert chosen(user, "servers") == []


async def test_bulk_stop_start_remove_with_data_and_details(
    ui_app, transmission_clean, user: User
) -> None:
    d = transmission_clean
    user_id = ui_app.add_user("alice")
    tr = ui_app.add_server(user_id, **transmission_fields(d, name="tr-box"))
    services = ui_app.services
    data, info_hash = make_real_torrent(
        d.download_dir, "real data", [("a.bin", PIECE_LENGTH, True), ("b.bin", 100, True)]
    )
    await services.torrents.upload(user_id, tr, data, start=False)
    other = make_torrent(XSS)
    await services.torrents.upload(user_id, tr, other.data, start=False)
    await sign_in(user)
    row_id, xss_id = f"{tr}:{info_hash}", f"{tr}:{other.info_hash}"
    await eventually(lambda: {row_id, xss_id} <= set(ui_app.spy.rows(the_grid(user))))

    # Details of one selected torrent: general values and its files.
    await select(user, xss_id)
    await eventually(lambda: element(user, "detail-name").text == XSS)
    assert element(user, "detail-server_name").text == "tr-box (transmission)"
    await select(user, row_id)
    await eventually(lambda: element(user, "detail-name").text == "real data")
    assert element(user, "detail-info_hash").text == info_hash
    files = await eventually(lambda: element(user, "details-files").rows)
    assert [(f["path"], f["size_text"]) for f in files] == [
        ("a.bin", "16.0 KiB"),
        ("b.bin", "100 B"),
    ]
    assert element(user, "selection-count").text == "1 selected"

    user.find(marker="bulk-start").click()
    await eventually(
        lambda: ui_app.spy.rows(the_grid(user))[row_id]["state"] in ("seeding", "checking"),
        message="started",
    )
    await eventually(lambda: ui_app.spy.rows(the_grid(user))[row_id]["state"] == "seeding")
    user.find(marker="bulk-stop").click()
    await eventually(lambda: ui_app.spy.rows(the_grid(user))[row_id]["state"] == "stopped")
    await user.should_see("Stopped 1 torrent")

    user.find(marker="bulk-remove").click()
    await eventually(lambda: element(user, "remove-delete-data"))
    await user.should_see("Remove 1 torrent?")
    element(user, "remove-delete-data").value = True
    user.find(marker="remove-confirm").click()
    await eventually(lambda: row_id not in ui_app.spy.rows(the_grid(user)), message="row gone")
    await eventually(lambda: not (d.download_dir / "real data").exists(), message="data gone")
    assert xss_id in ui_app.spy.rows(the_grid(user))
    await user.should_see("Removed 1 torrent")  # said once the audit rows are written
    actions = [(a.action, a.detail) for a in services.audit.latest(user_id, 3)]
    assert actions[0] == ("torrent.remove", "delete_data=True")
    assert [a for a, _ in actions[1:]] == ["torrent.stop", "torrent.start"]
    # No untrusted string was ever turned into HTML on this page.
    assert not user._gather_elements(kind=ui.html)
    assert not user._gather_elements(kind=ui.markdown)


async def test_finished_torrent_is_notified(ui_app, transmission_clean, user: User) -> None:
    d = transmission_clean
    user_id = ui_app.add_user("alice")
    tr = ui_app.add_server(user_id, **transmission_fields(d, name="tr-box"))
    data, info_hash = make_real_torrent(d.download_dir, "done soon", [("x.bin", 5000, True)])
    # Hide the data while the torrent is added: it starts at 0 %, then a verify finds it all.
    hidden = d.download_dir / "hidden"
    (d.download_dir / "done soon").rename(hidden)
    await sign_in(user)
    await ui_app.services.torrents.upload(user_id, tr, data, start=False)
    row_id = f"{tr}:{info_hash}"
    await eventually(lambda: row_id in ui_app.spy.rows(the_grid(user)), message="row")
    await asyncio.sleep(1.5)  # a poll or two at 0 %
    assert ui_app.spy.rows(the_grid(user))[row_id]["progress"] == 0.0
    hidden.rename(d.download_dir / "done soon")
    with transmission_rpc.Client(
        host=d.host, port=d.port, username=d.username, password=d.password
    ) as client:
        client.verify_torrent(info_hash)
    await eventually(lambda: ui_app.spy.rows(the_grid(user))[row_id]["progress"] == 1.0, timeout=20)
    await user.should_see("Finished: done soon on tr-box", retries=30)


async def test_unreachable_server_keeps_stale_rows_and_its_chip_says_why(
    ui_app, transmission_clean, tmp_path, user: User
) -> None:
    user_id = ui_app.add_user("alice")
    d = transmission_clean
    ui_app.add_server(user_id, **transmission_fields(d, name="steady"))
    with running_transmission(tmp_path / "doomed") as doomed:
        doomed_id = ui_app.add_server(user_id, **transmission_fields(doomed, name="doomed"))
        torrent = make_torrent("last known")
        await ui_app.services.torrents.upload(user_id, doomed_id, torrent.data, start=False)
        await sign_in(user)
        row_id = f"{doomed_id}:{torrent.info_hash}"
        await eventually(lambda: row_id in ui_app.spy.rows(the_grid(user)), message="row")
        assert ui_app.spy.rows(the_grid(user))[row_id]["stale"] is False
        doomed.process.terminate()
        doomed.process.wait(10)
        await eventually(
            lambda: ui_app.spy.rows(the_grid(user))[row_id]["stale"] is True,
            timeout=20,
            message="row marked stale",
        )
        # The chip: a red dot, the name once, a short message; the whole story in its tooltip.
        error = await eventually(lambda: element(user, "chip-error-doomed").text, timeout=10)
        assert error == "unreachable"
        assert "td-dot--error" in element(user, "chip-dot-doomed").classes
        chip = [e.text for e in element(user, "chip-doomed") if isinstance(e, ui.label)]
        assert chip == ["doomed", "1", "unreachable"]  # the name once, on its own
        tip = element(user, "chip-tip-doomed").text
        assert tip.startswith(f"doomed: cannot connect to http://127.0.0.1:{doomed.port} ")
        assert "check that Transmission is running" in tip
        assert tip.endswith("Its torrents stay listed, greyed, until it answers again.")
        assert tip.count("doomed") == 1
        assert row_id in ui_app.spy.rows(the_grid(user))  # still shown, last known values
        assert "td-dot--connected" in element(user, "chip-dot-steady").classes
        assert not user._gather_elements(marker="chip-error-steady")
        # The details say the same, in the same spelling as the table.
        await select(user, row_id)
        state = await eventually(lambda: element(user, "detail-state").text)
        last = ui_app.spy.rows(the_grid(user))[row_id]["state"]  # stopped, or still checking
        assert state == f"Stale — server unreachable; last known: {last.capitalize()}"

        # Back: the rows turn live again, and the chip green.
        doomed.restart()
        ui_app.services.live.poke(doomed_id)  # not waiting out the failure back-off
        # (a daemon still loading its torrents may list none at first: the row may come back)
        await eventually(
            lambda: ui_app.spy.rows(the_grid(user)).get(row_id, {}).get("stale") is False,
            timeout=20,
            message="row live again",
        )
        await eventually(lambda: "td-dot--connected" in element(user, "chip-dot-doomed").classes)
        assert not user._gather_elements(marker="chip-error-doomed")
        await eventually(lambda: element(user, "detail-state").text == "Stopped")


async def test_tracker_warning_is_a_warning_and_states_agree(
    ui_app, rtorrent_clean, user: User
) -> None:
    # rTorrent with a tracker that refuses connections: the row keeps its state, carries the
    # tracker's message as `warning` (the name cell's warning marker), never as `error`.
    user_id = ui_app.add_user("alice")
    rt = ui_app.add_server(user_id, **rtorrent_scgi_fields(rtorrent_clean, name="rt-box"))
    services = ui_app.services
    running = make_torrent("warned running")
    await services.torrents.upload(user_id, rt, running.data, start=True)
    magnet_hash = random_info_hash()
    uri = magnet_for(magnet_hash, "fetching metadata") + "&tr=http%3A%2F%2F127.0.0.1%3A9%2Fa"
    await services.torrents.add(user_id, rt, uri, start=True)
    await sign_in(user)
    row_id, magnet_id = f"{rt}:{running.info_hash}", f"{rt}:{magnet_hash}"

    def warned(row_id: str) -> dict | None:
        row = ui_app.spy.rows(the_grid(user)).get(row_id)
        return row if row and row["warning"] else None

    row = await eventually(lambda: warned(row_id), message="the tracker warning in the row")
    assert (row["state"], row["warning"], row["error"]) == (
        "downloading",
        "Tracker: [Couldn't connect to server]",
        None,
    )
    magnet = await eventually(lambda: warned(magnet_id), message="the magnet's row")
    assert (magnet["name"], magnet["state"], magnet["size"], magnet["error"]) == (
        "fetching metadata",
        "metadata",
        None,
        None,
    )
    # Both are active: the header counts what the rows call active, as the filter does.
    await eventually(lambda: element(user, "total-active").text == "2 active")
    assert counts(user, "states")["Metadata"] == 1

    # The details show the state as the table spells it, the warning apart from the error.
    await select(user, row_id)
    await eventually(lambda: element(user, "detail-name").text == "warned running")
    assert element(user, "detail-state").text == "Downloading"
    assert element(user, "detail-warning").text == "Tracker: [Couldn't connect to server]"
    assert "td-warning-text" in element(user, "detail-warning").classes
    assert element(user, "detail-error").text == "—"
    assert "td-error-text" not in element(user, "detail-error").classes
    await select(user, magnet_id)
    await eventually(lambda: element(user, "detail-name").text == "fetching metadata")
    assert element(user, "detail-state").text == "Metadata"
    assert element(user, "detail-size").text == "unknown"

    # Stopped, the tracker's old message stays a warning; the state follows.
    await select(user, row_id)
    user.find(marker="bulk-stop").click()
    await eventually(lambda: ui_app.spy.rows(the_grid(user))[row_id]["state"] == "stopped")
    row = ui_app.spy.rows(the_grid(user))[row_id]
    assert (row["warning"], row["error"]) == ("Tracker: [Couldn't connect to server]", None)
    await eventually(lambda: element(user, "detail-state").text == "Stopped")
    await eventually(lambda: element(user, "total-active").text == "1 active")
