"""The rules behind the header's figures and the Speed tab, without a page: the state a row
shows, which rows a filter keeps, totals kept row by row, the header's texts, speed axes with
readable ticks, and a torrent's recent speed kept from live updates."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

import pytest

from tests.ui_fixtures import make_row
from torrentdesk.services.notices import down_detail
from torrentdesk.services.totals import (
    FACETS,
    NO_LABEL,
    NO_TRACKER,
    RowFilter,
    Totals,
    TotalsTracker,
    facet_keys,
    search_words,
    shown_state,
)
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
        (RowFilter(servers={"b"}), [4, 5]),
        (RowFilter(states={"active"}), [1, 2, 4]),  # downloading or seeding, whatever the speed
        (RowFilter(states={"seeding"}), [2, 4]),  # the errored seed too, not the stale one
        (RowFilter(states={"error"}), [4, 5]),  # errors and stale
        (RowFilter(states={"complete"}), [2, 4]),
        (RowFilter(words=search_words("TORRENT 1")), [1]),
        (RowFilter(words=search_words("box-b")), [4, 5]),  # the server's name
        (RowFilter(words=search_words("linux")), [3]),  # the label
        (RowFilter(words=search_words(f"{5:040x}")), [5]),  # the hash
        (RowFilter(servers={"a"}, states={"stopped"}, words=("torrent",)), [3]),
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
    tracker.reset([one, two], RowFilter(servers={"a"}))
    assert tracker.overall == Totals(2, 2, 100, 51, 2000)
    assert tracker.shown == Totals(1, 1, 100, 1, 1000)
    # The server goes stale: counted, not active, moving nothing.
    stale = one | {"stale": True}
    tracker.replace(one, stale)
    assert tracker.overall == Totals(2, 1, 0, 50, 2000)
    assert tracker.shown == Totals(1, 0, 0, 0, 1000)
    tracker.replace(two, None)
    tracker.replace(None, make_row("a", 3, "stopped"))
    assert tracker.overall == Totals(2, 0, 0, 0, 2000)
    assert tracker.shown == Totals(2, 0, 0, 0, 2000)
    tracker.reset([one, two])  # the same filter, all rows again
    assert tracker.shown == Totals(1, 1, 100, 1, 1000)


def test_the_header_says_x_of_y_only_with_a_filter_on() -> None:
    overall = Totals(340, 12, int(3.4 * 1024**2), 0, 5 * 1024**4)
    shown = Totals(12, 3, int(1.2 * 1024**2), 0, 3 * 1024**3)
    assert totals_texts(overall) == {
        "count": "340 torrents",
        "active": "12 active",
        "down": "↓ 3.40 MiB/s",
        "up": "↑ 0 B/s",
        "size": "5.00 TiB",
    }
    assert totals_texts(shown, overall) == {
        "count": "12 of 340 torrents",
        "active": "3 of 12 active",
        "down": "↓ 1.20 MiB/s of 3.40 MiB/s",
        "up": "↑ 0 B/s of 0 B/s",
        "size": "3.00 GiB of 5.00 TiB",
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


def test_a_tracker_host_is_searched_and_rows_without_labels_or_tracker_have_a_value() -> None:
    rows = [
        make_row("a", 1, labels=["linux"], tracker="tracker.example.org"),
        make_row("a", 2, labels=[], tracker=None),
        make_row("b", 3, labels=["linux", "iso"], tracker="open.tracker.io"),
    ]

    def kept(**chosen) -> list[int]:
        return [int(r["info_hash"], 16) for r in rows if RowFilter(**chosen).passes(r)]

    assert kept(words=search_words("EXAMPLE.org")) == [1]
    assert kept(labels={NO_LABEL}) == [2]
    assert kept(labels={NO_LABEL, "iso"}) == [2, 3]  # one section: either value
    assert kept(trackers={NO_TRACKER}) == [2]
    assert kept(labels={"linux"}, trackers={"open.tracker.io"}) == [3]  # sections: both
    assert kept(labels={"linux"}, servers={"b"}, words=("tracker",)) == [3]
    assert facet_keys(make_row("a", 4, "seeding", error="x", labels=["x", "x"])) == (
        ("seeding", "active", "complete", "error"),
        ("a",),
        ("x",),
        (NO_TRACKER,),
    )


def test_facet_counts_are_what_each_value_would_show_under_the_other_sections() -> None:
    rows = [
        make_row("a", 1, "downloading", labels=["linux"], tracker="t.org"),
        make_row("a", 2, "seeding", labels=["linux", "iso"], tracker="t.org"),
        make_row("b", 3, "seeding", labels=[], tracker="u.net"),
        make_row("b", 4, "stopped", labels=["iso"], tracker=None),
    ]
    tracker = TotalsTracker()
    tracker.reset(rows)
    facets = tracker.facets
    assert facets.matching == facets.overall  # nothing chosen: every value counts all rows
    assert facets.overall["labels"] == {"linux": 2, "iso": 2, NO_LABEL: 1}
    assert facets.overall["trackers"] == {"t.org": 2, "u.net": 1, NO_TRACKER: 1}

    tracker.set_filter(RowFilter(states={"seeding"}))
    assert tracker.shown.count == 2
    # The states' own figures stay (another state would show that many); the others narrow.
    assert facets.matching["states"] == facets.overall["states"]
    assert facets.matching["servers"] == {"a": 1, "b": 1}
    assert facets.matching["labels"] == {"linux": 1, "iso": 1, NO_LABEL: 1}
    tracker.set_filter(RowFilter(states={"seeding"}, labels={"iso"}))
    assert tracker.shown.count == 1
    assert facets.matching["labels"] == {"linux": 1, "iso": 1, NO_LABEL: 1}  # under Seeding
    assert facets.matching["states"] == {"seeding": 1, "active": 1, "complete": 1, "stopped": 1}
    assert facets.matching["trackers"] == {"t.org": 1}
    # A row's labels change: its figures move at once.
    tracker.replace(rows[3], rows[3] | {"labels": ["linux"]})
    assert facets.overall["labels"] == {"linux": 3, "iso": 1, NO_LABEL: 1}
    assert facets.matching["states"] == {"seeding": 1, "active": 1, "complete": 1}


def _reference(rows: list[dict], row_filter: RowFilter) -> tuple:
    """Everything a tracker keeps, counted from scratch."""
    overall, shown = Totals(), Totals()
    counted = {name: Counter() for name in FACETS}
    matching = {name: Counter() for name in FACETS}
    for row in rows:
        keys = facet_keys(row)
        overall.add(row)
        if row_filter.passes(row):
            shown.add(row)
        for name, values in zip(FACETS, keys, strict=True):
            counted[name].update(values)
            if dataclasses.replace(row_filter, **{name: ()}).passes(row):
                matching[name].update(values)
    return overall, shown, counted, matching


def test_the_tracker_keeps_every_figure_right_through_row_changes_and_new_filters() -> None:
    rng = random.Random(5)

    def row(n: int) -> dict:
        return make_row(
            rng.choice("ab"),
            n,
            rng.choice(["downloading", "seeding", "stopped", "metadata"]),
            labels=rng.choice([[], ["linux"], ["linux", "iso"], ["tv"]]),
            tracker=rng.choice([None, "t.org", "u.net"]),
            stale=rng.random() < 0.2,
            download_rate=rng.randrange(1000),
            name=rng.choice(["Debian", "Ubuntu ISO", "Deb sources", "Arch"]) + f" {n}",
        )

    def random_filter() -> RowFilter:
        return RowFilter(
            states=rng.sample(["seeding", "active", "error", "stopped"], rng.randrange(3)),
            servers=rng.sample(["a", "b"], rng.randrange(2)),
            labels=rng.sample([NO_LABEL, "linux", "iso", "tv"], rng.randrange(3)),
            trackers=rng.sample([NO_TRACKER, "t.org", "u.net"], rng.randrange(2)),
            words=search_words(rng.choice(["", "deb", "debi", "debian", "d", "iso 1", "zz"])),
        )

    rows = {r["id"]: r for r in (row(n) for n in range(60))}
    tracker = TotalsTracker()
    tracker.reset(rows.values(), random_filter())
    for step in range(300):
        if step % 3 == 0:
            tracker.set_filter(random_filter())
        elif step % 3 == 1:  # typing on, or back: the search alone changes
            words = rng.choice(["d", "de", "deb", "debi", "debian", "debian 1", ""])
            tracker.set_filter(dataclasses.replace(tracker.filter, words=search_words(words)))
        else:  # live rows: added, changed, removed
            n = rng.randrange(80)
            new = row(n)
            old = next((r for r in rows.values() if r["info_hash"] == new["info_hash"]), None)
            if old is not None and rng.random() < 0.3:
                new = None
            tracker.replace(old, new)
            if old is not None:
                del rows[old["id"]]
            if new is not None:
                rows[new["id"]] = new
        overall, shown, counted, matching = _reference(list(rows.values()), tracker.filter)
        assert (tracker.overall, tracker.shown) == (overall, shown), step
        assert tracker.facets.overall == {k: dict(v) for k, v in counted.items()}, step
        assert tracker.facets.matching == {k: dict(v) for k, v in matching.items()}, step


def test_a_reset_without_a_filter_counts_as_row_by_row_and_keeps_following_changes() -> None:
    rng = random.Random(8)
    rows = [
        make_row(
            rng.choice("abc"),
            n,
            rng.choice(["downloading", "seeding", "stopped", "metadata", "checking", "odd"]),
            labels=rng.choice([[], ["linux"], ["linux", "iso"], ["iso", "iso"]]),
            tracker=rng.choice([None, "t.org"]),
            stale=rng.random() < 0.2,
            error=rng.choice([None, "No data"]),
            progress=rng.choice([0.5, 1.0]),
            download_rate=rng.randrange(1000),
            upload_rate=rng.randrange(1000),
        )
        for n in range(500)
    ]
    fast, slow = TotalsTracker(), TotalsTracker()
    fast.reset(rows)  # every page starts without a filter: counted per combination
    for row in rows:
        slow.replace(None, row)
    overall, shown, counted, matching = _reference(rows, RowFilter())
    for tracker in (fast, slow):
        assert (tracker.overall, tracker.shown) == (overall, shown)
        assert tracker.facets.overall == {k: dict(v) for k, v in counted.items()}
        assert tracker.facets.matching == {k: dict(v) for k, v in matching.items()}
    # Then row changes and a filter move the figures as for a tracker filled row by row.
    for tracker in (fast, slow):
        tracker.replace(rows[0], rows[0] | {"state": "seeding", "labels": ["tv"]})
        tracker.replace(rows[1], None)
        tracker.set_filter(RowFilter(labels={"tv", "iso"}, states={"seeding"}))
    assert (fast.overall, fast.shown) == (slow.overall, slow.shown)
    assert fast.facets.overall == slow.facets.overall
    assert fast.facets.matching == slow.facets.matching
