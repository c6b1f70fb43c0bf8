"""Slow mode and a server's limits in real Chromium, at 1440x900 and on a phone (390x844):
the header switch, the summed figures, the speed dialog — nothing wider than the phone, and
the switch reaches the daemon. Screenshots go to screenshots/ (git-ignored)."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser import (  # noqa: F401 (app_url and browser are fixtures)
    add_server,
    app_url,
    browser,
    click_text,
    click_until,
    dialog,
    no_dialog,
    servers_list,
    shot,
    wait,
)
from tests.e2e.test_phone import DESKTOP, PHONE, assert_fits, emulate
from tests.test_api_speed import limits_reset, transmission_settings

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

pytestmark = [pytest.mark.daemon, pytest.mark.slow]
__all__ = ["limits_reset"]  # a fixture this test uses


def open_speed(driver, name: str):
    """The speed dialog of server `name`, from the servers list."""
    servers = servers_list(driver)
    row = servers.find_element(
        By.XPATH, f".//*[contains(@class,'td-server-row')][.//*[text()='{name}']]"
    )
    row.find_element(By.XPATH, ".//button[.//i[normalize-space()='speed']]").click()
    return dialog(driver, "td-speed-dialog")


def sign_in(driver, base: str, password: str) -> None:
    from tests.e2e.test_browser import fill

    driver.get(base + "/login")
    fill(driver, "Username", "admin")
    fill(driver, "Password", password + "\n")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".ag-root"))


def test_slow_mode_and_limits_in_chromium(app_url, browser, limits_reset):  # noqa: F811
    base, admin_password = app_url
    transmission, rtorrent = limits_reset
    driver = browser
    emulate(driver, DESKTOP)
    sign_in(driver, base, admin_password)
    add_server(driver, "Transmission", "speed-tr", transmission.host, transmission.port,
               username=transmission.username, password=transmission.password)
    add_server(driver, "rTorrent", "speed-rt", rtorrent.host, rtorrent.scgi_port,
               protocol="SCGI")
    servers = servers_list(driver)
    wait(driver, lambda _: servers.text.count("connected") >= 2, 30)

    # The rTorrent server's speed dialog: its session, and limits typed in KiB/s.
    card = open_speed(driver, "speed-rt")
    wait(driver, lambda _: "Default directory" in card.text, 20)
    fields = card.find_elements(By.CSS_SELECTOR, "input")
    fields[2].send_keys("100")  # slow mode: download
    shot(driver, "desktop-speed-dialog")
    click_text(driver, "Save", scope=card)
    wait(driver, lambda _: "Saved the limits of speed-rt" in driver.page_source, 20)
    assert rtorrent.rpc("throttle.global_down.max_rate", "") == 0  # slow mode is off
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    no_dialog(driver)

    # The header's switch: both daemons in slow mode.
    switch = driver.find_element(By.CSS_SELECTOR, ".td-slow-mode .q-toggle")
    wait(driver, lambda _: switch.is_displayed())
    click_until(
        driver,
        lambda: wait(driver, lambda _: switch.click() or True),  # once nothing covers it
        lambda _: "Slow mode on: 2 servers" in driver.page_source,
        tries=2,
        timeout=20,
    )
    assert transmission_settings(transmission)["alt-speed-enabled"] is True
    assert rtorrent.rpc("throttle.global_down.max_rate", "") == 102_400
    moved = driver.find_element(By.CSS_SELECTOR, ".td-total-moved")
    wait(driver, lambda _: moved.is_displayed() and moved.text.startswith("⇅"), 20)
    shot(driver, "desktop-slow-mode")

    # On a phone the header still fits, switch included, and so does the dialog.
    emulate(driver, PHONE)
    driver.refresh()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".ag-root"))
    switch = driver.find_element(By.CSS_SELECTOR, ".td-slow-mode .q-toggle")
    box = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.left, r.right];", switch
    )
    assert box[0] >= 0 and box[1] <= PHONE["width"]
    assert_fits(driver)
    shot(driver, "phone-slow-mode")
    card = open_speed(driver, "speed-tr")
    wait(driver, lambda _: "Free space" in card.text, 20)
    assert_fits(driver)
    shot(driver, "phone-speed-dialog")
