"""A phone (390x844, Chromium's mobile emulation) against the real `torrentdesk` process: nothing
is wider than the viewport, and every control a phone needs is on screen and works — the user
menu (dark mode, Servers, Log out), the servers form, Add, and the bulk Start/Stop/Remove.
Screenshots at 390x844 and 1440x900 go to screenshots/ (git-ignored)."""

from __future__ import annotations

import pytest
import transmission_rpc

from tests.daemons.fakes import closed_port
from tests.e2e.test_browser import (  # noqa: F401 (app_url and browser are fixtures)
    app_url,
    browser,
    click_text,
    dialog,
    dialogs_text,
    fill,
    from_user_menu,
    no_dialog,
    open_server_form,
    shot,
    shown_dialog,
    wait,
)
from tests.torrent_factory import make_torrent

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

pytestmark = [pytest.mark.daemon, pytest.mark.slow]
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
DESKTOP = {"width": 1440, "height": 900, "deviceScaleFactor": 1, "mobile": False}


def emulate(driver, metrics: dict) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def page_width(driver) -> int:
    return driver.execute_script("return document.documentElement.scrollWidth")


def assert_fits(driver) -> None:
    width = page_width(driver)
    assert width <= PHONE["width"], f"the page is {width} px wide"


def tap(driver, css: str, scope=None):
    """Click the visible element matching `css` after checking it lies inside the viewport."""
    root = scope or driver

    def on_screen(_):
        shown = [e for e in root.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
        if not shown:
            return False
        box = driver.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return [r.left, r.right, r.top, r.bottom, window.innerWidth, window.innerHeight];",
            shown[-1],
        )
        left, right, top, bottom, width, height = box
        assert left >= 0 and right <= width and top >= 0 and bottom <= height, (css, box)
        return shown[-1]

    element = wait(driver, on_screen, message=f"{css} on screen")
    element.click()
    return element


def open_menu(driver) -> None:
    tap(driver, ".td-user-menu")


def dark(driver) -> bool:
    return "body--dark" in driver.find_element(By.TAG_NAME, "body").get_attribute("class")


def select_row(driver, info_hash: str) -> None:
    tap(driver, f'.ag-center-cols-container .ag-row[row-id$="{info_hash}"] [col-id="phone"]')
    wait(driver, lambda d: "1 selected" in d.find_element(By.CSS_SELECTOR, ".td-bulk").text)


