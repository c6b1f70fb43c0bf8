"""Across servers in real headless Chromium: a copy from Transmission to rTorrent started from
the torrent menu shows in the transfers list until done, and the add rules editor saves a rule.
Screenshots go to screenshots/ (transfers-list.png, rules-editor.png)."""

from __future__ import annotations

import pytest

from tests.api_fixtures import rtorrent_scgi_fields, transmission_fields
from tests.e2e.test_actions_browser import name_cell
from tests.e2e.test_browser import (  # noqa: F401 (app_url and browser are fixtures)
    api_session,
    app_url,
    browser,
    click_text,
    click_until,
    dialog,
    fill,
    from_user_menu,
    grid_rows,
    shot,
    shown_dialog,
    wait,
)
from tests.torrent_factory import PIECE_LENGTH, make_real_torrent, make_torrent

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

pytestmark = [pytest.mark.daemon, pytest.mark.slow]


def test_a_copy_in_the_transfers_list_and_a_rule_in_the_editor(
    app_url,  # noqa: F811
    browser,  # noqa: F811
    transmission_clean,
    rtorrent_clean,
):
    base, admin_password = app_url
    driver = browser
    api = api_session(base, "admin", admin_password)
    ids = {}
    for fields in (
        transmission_fields(transmission_clean, name="tr-box"),
        rtorrent_scgi_fields(rtorrent_clean, name="rt-box"),
    ):
        reply = api.post(f"{base}/servers", json=fields)
        assert reply.status_code == 201, reply.text
        ids[fields["name"]] = reply.json()["id"]
    data, info_hash = make_real_torrent(
        transmission_clean.download_dir, "td-e2e-shared", [("s.bin", 8 * PIECE_LENGTH, True)]
    )
    reply = api.post(
        f"{base}/torrents/upload",
        params={"server_id": ids["tr-box"]},
        files={"file": ("t.torrent", data)},
    )
    assert reply.status_code == 201, reply.text

    driver.get(base + "/")
    wait(driver, lambda d: "/login" in d.current_url)
    fill(driver, "Username", "admin")
    fill(driver, "Password", admin_password + "\n")
    wait(driver, lambda d: info_hash in grid_rows(d), 30)
    wait(
        driver,
        lambda _: api.get(f"{base}/torrents/{info_hash}").json()["progress"] == 1.0,
        30,
    )

    # Copy it to rTorrent on the same storage, from the torrent menu.
    from_user_menu(
        driver,
        "Copy or move to server…",
        shown_dialog("td-transfer-dialog"),
        lambda d: ActionChains(d).context_click(name_cell(d, info_hash)).perform(),
    )
    card = dialog(driver, "td-transfer-dialog")
    assert "rt-box" in card.text
    shared = "Both servers see the same storage (verify the data there, no download)"
    click_until(
        driver,
        lambda: click_text(driver, shared, scope=card),
        lambda _: card.find_element(
            By.XPATH, f".//div[contains(@class,'q-checkbox')][normalize-space()='{shared}']"
        ).get_attribute("aria-checked")
        == "true",
    )
    click_text(driver, "Start", scope=card, tag="span")
    wait(
        driver,
        lambda _: [t["state"] for t in api.get(f"{base}/transfers").json()] == ["done"],
        60,
    )
    # On both servers now: each row's name carries a copies badge that shows just those rows.
    other = api.post(
        f"{base}/torrents/upload",
        params={"server_id": ids["rt-box"], "start": "false"},
        files={"file": ("o.torrent", make_torrent("td-e2e-elsewhere").data)},
    )
    assert other.status_code == 201, other.text
    badges = wait(
        driver,
        lambda d: (
            [b for b in d.find_elements(By.CSS_SELECTOR, ".td-badge-copies") if b.is_displayed()]
            if len(d.find_elements(By.CSS_SELECTOR, ".ag-center-cols-container .ag-row")) == 3
            else None
        ),
        30,
    )
    assert [b.text for b in badges] == ["\u00d72"] * 2
    badges[0].click()
    wait(
        driver,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, ".td-search input").get_attribute("value") == info_hash
        ),
    )
    wait(
        driver,
        lambda d: (
            sorted(
                r.get_attribute("row-id")
                for r in d.find_elements(By.CSS_SELECTOR, ".ag-center-cols-container .ag-row")
            )
            == sorted(f"{server_id}:{info_hash}" for server_id in ids.values())
        ),
        20,
    )
    shot(driver, "on-two-servers")
    from_user_menu(driver, "Transfers", shown_dialog("td-transfers-dialog"))
    listing = dialog(driver, "td-transfers-dialog")
    wait(driver, lambda _: "tr-box → rt-box" in listing.text and "Done" in listing.text, 20)
    assert "td-e2e-shared" in listing.text and "Copy" in listing.text
    shot(driver, "transfers-list")
    click_text(driver, "Close", scope=listing, tag="span")

    # A rule in the editor, saved.
    from_user_menu(driver, "Add rules", shown_dialog("td-rules-dialog"))
    editor = dialog(driver, "td-rules-dialog")
    click_text(driver, "Add a rule", scope=editor, tag="span")
    wait(driver, lambda _: "Tracker host" in editor.text, 20)
    fill(driver, "Tracker host", "linux.example", editor)
    fill(driver, "Then add labels", "linux\n", editor)
    fill(driver, "And put it in (directory)", "/srv/linux", editor)
    shot(driver, "rules-editor")
    click_text(driver, "Save", scope=editor, tag="span")
    wait(driver, lambda _: api.get(f"{base}/rules").json() != [], 20)
    [rule] = api.get(f"{base}/rules").json()
    assert {k: v for k, v in rule["match"].items() if v is not None} == {"tracker": "linux.example"}
    assert rule["labels"] == ["linux"] and rule["download_dir"] == "/srv/linux"
    [(kind, targets)] = rule["target"].items()
    assert kind == "server_ids" and len(targets) == 1 and targets[0] in ids.values()
