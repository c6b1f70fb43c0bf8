"""The daily paths on the page (NiceGUI `user` fixture): the last saved view restored on open,
a link handed to /add opening the add dialog pre-filled, Space's start-or-stop rule, and a
finished torrent's system notification script."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from nicegui.testing import User

from tests.api_fixtures import transmission_fields
from tests.torrent_factory import magnet_for, random_info_hash
from tests.ui_fixtures import chosen, element, eventually, sign_in
from torrentdesk.services.notices import Notice
from torrentdesk.services.views import ViewState
from torrentdesk.ui.from_outside import link_from_outside
from torrentdesk.ui.keyboard import toggle_action
from torrentdesk.ui.notifications import Notifier


async def test_the_last_used_view_is_restored_on_open(ui_app, user: User) -> None:
    user_id = ui_app.add_user("alice")
    views = ui_app.services.views
    views.save(user_id, "other", ViewState(search="ignored"))
    state = ViewState.from_dict(
        {
            "filters": {"states": ["stopped"], "labels": ["linux"]},
            "search": "debian",
            "sort": [{"column": "size", "direction": "desc"}],
            "hidden": ["ratio", "no_such_column"],
        }
    )
    views.save(user_id, "Linux ISOs", state)
    await sign_in(user)
    assert element(user, "search").value == "debian"
    assert chosen(user, "states") == ["Stopped"]
    assert chosen(user, "labels") == ["linux"]
    assert element(user, "views-button").text == "Linux ISOs"
    # The sort and the hidden columns reach the browser's grid (unknown columns left out).
    await eventually(lambda: any("setHidden([\"ratio\"])" in s for s in ui_app.spy.scripts))
    applied = [a for _, name, a in ui_app.spy.calls if name == "applyColumnState"]
    expected = [{"colId": "size", "sort": "desc", "sortIndex": 0}]
    assert applied and applied[-1][0]["state"] == expected


async def test_a_link_from_outside_opens_the_add_dialog_prefilled(
    ui_app, transmission_clean, user: User
) -> None:
    user_id = ui_app.add_user("alice")
    ui_app.add_server(user_id, **transmission_fields(transmission_clean, name="nas"))
    await sign_in(user)
    magnet = magnet_for(random_info_hash(), "from elsewhere")
    await user.open(f"/add?uri={quote(magnet, safe='')}")
    await eventually(lambda: element(user, "add-links").value == magnet, message="pre-filled")
    # Shown once: a reload opens no dialog again.
    await user.open("/")
    assert element(user, "add-links").value in ("", None)


@pytest.mark.parametrize(
    ("states", "action"),
    [
        (["downloading", "seeding"], "stop"),
        (["downloading", "stopped"], "start"),
        (["stopped"], "start"),
        (["metadata", "checking", "queued"], "stop"),
        ([], None),
    ],
)
def test_space_starts_unless_everything_runs(states, action):
    assert toggle_action([{"state": s} for s in states]) == action


def test_a_stale_row_counts_as_not_running():
    assert toggle_action([{"state": "seeding", "stale": True}]) == "start"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("magnet:?xt=urn:btih:" + "a" * 40, True),
        ("https://example.org/x.torrent", True),
        ("javascript:alert(1)", False),
        ("", False),
        ("magnet:?" + "x" * 20000, False),
    ],
)
def test_only_links_come_from_outside(text, kept):
    assert (link_from_outside(text) is not None) == kept


async def test_a_finished_torrent_also_asks_for_a_system_notification(ui_app, user: User):
    ui_app.add_user("alice")
    await sign_in(user)
    with user.client:
        notifier = Notifier()
        notifier.show(Notice("torrent_finished", "positive", "Finished: x", "on nas"))
        notifier.show(Notice("server_down", "negative", "nas is down", "why"))
    scripts = [s for s in ui_app.spy.scripts if "systemNotify" in s]
    assert len(scripts) == 1 and '"Finished: x", "on nas"' in scripts[0]
