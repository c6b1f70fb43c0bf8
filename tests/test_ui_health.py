"""Server health and the table's figures on the main page (issue 10, items 3 and 5): one
notification per server transition on each page, header counts and speeds that follow the
filter beside the overall ones, "active" meaning downloading or seeding, the "No torrents match"
overlay, one state spelling and date format, the folding details panel and its Speed tab."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from nicegui import app, context, ui
from nicegui.testing import User
from nicegui.testing.user_notify import UserNotify

from tests.api_fixtures import transmission_fields
from tests.daemons.fakes import closed_port
from tests.daemons.transmission import running_transmission
from tests.test_transmission_client import make_real_torrent
from tests.test_ui_torrents import browser_filter, configured, select
from tests.torrent_factory import PIECE_LENGTH, make_torrent
from tests.ui_fixtures import (
    chosen,
    click_facet,
    element,
    eventually,
    make_row,
    sign_in,
    the_grid,
)
from torrentdesk.services.live import ServerState, TorrentChanges
from torrentdesk.ui.details import DETAILS_OPEN_KEY
from torrentdesk.ui.threads import io_bound


class PageNotify(UserNotify):
    """The simulated ui.notify, remembering which page (client) showed each message."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[tuple[str, str, str | None]] = []

    def __call__(self, message: str, **kwargs) -> None:
        super().__call__(message, **kwargs)
        self.shown.append((context.client.id, message, kwargs.get("caption")))

    def on_pages(self, prefix: str) -> list[tuple[str, str]]:
        return sorted((page, m) for page, m, _ in self.shown if m.startswith(prefix))


def header(user: User) -> tuple[str, str, str, str]:
    return tuple(element(user, f"total-{k}").text for k in ("count", "active", "down", "up"))


def server_state(server: str) -> ServerState:
    return ServerState(server, f"box-{server}", "transmission", "connected", None, 0, 0, 0, False)


@pytest.mark.daemon
async def test_a_server_going_down_and_back_is_notified_once_per_transition_on_each_page(
    ui_app, transmission_clean, tmp_path, user: User
) -> None:
    user_id = ui_app.add_user("alice")
    ui_app.add_server(user_id, **transmission_fields(transmission_clean, name="steady"))
    live = ui_app.services.live
    with running_transmission(tmp_path / "doomed") as doomed:
        doomed_id = ui_app.add_server(user_id, **transmission_fields(doomed, name="doomed"))
        notify = user.notify = PageNotify()
        await sign_in(user)
        first = user.client.id
        await user.open("/")  # a second tab of the same user: a page of its own
        second = user.client.id
        assert first != second
        poller = live._pollers[doomed_id]
        await eventually(lambda: poller.status == "connected", message="doomed polled")

        doomed.process.terminate()
        doomed.process.wait(10)
        await eventually(lambda: poller.failures >= 3, timeout=30, message="three failed polls")
        # One notification per page, however many polls failed (and none for the other).
        down = "doomed is down: unreachable"
        assert notify.on_pages("doomed") == sorted([(first, down), (second, down)])
        caption = next(c for _, m, c in notify.shown if m == down)
        assert caption == (
            f"cannot connect to http://127.0.0.1:{doomed.port} (Connection refused) — check "
            "that Transmission is running and the host and port are right. Its torrents stay "
            "listed, greyed, until it answers again."
        )

        doomed.restart()
        live.poke(doomed_id)  # not waiting out the failure back-off
        await eventually(lambda: poller.status == "connected", timeout=30, message="back")
        recovered = poller.last_poll
        await eventually(lambda: poller.last_poll > recovered + 1.5, message="two more polls")
        back = "doomed is back"
        assert notify.on_pages("doomed is back") == sorted([(first, back), (second, back)])
        assert len(notify.on_pages("doomed")) == 4
        assert not notify.on_pages("steady")


