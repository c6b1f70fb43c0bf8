"""The filter panel against real daemons (Transmission and rTorrent over SCGI): live counts per
state, server, label and tracker; values OR within a section, sections AND, the search on top;
each value's count is what it would show under the other sections and the search; counts move
when a torrent's labels change on its server; the header and the browser's filter follow."""

from __future__ import annotations

import bencodepy
import pytest
from nicegui import ui
from nicegui.testing import User

from tests.test_ui_health import header
from tests.test_ui_torrents import browser_filter, configured
from tests.torrent_factory import SyntheticTorrent, make_torrent
from tests.ui_fixtures import (
    chosen,
    click_facet,
    counts,
    element,
    eventually,
    facets,
    sign_in,
    the_grid,
)
from torrentdesk.services.actions import Target

pytestmark = pytest.mark.daemon
XSS = "<img src=x onerror=alert(1)>"
# Loopback trackers only: nothing listens there, and nothing leaves the machine.
ONE, TWO = "http://127.0.0.1:9/announce", "http://127.0.0.2:9/announce"


def trackerless(name: str) -> SyntheticTorrent:
    """A torrent without any tracker (its info, and so its hash, as made)."""
    torrent = make_torrent(name)
    meta = bencodepy.decode(torrent.data)
    del meta[b"announce"]
    return SyntheticTorrent(bencodepy.encode(meta), torrent.info_hash, name, torrent.size)


NO_STATE = {
    "Downloading": 0,
    "Seeding": 0,
    "Completed": 0,
    "Stopped": 0,
    "Active": 0,
    "Checking": 0,
    "Queued": 0,
    "Metadata": 0,
    "Errors & stale": 0,
}


def states(**shown: int) -> dict[str, int]:
    return NO_STATE | {name.replace("_", " "): n for name, n in shown.items()}


async def test_counts_and_combinations_of_states_servers_labels_trackers_and_search(
    ui_app, two_servers, user: User
) -> None:
    user_id, tr, rt = two_servers
    torrents = ui_app.services.torrents
    alpha = make_torrent("alpha", tracker=ONE)
    beta = make_torrent("beta", tracker=TWO)
    gamma = trackerless("gamma")
    delta = make_torrent("delta", tracker=ONE)
    epsilon = make_torrent("epsilon", tracker=TWO)
    await torrents.upload(user_id, tr, alpha.data, start=False, labels=["linux", "iso"])
    await torrents.upload(user_id, tr, beta.data, start=True)
    await torrents.upload(user_id, tr, gamma.data, start=False, labels=["Ünï code"])
    await torrents.upload(user_id, rt, delta.data, start=True, labels=["linux"])
    await torrents.upload(user_id, rt, epsilon.data, start=False)
    await sign_in(user)

    # Nothing chosen: every value counts all its rows. "(no label)" and "(no tracker)" first.
    want = states(Downloading=2, Stopped=3, Active=2)
    await eventually(lambda: counts(user, "states") == want, timeout=30, message="states")
    assert counts(user, "servers") == {"rt-box": 2, "tr-box": 3}
    assert counts(user, "labels") == {"(no label)": 2, "iso": 1, "linux": 2, "Ünï code": 1}
    assert counts(user, "trackers") == {"(no tracker)": 1, "127.0.0.1": 2, "127.0.0.2": 2}
    assert header(user)[:2] == ("5 torrents", "2 active")
    await user.should_not_see(marker="facets-clear-all")

    # One label: the other sections count what is left; the labels' own figures stay.
    click_facet(user, "labels", "linux")
    assert header(user)[:2] == ("2 of 5 torrents", "1 of 2 active")
    assert counts(user, "labels") == {"(no label)": 2, "iso": 1, "linux": 2, "Ünï code": 1}
    assert counts(user, "states") == states(Downloading=1, Stopped=1, Active=1)
    assert counts(user, "servers") == {"rt-box": 1, "tr-box": 1}
    assert counts(user, "trackers") == {"(no tracker)": 0, "127.0.0.1": 2, "127.0.0.2": 0}
    assert chosen(user, "labels") == ["linux"]
    assert configured(ui_app, "filter")[-1] == browser_filter(labels=["linux"])

    # A second value of the same section: either one.
    click_facet(user, "labels", "(no label)")
    assert header(user)[0] == "4 of 5 torrents"
    assert counts(user, "trackers") == {"(no tracker)": 0, "127.0.0.1": 2, "127.0.0.2": 2}
    # Another section: both.
    click_facet(user, "servers", "tr-box")
    assert header(user)[0] == "2 of 5 torrents"  # alpha (linux), beta (no label)
    assert counts(user, "labels") == {"(no label)": 1, "iso": 1, "linux": 1, "Ünï code": 1}
    assert counts(user, "servers") == {"rt-box": 2, "tr-box": 2}
    assert counts(user, "states") == states(Downloading=1, Stopped=1, Active=1)
    click_facet(user, "states", "Stopped")
    assert header(user)[:2] == ("1 of 5 torrents", "0 of 2 active")  # alpha
    assert counts(user, "trackers") == {"(no tracker)": 0, "127.0.0.1": 1, "127.0.0.2": 0}
    assert configured(ui_app, "filter")[-1] == browser_filter(
        states=["stopped"], servers=[tr], labels=["", "linux"]
    )
    assert element(user, "filters-badge").text == "4"  # the phones' Filters button

    # The search on top, in names, labels and tracker hosts; the figures follow it.
    element(user, "search").value = "ALPHA"
    assert header(user)[0] == "1 of 5 torrents"
    assert counts(user, "labels") == {"(no label)": 0, "iso": 1, "linux": 1, "Ünï code": 0}
    element(user, "search").value = "127.0.0.2"
    assert header(user)[0] == "0 of 5 torrents"
    await user.should_see(marker="no-match")
    assert element(user, "no-match-detail").text == (
        "The search “127.0.0.2”, the state filter, the server filter and the label filter "
        "hide all 5 torrents."
    )
    # Beta would show, had it not been running rather than stopped.
    assert counts(user, "states") == states(Downloading=1, Active=1)
    assert counts(user, "labels") == {"(no label)": 0, "iso": 0, "linux": 0, "Ünï code": 0}

    # Clear one section, then all; the search stays until the overlay clears everything.
    user.find(marker="facets-clear-states").click()
    assert chosen(user, "states") == []
    assert header(user)[0] == "1 of 5 torrents"  # beta
    user.find(marker="facets-clear-all").click()
    assert chosen(user, "labels") == chosen(user, "servers") == []
    assert header(user)[0] == "2 of 5 torrents"  # beta and epsilon on 127.0.0.2
    assert configured(ui_app, "filter")[-1] == browser_filter(words=["127.0.0.2"])
    click_facet(user, "trackers", "(no tracker)")
    await user.should_see(marker="no-match")
    user.find(marker="clear-filters").click()
    await user.should_not_see(marker="no-match")
    assert element(user, "search").value == "" and chosen(user, "trackers") == []
    assert header(user)[:2] == ("5 torrents", "2 active")
    assert configured(ui_app, "filter")[-1] == browser_filter()
    # The grid holds every row all along: the browser filters them by the same rules.
    assert len(ui_app.spy.rows(the_grid(user))) == 5


