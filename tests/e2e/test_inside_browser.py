"""Inside a torrent in real headless Chromium: the Files tab's tree (a click on a file's box
and on a folder's reaches Transmission through the table's own Vue slots) and the Trackers
tab, on a torrent of each server. Screenshots go to screenshots/ (files-tab, trackers-tab)."""

from __future__ import annotations

import pytest

from tests.api_fixtures import rtorrent_scgi_fields, transmission_fields
from tests.e2e.test_actions_browser import name_cell
from tests.e2e.test_browser import (  # noqa: F401 (app_url and browser are fixtures)
    api_session,
    app_url,
    browser,
    fill,
    grid_rows,
    shot,
    wait,
)
from tests.test_inside_torrent import FILES, TRACKER, tr_files
from tests.torrent_factory import make_torrent

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402

pytestmark = [pytest.mark.daemon, pytest.mark.slow]


def tab(driver, name: str):
    return driver.find_element(
        By.XPATH, f"//div[contains(@class,'q-tab ')][.//div[normalize-space()='{name}']]"
    )


def details_text(driver) -> str:
    """The text of the details panel's shown tab."""
    return " ".join(
        e.text
        for e in driver.find_elements(By.CSS_SELECTOR, ".td-details .q-tab-panel")
        if e.is_displayed()
    )


def tree_row(driver, name: str):
    """The Files tree's row whose name cell reads `name` (the tree scrolled to it: it draws
    only the rows in view)."""

    def rows(d):
        d.execute_script(
            "document.querySelectorAll('.td-details .td-file-tree .q-table__middle')"
            ".forEach(e => { e.scrollTop = e.scrollTop ? 0 : e.scrollHeight; })"
        )
        return [
            r
            for r in d.find_elements(By.CSS_SELECTOR, ".td-details .td-file-tree tbody tr")
            if r.is_displayed()
            and r.find_elements(By.CSS_SELECTOR, ".td-file-label")
            and r.find_element(By.CSS_SELECTOR, ".td-file-label").text.strip() == name
        ]

    return wait(driver, rows)[0]


def test_files_and_trackers_tabs_in_the_browser(
    app_url,  # noqa: F811
    browser,  # noqa: F811
    transmission_clean,
    rtorrent_clean,
):
    base, admin_password = app_url
    driver = browser
    api = api_session(base, "admin", admin_password)
    hashes = {}
    for fields in (
        transmission_fields(transmission_clean, name="tr-box"),
        rtorrent_scgi_fields(rtorrent_clean, name="rt-box"),
    ):
        server = api.post(f"{base}/servers", json=fields).json()
        assert api.post(f"{base}/servers/{server['id']}/test").json()["ok"]
        torrent = make_torrent(f"td-e2e-files-{fields['name']}", FILES)
        reply = api.post(
            f"{base}/torrents/upload",
            params={"server_id": server["id"], "start": "false"},
            files={"file": ("t.torrent", torrent.data)},
        )
        assert reply.status_code == 201, reply.text
        hashes[fields["name"]] = torrent.info_hash
    extra = "udp://tracker.example.org:6969/announce"
    reply = api.post(f"{base}/torrents/{hashes['tr-box']}/trackers", json={"add": [extra]})
    assert reply.status_code == 200, reply.text

    driver.set_window_size(1280, 900)
    driver.get(base + "/")
    wait(driver, lambda d: "/login" in d.current_url)
    fill(driver, "Username", "admin")
    fill(driver, "Password", admin_password + "\n")
    wait(driver, lambda d: set(hashes.values()) <= set(grid_rows(d)), 30)

    name_cell(driver, hashes["tr-box"]).click()
    tab(driver, "Files").click()
    nfo = tree_row(driver, "c.nfo")
    tree_row(driver, "a.bin")
    # A file's box: unticked on the daemon, and only that file.
    nfo.find_element(By.CSS_SELECTOR, ".q-checkbox").click()
    wait(
        driver,
        lambda _: (
            tr_files(transmission_clean, hashes["tr-box"]) == [(True, 0), (True, 0), (False, 0)]
        ),
        message="c.nfo unwanted on Transmission",
    )
    # A folder's box: all of its files.
    tree_row(driver, "sub").find_element(By.CSS_SELECTOR, ".q-checkbox").click()
    wait(
        driver,
        lambda _: (
            tr_files(transmission_clean, hashes["tr-box"]) == [(True, 0), (False, 0), (False, 0)]
        ),
        message="sub/ unwanted on Transmission",
    )
    wait(
        driver,
        lambda _: (
            tree_row(driver, "disc")
            .find_element(By.CSS_SELECTOR, ".q-checkbox")
            .get_attribute("aria-checked")
            == "mixed"
        ),
        message="disc/ shown mixed",
    )
    shot(driver, "files-tab")

    name_cell(driver, hashes["rt-box"]).click()
    tab(driver, "Trackers").click()
    wait(
        driver,
        lambda d: TRACKER in details_text(d),
        message="rTorrent's tracker listed",
    )
    name_cell(driver, hashes["tr-box"]).click()
    wait(
        driver,
        lambda d: extra in details_text(d),
        message="Transmission's trackers listed",
    )
    shot(driver, "trackers-tab")