@pytest.mark.daemon
async def test_active_counts_what_the_rows_call_downloading_or_seeding_and_filters_narrow_totals(
    ui_app, transmission_clean, user: User
) -> None:
    d = transmission_clean
    user_id = ui_app.add_user("alice")
    tr = ui_app.add_server(user_id, **transmission_fields(d, name="tr-box"))
    torrents = ui_app.services.torrents
    data, seeding_hash = make_real_torrent(
        d.download_dir, "seeding one", [("s.bin", PIECE_LENGTH, True)]
    )
    await torrents.upload(user_id, tr, data, start=True)
    downloading, stopped = make_torrent("downloading one"), make_torrent("stopped one")
    await torrents.upload(user_id, tr, downloading.data, start=True)
    await torrents.upload(user_id, tr, stopped.data, start=False)
    await sign_in(user)

    def states() -> dict[str, str]:
        return {r["name"]: r["state"] for r in ui_app.spy.rows(the_grid(user)).values()}

    want = {"seeding one": "seeding", "downloading one": "downloading", "stopped one": "stopped"}
    await eventually(lambda: states() == want, timeout=20, message=f"rows {want}")
    # Idle torrents (0 B/s) that the table calls Downloading and Seeding are active.
    await eventually(lambda: header(user) == ("3 torrents", "2 active", "↓ 0 B/s", "↑ 0 B/s"))

    # One date format in the table and the details (states: tests/test_ui_format.py).
    await select(user, f"{tr}:{seeding_hash}")
    await eventually(lambda: element(user, "detail-state").text == "Seeding")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", element(user, "detail-added_at").text)

    click_facet(user, "states", "Active")
    assert header(user) == (
        "2 of 3 torrents",
        "2 of 2 active",
        "↓ 0 B/s of 0 B/s",
        "↑ 0 B/s of 0 B/s",
    )
    click_facet(user, "states", "Active")
    click_facet(user, "states", "Stopped")
    assert header(user)[:2] == ("1 of 3 torrents", "0 of 2 active")
    await user.should_not_see(marker="no-match")

    # A search that hides everything: the overlay says so and clears it all in one click.
    element(user, "search").value = "Ubuntu ISO"
    await user.should_see(marker="no-match")
    assert element(user, "no-match-detail").text == (
        "The search “Ubuntu ISO” and the state filter hide all 3 torrents."
    )
    assert header(user)[0] == "0 of 3 torrents"
    assert configured(ui_app, "filter")[-1] == browser_filter(
        states=["stopped"], words=["ubuntu", "iso"]
    )
    user.find(marker="clear-filters").click()
    await user.should_not_see(marker="no-match")
    assert element(user, "search").value == ""
    assert chosen(user, "states") == chosen(user, "servers") == []
    assert configured(ui_app, "filter")[-1] == browser_filter()
    assert header(user)[:2] == ("3 torrents", "2 active")

    click_facet(user, "servers", "tr-box")
    element(user, "search").value = "ONE load"  # every word, in name, label, hash or server
    assert header(user)[0] == "1 of 3 torrents"


async def test_the_page_is_sent_with_the_servers_it_loads(ui_app, user: User, mocker) -> None:
    """NiceGUI sends a page as soon as something on it waits for the browser (a timer): by
    then the page has its servers, or a user with servers sees "No servers yet" flash and the
    actions menu doesn't know what each server can do."""
    user_id = ui_app.add_user("alice")
    with closed_port() as port:
        ui_app.add_server(
            user_id, name="nas", server_type="transmission", host="127.0.0.1", port=port
        )
        listed = ui_app.services.servers.list

        def list_slowly(*args):
            time.sleep(0.5)  # a database under load
            return listed(*args)

        mocker.patch.object(ui_app.services.servers, "list", side_effect=list_slowly)
        await sign_in(user)
        [banner] = [e for e in user.client.elements.values() if "empty-banner" in e._markers]
        assert banner.visible is False


async def test_a_page_loading_as_the_app_stops_ends_there(mocker) -> None:
    """NiceGUI 3 answers None for a blocking call made while the app stops: the page code
    that asked is cancelled instead of reading None as the service's answer."""
    mocker.patch.object(type(app), "is_stopping", mocker.PropertyMock(return_value=True))
    called = []
    with pytest.raises(asyncio.CancelledError):
        await io_bound(called.append, "summary")
    assert called == []


