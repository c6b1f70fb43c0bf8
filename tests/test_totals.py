"""The rules behind the header's figures and the Speed tab, without a page: the state a row
shows, which rows a filter keeps, totals kept row by row, the header's texts, speed axes with
readable ticks, and a torrent's recent speed kept from live updates."""

from __future__ import annotations

import pytest

from tests.ui_fixtures import make_row
from torrentdesk.services.notices import down_detail
from torrentdesk.services.totals import RowFilter, Totals, TotalsTracker, search_words, shown_state
from torrentdesk.ui.details import RecentSpeeds
from torrentdesk.ui.format import row_state, speed_axis, totals_texts


def test_the_shown_state_is_stale_while_the_server_is_down_else_the_state() -> None:
    row = make_row("a", 1, "seeding")
    assert (shown_state(row), row_state(row)) == ("seeding", "Seeding")
    assert row_state(row | {"error": "No data found"}) == "Seeding"  # a marker, not a state
    assert row_state(row | {"error": "No data found", "stale": True}) == "Stale"
    assert row_state(make_row("a", 2, "metadata")) == "Metadata"


@pytest.mark.parametrize(
    ("row_filter", "kept"),
    [
        (RowFilter(), [1, 2, 3, 4, 5]),
        (RowFilter(server="b"), [4, 5]),
        (RowFilter(state="active"), [1, 2, 4]),  # downloading or seeding, whatever the speed
        (RowFilter(state="seeding"), [2, 4]),  # the errored seed too, not the stale one
        (RowFilter(state="error"), [4, 5]),  # errors and stale
        (RowFilter(state="complete"), [2, 4]),
        (RowFilter(words=search_words("TORRENT 1")), [1]),
        (RowFilter(words=search_words("box-b")), [4, 5]),  # the server's name
        (RowFilter(words=search_words("linux")), [3]),  # the label
        (RowFilter(words=search_words(f"{5:040x}")), [5]),  # the hash
        (RowFilter(server="a", state="stopped", words=("torrent",)), [3]),
    ],
)
def test_a_filter_keeps_the_rows_the_table_shows(row_filter, kept) -> None:
    rows = [
        make_row("a", 1, "downloading"),
        make_row("a", 2, "seeding"),
        make_row("a", 3, "stopped", labels=["linux", "iso"]),
        make_row("b", 4, "seeding", error="No data found"),
        make_row("b", 5, "downloading", stale=True),
    ]
    assert [int(r["info_hash"], 16) for r in rows if row_filter.passes(r)] == kept


def test_totals_follow_each_row_change_and_a_new_filter() -> None:
    one = make_row("a", 1, "downloading", download_rate=100, upload_rate=1)
    two = make_row("b", 2, "seeding", upload_rate=50)
    tracker = TotalsTracker()
    tracker.reset([one, two], RowFilter(server="a"))
    assert tracker.overall == Totals(2, 2, 100, 51)
    assert tracker.shown == Totals(1, 1, 100, 1)
    # The server goes stale: counted, not active, moving nothing.
    stale = one | {"stale": True}
    tracker.replace(one, stale)
    assert tracker.overall == Totals(2, 1, 0, 50)
    assert tracker.shown == Totals(1, 0, 0, 0)
    tracker.replace(two, None)
    tracker.replace(None, make_row("a", 3, "stopped"))
    assert tracker.overall == Totals(2, 0, 0, 0)
    assert tracker.shown == Totals(2, 0, 0, 0)
    tracker.reset([one, two])  # the same filter, all rows again
    assert tracker.shown == Totals(1, 1, 100, 1)


def test_the_header_says_x_of_y_only_with_a_filter_on() -> None:
    overall = Totals(340, 12, int(3.4 * 1024**2), 0)
    shown = Totals(12, 3, int(1.2 * 1024**2), 0)
    assert totals_texts(overall) == {
        "count": "340 torrents",
        "active": "12 active",
        "down": "↓ 3.40 MiB/s",
        "up": "↑ 0 B/s",
    }
    assert totals_texts(shown, overall) == {
        "count": "12 of 340 torrents",
        "active": "3 of 12 active",
        "down": "↓ 1.20 MiB/s of 3.40 MiB/s",
        "up": "↑ 0 B/s of 0 B/s",
    }
    assert totals_texts(Totals(1, 0, 0, 0))["count"] == "1 torrent"


@pytest.mark.parametrize(
    ("peak", "unit", "step", "steps"),
    [
        (0, "KiB", 0.2, 5),  # nothing moved: 0 to 1 KiB/s
        (1, "B", 1, 1),
        (3, "B", 1, 3),  # not "1 B/s, 1 B/s, 1 B/s": whole bytes
        (100, "B", 20, 5),
        (1500, "KiB", 0.5, 3),
        (700 * 1024, "KiB", 200, 4),
        (1.3 * 1024**2, "MiB", 0.5, 3),
        (5e9, "GiB", 1, 5),
    ],
)
def test_a_speed_axis_has_a_few_round_steps_in_one_unit(peak, unit, step, steps) -> None:
    axis = speed_axis(peak)
    scale = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}[unit]
    assert axis["axisLabel"][":formatter"] == f"v => torrentdesk.speedTick(v, {scale}, '{unit}')"
    assert axis["interval"] == pytest.approx(step * scale)
    assert axis["max"] == pytest.approx(steps * step * scale)
    assert axis["min"] == 0 and axis["max"] >= peak


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_torrents_recent_speed_is_kept_from_the_live_updates() -> None:
    clock = Clock()
    recent = RecentSpeeds(window=60, clock=clock)
    idle = make_row("a", 1, "downloading")
    clock.now += 5
    # No update: its speed has not changed since the page opened.
    assert recent.points(idle) == [(1000, 0, 0), (1005, 0, 0)]
    moving = idle | {"download_rate": 300, "upload_rate": 5}
    recent.record(idle, moving)
    clock.now += 5
    faster = moving | {"download_rate": 900}
    recent.record(moving, faster)
    recent.record(faster, faster | {"stale": True})  # an unreachable server says nothing
    clock.now += 5
    assert recent.points(faster) == [
        (1000, 0, 0),
        (1005, 300, 5),
        (1010, 900, 5),
        (1015, 900, 5),
    ]
    clock.now += 60  # older than the window: it starts from the value it had then
    assert recent.points(faster) == [(1015, 900, 5), (1075, 900, 5)]
    recent.forget(faster["id"])
    assert recent.points(faster)[0] == (1015, 900, 5)
    assert not recent.trails


@pytest.mark.parametrize(
    ("detail", "caption"),
    [
        ("no answer within 2 s — check the server", "no answer within 2 s — check the server."),
        (
            "is rTorrent running and is the port right?",
            "is rTorrent running and is the port right?",
        ),
    ],
)
def test_a_down_server_says_why_then_what_the_user_sees(detail, caption) -> None:
    assert down_detail(detail) == (
        f"{caption} Its torrents stay listed, greyed, until it answers again."
    )
