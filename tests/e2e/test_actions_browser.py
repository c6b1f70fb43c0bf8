"""The actions menu in real headless Chromium: two torrents on two servers (Transmission and
rTorrent) are selected, labelled through the right-click menu, and then found again by that
label; the daemons themselves hold the label. Screenshots go to screenshots/."""

from __future__ import annotations

import pytest

from tests.api_fixtures import rtorrent_scgi_fields, transmission_fields
from tests.e2e.test_browser import (  # noqa: F401 (app_url and browser are fixtures)
    api_session,
    app_url,
    browser,
    click_until,
    dialog,
    fill,
    grid_rows,
    no_dialog,
    search_box,
    shot,
    shown_dialog,
    totals,
    wait,
)
from tests.e2e.test_filter_panel import click_value, panel
from tests.torrent_factory import make_torrent
from torrentdesk.clients.rtorrent import decode_labels

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

pytestmark = [pytest.mark.daemon, pytest.mark.slow]
LABEL = "weekend ünï"


def name_cell(driver, info_hash: str):
    return driver.find_element(
        By.CSS_SELECTOR,
        f".ag-center-cols-container .ag-row[row-id$=':{info_hash}'] [col-id='name']",
    )


def menu_entry(driver, text: str):
    """The visible entry with this text in an open menu."""
    xpath = (
        "//div[contains(@class,'q-menu')]"
        f"//div[contains(@class,'q-item')][normalize-space()='{text}']"
    )
    return wait(
        driver, lambda d: [e for e in d.find_elements(By.XPATH, xpath) if e.is_displayed()]
    )[-1]


def test_label_two_torrents_on_two_servers_through_the_menu_then_filter(
    app_url,  # noqa: F811
    browser,  # noqa: F811
    transmission_clean,
    rtorrent_clean,
):
    base, admin_password = app_url
    driver = browser
    api = api_session(base, "admin", admin_password)
    torrents = {}
    for fields, name in (
        (transmission_fields(transmission_clean, name="tr-box"), "td-e2e-tr"),
        (rtorrent_scgi_fields(rtorrent_clean, name="rt-box"), "td-e2e-rt"),
    ):
        reply = api.post(f"{base}/servers", json=fields)
        assert reply.status_code == 201, reply.text
        torrent = make_torrent(name)
        reply = api.post(
            f"{base}/torrents/upload",
            params={"server_id": reply.json()["id"], "start": "false"},
            files={"file": ("t.torrent", torrent.data)},
        )
        assert reply.status_code == 201, reply.text
        torrents[name] = torrent.info_hash
    other = make_torrent("td-e2e-unlabelled")
    servers = {s["name"]: s["id"] for s in api.get(f"{base}/servers").json()}
    api.post(
        f"{base}/torrents/upload",
        params={"server_id": servers["rt-box"], "start": "false"},
        files={"file": ("t.torrent", other.data)},
    )

    driver.get(base + "/")
    wait(driver, lambda d: "/login" in d.current_url)
    fill(driver, "Username", "admin")
    fill(driver, "Password", admin_password + "\n")
    wanted = set(torrents.values())
    wait(driver, lambda d: wanted | {other.info_hash} <= set(grid_rows(d)), 30)

    # Select both (a click, then a ctrl-click), and open the menu with a right click on one.
    name_cell(driver, torrents["td-e2e-tr"]).click()
    ActionChains(driver).key_down(Keys.CONTROL).click(
        name_cell(driver, torrents["td-e2e-rt"])
    ).key_up(Keys.CONTROL).perform()
    wait(driver, lambda d: "2 selected" in d.find_element(By.CSS_SELECTOR, ".td-bulk").text)
    ActionChains(driver).context_click(name_cell(driver, torrents["td-e2e-rt"])).perform()
    menu_entry(driver, "Labels…")
    shot(driver, "context-menu")
    # A click on the menu while it still fades in is lost: click again while it shows.
    click_until(
        driver, lambda: menu_entry(driver, "Labels…").click(), shown_dialog("td-labels-dialog")
    )
    card = dialog(driver, "td-labels-dialog")
    assert "Labels of 2 torrents" in card.text
    field = card.find_element(By.CSS_SELECTOR, "input")
    field.send_keys(LABEL + "\n")
    wait(driver, lambda _: LABEL in card.text)
    field.send_keys(Keys.TAB)  # leave the field: its list of known labels closes
    shot(driver, "labels-dialog")
    card.find_element(By.XPATH, ".//button[normalize-space()='Apply']").click()
    no_dialog(driver)

    # The daemons hold it, and the rows show it.
    wait(
        driver,
        lambda _: (
            decode_labels(rtorrent_clean.rpc("d.custom1", torrents["td-e2e-rt"].upper())) == [LABEL]
        ),
    )
    reply = api.get(f"{base}/torrents/{torrents['td-e2e-tr']}").json()  # the one server
    assert reply["labels"] == [LABEL]

    # Find them again by the label.
    search_box(driver).send_keys("weekend")
    wait(driver, lambda d: set(grid_rows(d)) == wanted, 20)
    assert "2 of 3 torrents" in totals(driver)
    shot(driver, "filtered-by-label")
    # And through the filter panel: the label is a value there, counting both.
    search_box(driver).send_keys(Keys.CONTROL, "a", Keys.DELETE)
    wait(driver, lambda d: len(grid_rows(d)) == 3)
    click_value(driver, "Labels", LABEL)
    wait(driver, lambda d: set(grid_rows(d)) == wanted and "2 of 3 torrents" in totals(d), 20)
    assert panel(driver)["Labels"] == {"(no label)": [1, False], LABEL: [2, True]}