async def test_totals_of_the_shown_rows_beside_all_and_the_overlay_only_when_filters_hide_rows(
    ui_app, user: User
) -> None:
    user_id = ui_app.add_user("alice")
    await sign_in(user)
    # No servers: the banner says so; a search over nothing is no "No torrents match".
    await user.should_see("No servers yet: add your rTorrent, Transmission or qBittorrent servers.")
    element(user, "search").value = "anything"
    assert header(user)[0] == "0 of 0 torrents"
    await user.should_not_see(marker="no-match")
    element(user, "search").value = ""

    rows = [
        make_row("a", 1, "downloading", download_rate=1000 * 1024, upload_rate=10),
        make_row("a", 2, "seeding", upload_rate=2048),
        make_row("a", 3, "stopped"),
        make_row("b", 4, "downloading", download_rate=256, upload_rate=100),
        make_row("b", 5, "seeding", upload_rate=7, error="No data found"),
    ]
    live = ui_app.services.live
    live.publish(
        user_id, TorrentChanges(added=rows, servers=[server_state("a"), server_state("b")])
    )
    await eventually(lambda: header(user)[0] == "5 torrents")
    assert header(user) == ("5 torrents", "4 active", "↓ 1000 KiB/s", "↑ 2.11 KiB/s")

    click_facet(user, "servers", "box-a")
    assert header(user) == (
        "3 of 5 torrents",
        "2 of 4 active",
        "↓ 1000 KiB/s of 1000 KiB/s",
        "↑ 2.01 KiB/s of 2.11 KiB/s",
    )
    # Live changes move both figures, row by row.
    live.publish(
        user_id,
        TorrentChanges(
            updated=[rows[0] | {"state": "stopped", "download_rate": 0, "upload_rate": 0}],
            removed=[rows[3]["id"]],
        ),
    )
    await eventually(lambda: header(user)[0] == "3 of 4 torrents")
    assert header(user) == (
        "3 of 4 torrents",
        "1 of 2 active",
        "↓ 0 B/s of 0 B/s",
        "↑ 2.00 KiB/s of 2.01 KiB/s",
    )
    # A torrent with an error keeps its state (the error is a marker beside its name): still
    # active, and kept by "Errors & stale".
    click_facet(user, "servers", "box-a")
    click_facet(user, "states", "Errors & stale")
    assert header(user)[:2] == ("1 of 4 torrents", "1 of 2 active")


async def test_details_fold_away_for_good_and_the_speed_tab_shows_the_torrent_recent_speed(
    ui_app, user: User
) -> None:
    user_id = ui_app.add_user("alice")
    await sign_in(user)
    live = ui_app.services.live
    row = make_row("a", 1, "downloading", download_rate=1000)
    live.publish(user_id, TorrentChanges(added=[row], servers=[server_state("a")]))
    await eventually(lambda: row["id"] in ui_app.spy.rows(the_grid(user)))
    await select(user, row["id"])
    user.find(marker="tab-speed").click()
    await eventually(lambda: element(user, "recent-title").text == "torrent 1 · last 10 minutes")
    for rate in (3000, 5000):
        live.publish(user_id, TorrentChanges(updated=[row | {"download_rate": rate}]))
    chart = element(user, "recent-chart")

    def downloads() -> list[int]:
        return [v for _, v in chart.options["series"][0]["data"]]

    # From the page's live updates only: since the page opened, then each change, up to now.
    await eventually(lambda: downloads() == [0, 1000, 3000, 5000, 5000], message=downloads)
    axis = chart.options["yAxis"]
    assert (axis["min"], axis["max"], axis["interval"]) == (0, 5 * 1024, 1024)
    assert "'KiB'" in axis["axisLabel"][":formatter"]
    server_axis = element(user, "speed-chart").options["yAxis"]
    assert server_axis["interval"] > 0 and ":formatter" in server_axis["axisLabel"]

    # Folded: only the tab bar is left and the table gets the height; remembered per user.
    user.find(marker="details-toggle").click()
    await eventually(lambda: "td-details--collapsed" in element(user, "details").classes)
    await user.should_not_see(marker="recent-chart")
    with user:
        from nicegui import app

        assert app.storage.user[DETAILS_OPEN_KEY] is False
    await user.open("/")
    assert "td-details--collapsed" in element(user, "details").classes
    await user.should_not_see(marker="detail-name")
    user.find(marker="tab-general").click()  # a tab click unfolds it
    await eventually(lambda: "td-details--collapsed" not in element(user, "details").classes)
    await user.should_see("Select a torrent to see its details.")
    assert not user._gather_elements(kind=ui.html)
