"""The cross-server UI (SPEC §11): the add rules editor, starting a transfer from the torrent
menu, and the transfers list — against real daemons, read back from the services."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from tests.test_ui_actions import two_torrents
from tests.test_ui_torrents import select
from tests.ui_fixtures import element, eventually, sign_in

pytestmark = pytest.mark.daemon


async def test_rules_are_edited_and_saved(ui_app, two_servers, user: User) -> None:
    user_id, tr, rt = two_servers
    await sign_in(user)
    user.find(marker="menu-rules").click()
    await user.should_see("No rules: adds must name a server.")
    user.find(marker="rules-add").click()
    element(user, "rule-0-tracker").value = "linux.example"
    element(user, "rule-0-min_mib").value = 1.5
    element(user, "rule-0-servers").value = [rt]
    element(user, "rule-0-labels").value = ["linux"]
    element(user, "rule-0-dir").value = "/srv/linux"
    user.find(marker="rules-add").click()
    element(user, "rule-1-kind").value = "most_free_space"
    element(user, "rule-1-servers").value = [tr, rt]
    user.find(marker="rules-save").click()
    await user.should_see("2 rules saved")
    assert ui_app.services.torrents.rules.get(user_id) == [
        {
            "match": {"tracker": "linux.example", "min_size": 1572864},
            "target": {"server_ids": [rt]},
            "labels": ["linux"],
            "download_dir": "/srv/linux",
        },
        {"match": {}, "target": {"most_free_space": [tr, rt]}, "labels": [], "download_dir": None},
    ]
    # A rule without servers is refused, saying which.
    dialog = element(user, "rules-dialog")
    await eventually(lambda: not dialog.value, message="the editor closed")
    user.find(marker="menu-rules").click()
    await eventually(lambda: dialog.value, message="the editor open again")
    element(user, "rule-1-servers").value = []
    user.find(marker="rules-save").click()
    await user.should_see("rules[1].target", retries=50)
    assert len(ui_app.services.torrents.rules.get(user_id)[1]["target"]["most_free_space"]) == 2


async def test_a_transfer_starts_from_the_menu_and_shows_in_the_list(
    ui_app, two_servers, user: User
) -> None:
    user_id, tr, rt = two_servers
    ids, tr_hash, _ = await two_torrents(ui_app, two_servers, user)
    await select(user, ids[0])
    user.find(marker="action-transfer").click()
    # Every other server is offered, not the torrent's own.
    await eventually(lambda: element(user, "transfer-server").options == {rt: "rt-box"})
    element(user, "transfer-mode").value = "copy"
    user.find(marker="transfer-start").click()
    await user.should_see("1 transfer started")
    [job] = ui_app.services.transfers.list(user_id)
    assert (job.source_id, job.target_id, job.info_hash) == (tr, rt, tr_hash)
    user.find(marker="menu-transfers").click()
    table = await eventually(lambda: element(user, "transfers-table").rows and element(
        user, "transfers-table"
    ))
    [row] = table.rows
    assert (row["name"], row["route"], row["mode"]) == ("td-menu-tr", "tr-box → rt-box", "Copy")
    # It settles (its data is not there: the target keeps waiting) or fails; either way the
    # list says its state.
    await eventually(
        lambda: any(
            text in str(element(user, "transfers-table").rows)
            for text in ("Running", "Done", "Failed")
        ),
        message="the transfer's state shown",
    )