async def test_counts_follow_a_label_change_live_and_labels_are_text(
    ui_app, two_servers, user: User
) -> None:
    user_id, tr, rt = two_servers
    torrents = ui_app.services.torrents
    one, two = make_torrent("one on tr", tracker=ONE), make_torrent("two on rt", tracker=ONE)
    await torrents.upload(user_id, tr, one.data, start=False, labels=["linux"])
    await torrents.upload(user_id, rt, two.data, start=False)
    await sign_in(user)
    await eventually(
        lambda: counts(user, "labels") == {"(no label)": 1, "linux": 1}, message="labels"
    )
    click_facet(user, "labels", "linux")
    assert header(user)[0] == "1 of 2 torrents"
    calls = len(ui_app.spy.calls)

    # rTorrent's torrent gets the label (and an untrusted one) on its server: the figures and
    # the header follow the poll's delta, and a new value is listed.
    results = await torrents.apply(
        user_id, "set_labels", [Target(rt, two.info_hash)], {"labels": ["linux", XSS]}
    )
    assert [r.ok for r in results] == [True]
    await eventually(
        lambda: counts(user, "labels") == {"linux": 2, XSS: 1},
        timeout=20,
        message="the new labels counted",
    )
    assert header(user)[0] == "2 of 2 torrents"
    assert counts(user, "servers") == {"rt-box": 1, "tr-box": 1}
    # Live: only transactions reached the grid, never a new fill.
    grid = the_grid(user)
    later = [name for grid_id, name, _ in ui_app.spy.calls[calls:] if grid_id == grid.id]
    assert later and set(later) == {"applyTransaction"}

    # Taken off again: the chosen value stays listed (at 0) until it is unchosen.
    await torrents.apply(
        user_id,
        "set_labels",
        [Target(tr, one.info_hash), Target(rt, two.info_hash)],
        {"labels": []},
    )
    await eventually(
        lambda: facets(user, "labels") == {"(no label)": (2, False), "linux": (0, True)},
        timeout=20,
        message="labels gone",
    )
    assert header(user)[0] == "0 of 2 torrents"
    click_facet(user, "labels", "linux")
    assert counts(user, "labels") == {"(no label)": 2}
    assert header(user)[0] == "2 torrents"
    # The label was text all along: no HTML element on the page.
    assert not user._gather_elements(kind=ui.html)
    assert not user._gather_elements(kind=ui.markdown)