def test_a_phone_reaches_every_control(app_url, browser, transmission_clean, tmp_path):  # noqa: F811
    base, admin_password = app_url
    d = transmission_clean
    daemon = transmission_rpc.Client(
        host=d.host, port=d.port, username=d.username, password=d.password, timeout=5
    )
    driver = browser
    emulate(driver, PHONE)
    driver.get(base + "/login")
    fill(driver, "Username", "admin")
    fill(driver, "Password", admin_password + "\n")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".ag-root"))
    assert driver.execute_script("return window.innerWidth") == PHONE["width"]
    assert_fits(driver)
    # The wide header's parts are folded away: no dark toggle, no user name beside the icon.
    assert not [e for e in driver.find_elements(By.CSS_SELECTOR, ".td-brand") if e.is_displayed()]
    toggle = driver.find_element(By.XPATH, "//header//button[.//i[normalize-space()='dark_mode']]")
    assert not toggle.is_displayed()
    assert driver.find_element(By.CSS_SELECTOR, ".td-user-menu").text == "account_circle"

    # Dark mode from the menu, and back.
    open_menu(driver)
    menu = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".q-menu"))[-1]
    wait(driver, lambda _: "Log out" in menu.text)
    shot(driver, "phone-menu")
    assert [i.text for i in menu.find_elements(By.CSS_SELECTOR, ".q-item") if i.is_displayed()] == [
        "Dark mode",
        "Servers",
        "Transfers",
        "Add rules",
        "API token",
        "Admin settings",
        "Open magnet links here…",
        "Background notifications…",
        "Log out",
    ]
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    from_user_menu(driver, "Dark mode", dark, open_menu)
    from_user_menu(driver, "Light mode", lambda d: not dark(d), open_menu)

    # Servers, from the menu: the form fits; Save tests first, so a wrong port is not saved.
    from_user_menu(driver, "Servers", shown_dialog("td-servers-dialog"), open_menu)
    card = open_server_form(driver)
    fill(driver, "Name", "phone-tr", card)
    fill(driver, "Host", d.host, card)
    with closed_port() as wrong:
        fill(driver, "Port", str(wrong), card)
        fill(driver, "Username", d.username, card)
        fill(driver, "Password", d.password, card)
        assert_fits(driver)
        shot(driver, "phone-server-form")
        click_text(driver, "Save", scope=card)
        wait(driver, lambda _: "Save anyway" in card.text, 30)
    assert "Connection refused" in card.text
    assert_fits(driver)
    shot(driver, "phone-server-form-unreachable")
    fill(driver, "Port", str(d.port), card)
    wait(driver, lambda _: "Save anyway" not in card.text)
    click_text(driver, "Save", scope=card)
    wait(driver, lambda d: "Connected · Transmission" in dialogs_text(d), 30)
    assert_fits(driver)
    shot(driver, "phone-servers")
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    no_dialog(driver)

    # Add, as the header's icon button.
    torrent = make_torrent("Phone.Added.Torrent.With.A.Rather.Long.Name.2024")
    path = tmp_path / "phone.torrent"
    path.write_bytes(torrent.data)
    tap(driver, ".td-add-button")
    card = dialog(driver, "td-add-dialog")
    assert_fits(driver)
    card.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(path))
    wait(driver, lambda _: "Phone.Added.Torrent" in card.text, 20)
    shot(driver, "phone-add-dialog")
    click_text(driver, "Add", scope=card, tag="span")
    no_dialog(driver)
    wait(driver, lambda _: torrent.info_hash in {t.hash_string for t in daemon.get_torrents()}, 20)

    # The bulk actions, as icons beside the search.
    select_row(driver, torrent.info_hash)
    assert_fits(driver)
    shot(driver, "phone-main")
    tap(driver, '.td-bulk button[aria-label="Stop"]')
    wait(driver, lambda _: daemon.get_torrent(torrent.info_hash).status == "stopped", 20)
    tap(driver, '.td-bulk button[aria-label="Start"]')
    wait(driver, lambda _: daemon.get_torrent(torrent.info_hash).status != "stopped", 20)

    # The same page on a desktop keeps its wide header and labelled buttons.
    emulate(driver, DESKTOP)
    wait(driver, lambda d: d.execute_script("return window.innerWidth") == DESKTOP["width"])
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".td-brand").is_displayed())
    assert page_width(driver) <= DESKTOP["width"]
    assert driver.find_element(By.CSS_SELECTOR, ".td-add-button .block").size["width"] > 20
    shot(driver, "desktop-main")
    from_user_menu(driver, "Servers", shown_dialog("td-servers-dialog"), open_menu)
    card = open_server_form(driver)
    fill(driver, "Name", "elsewhere", card)
    fill(driver, "Host", "127.0.0.1", card)
    with closed_port() as wrong:
        fill(driver, "Port", str(wrong), card)
        click_text(driver, "Test", scope=card)
        wait(driver, lambda _: "Save anyway" in card.text, 30)
    shot(driver, "desktop-server-form-unreachable")
    click_text(driver, "Cancel", scope=card)
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    no_dialog(driver)
    emulate(driver, PHONE)
    wait(driver, lambda d: d.execute_script("return window.innerWidth") == PHONE["width"])

    tap(driver, '.td-bulk button[aria-label="Remove"]')
    card = dialog(driver, "td-remove-dialog")
    assert_fits(driver)
    click_text(driver, "Remove", scope=card, tag="span")
    wait(driver, lambda _: not daemon.get_torrents(), 20)
    no_dialog(driver)

    # Log out, from the menu.
    from_user_menu(driver, "Log out", lambda d: "/login" in d.current_url, open_menu)
    assert_fits(driver)
