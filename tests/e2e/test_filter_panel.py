"""The filter panel in real headless Chromium against the real `torrentdesk` process: on a
desktop (1440x900) a column left of the table whose clicks filter the rows the browser shows and
the header counts; on a phone (390x844) hidden behind the toolbar's Filters button, an overlay
that fits the screen. Labels are text. Screenshots go to screenshots/ (git-ignored)."""

from __future__ import annotations

import pytest

from tests.api_fixtures import transmission_fields
from tests.e2e import test_browser as chromium
from tests.e2e.test_browser import app_url, browser  # noqa: F401 (fixtures)
from tests.e2e.test_phone import DESKTOP, PHONE, assert_fits, emulate, page_width, tap
from tests.torrent_factory import make_torrent

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

pytestmark = [pytest.mark.daemon, pytest.mark.slow]


def panel(driver) -> dict[str, dict[str, tuple[int, bool]]]:
    """Section title -> value text -> (count, chosen), as the panel shows them."""
    return driver.execute_script("""
        const out = {};
        document.querySelectorAll('.td-facet-section').forEach(section => {
            const values = {};
            section.querySelectorAll('.td-facet').forEach(item => {
                values[item.querySelector('.td-facet-name').textContent] = [
                    Number(item.querySelector('.td-facet-count').textContent),
                    item.classList.contains('td-facet--on'),
                ];
            });
            out[section.querySelector('.td-facet-title').textContent] = values;
        });
        return out;
    """)


def click_value(driver, section: str, text: str) -> None:
    """Click a value of the panel by its exact text (found by script: labels are any text)."""
    script = """
        const [section, text] = arguments;
        const sections = [...document.querySelectorAll('.td-facet-section')];
        const found = sections.find(
            s => s.querySelector('.td-facet-title').textContent === section);
        const item = [...found.querySelectorAll('.td-facet')].find(
            i => i.querySelector('.td-facet-name').textContent === text);
        return item || null;
    """
    item = chromium.wait(driver, lambda d: d.execute_script(script, section, text), message=text)
    item.click()


def shown_hashes(driver) -> set[str]:
    """The info hashes of the rows the grid shows (on a phone not every cell is drawn)."""
    return set(
        driver.execute_script("""
            return [...document.querySelectorAll('.ag-center-cols-container .ag-row')]
                .map(r => r.getAttribute('row-id').split(':').pop());
        """)
    )


def beside_the_table(driver) -> bool:
    """The panel is open at the left edge and the page starts where it ends."""
    drawer, page = box(driver, ".td-filter-panel"), box(driver, ".td-toolbar")
    return drawer["left"] == 0 and 195 < drawer["width"] <= 200 <= page["left"]


def panel_closed(driver) -> bool:
    return not driver.find_element(By.CSS_SELECTOR, ".td-filter-panel").is_displayed()


def box(driver, css: str) -> dict:
    return driver.execute_script(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {left: r.left, right: r.right, top: r.top, width: r.width};",
        css,
    )


def test_the_filter_panel_beside_the_table_and_behind_a_button_on_phones(
    app_url,  # noqa: F811
    browser,  # noqa: F811
    transmission_clean,
):
    base, admin_password = app_url
    driver = browser
    api = chromium.api_session(base, "admin", admin_password)
    reply = api.post(f"{base}/servers", json=transmission_fields(transmission_clean, name="tr-box"))
    assert reply.status_code == 201, reply.text
    server_id = reply.json()["id"]
    torrents = {
        "Debian netinst": ["linux", "iso"],
        "Ubuntu desktop": ["linux"],
        "Holiday video": [],
        "Odd labels": [
            chromium.XSS,
            "a rather long label that the panel cuts short with an ellipsis",
        ],
    }
    hashes = {}
    for name, labels in torrents.items():
        torrent = make_torrent(name)
        hashes[name] = torrent.info_hash
        reply = api.post(
            f"{base}/torrents/upload",
            params={"server_id": server_id, "start": "false", "labels": labels},
            files={"file": ("t.torrent", torrent.data)},
        )
        assert reply.status_code == 201, reply.text

    emulate(driver, DESKTOP)
    driver.get(base + "/login")
    chromium.fill(driver, "Username", "admin")
    chromium.fill(driver, "Password", admin_password + "\n")
    chromium.wait(driver, lambda d: len(chromium.grid_rows(d)) == 4, 30)
    driver.execute_script("window.__alerts = []; window.alert = m => window.__alerts.push(m);")
    labels = chromium.wait(driver, lambda d: panel(d)["Labels"], message="the labels listed")
    assert labels == {
        "(no label)": [1, False],
        "a rather long label that the panel cuts short with an ellipsis": [1, False],
        chromium.XSS: [1, False],
        "iso": [1, False],
        "linux": [2, False],
    }
    assert panel(driver)["Servers"] == {"tr-box": [4, False]}
    # Text, not HTML, with the whole value as its tooltip; a value says whether it is chosen.
    assert not driver.find_elements(By.CSS_SELECTOR, ".td-filter-panel img")
    titles = [
        e.get_attribute("title") for e in driver.find_elements(By.CSS_SELECTOR, ".td-facet-name")
    ]
    assert chromium.XSS in titles
    pressed = driver.find_elements(By.CSS_SELECTOR, ".td-facet[aria-pressed=false]")
    assert len(pressed) == len(titles)
    # Beside the table, not over it: the page starts where the panel ends.
    chromium.wait(driver, beside_the_table)
    # The Filters button folds it away, and back.
    tap(driver, ".td-filters-button")
    chromium.wait(driver, panel_closed)
    chromium.wait(driver, lambda d: box(d, ".td-toolbar")["left"] < 20)
    tap(driver, ".td-filters-button")
    chromium.wait(driver, beside_the_table)

    click_value(driver, "Labels", "linux")
    on = ".td-facet[aria-pressed=true]"
    chromium.wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, on))
    linux = {hashes["Debian netinst"], hashes["Ubuntu desktop"]}
    chromium.wait(driver, lambda d: set(chromium.grid_rows(d)) == linux)
    assert "2 of 4 torrents" in chromium.totals(driver)
    click_value(driver, "Labels", "(no label)")
    chromium.wait(
        driver,
        lambda d: len(chromium.grid_rows(d)) == 3 and "3 of 4 torrents" in chromium.totals(d),
    )
    chromium.search_box(driver).send_keys("deb")
    chromium.wait(driver, lambda d: set(chromium.grid_rows(d)) == {hashes["Debian netinst"]})
    chromium.wait(driver, lambda d: panel(d)["Labels"]["linux"] == [1, True])
    assert panel(driver)["Labels"]["(no label)"] == [0, True]
    chromium.shot(driver, "filter-panel-desktop")
    assert driver.execute_script("return window.__alerts") == []

    # A phone: the panel is folded away behind the Filters button, which shows what is chosen.
    emulate(driver, PHONE)
    chromium.wait(driver, lambda d: d.execute_script("return window.innerWidth") == PHONE["width"])
    chromium.wait(driver, panel_closed)
    assert_fits(driver)
    assert driver.find_element(By.CSS_SELECTOR, ".td-filters-button").text.endswith("2")
    chromium.shot(driver, "filter-panel-phone-closed")
    tap(driver, ".td-filters-button")
    chromium.wait(driver, lambda d: box(d, ".td-filter-panel")["left"] == 0)
    assert_fits(driver)
    assert box(driver, ".td-filter-panel")["right"] < PHONE["width"]
    click_value(driver, "Labels", "linux")  # unchosen: (no label) alone
    chromium.wait(driver, lambda d: not shown_hashes(d))  # "deb" has no label-less torrent
    chromium.shot(driver, "filter-panel-phone")
    backdrop = driver.find_element(By.CSS_SELECTOR, ".q-drawer__backdrop")
    right_of_panel = PHONE["width"] // 2 - 20  # from the backdrop's centre
    ActionChains(driver).move_to_element_with_offset(backdrop, right_of_panel, 0).click().perform()
    chromium.wait(driver, panel_closed)
    assert page_width(driver) <= PHONE["width"]

    # Wide again (a turned tablet, a wider window): the panel is back beside the table.
    emulate(driver, DESKTOP)
    chromium.wait(driver, beside_the_table)
    assert page_width(driver) <= DESKTOP["width"]
    driver.find_element(By.XPATH, "//header//button[.//i[normalize-space()='dark_mode']]").click()
    body = driver.find_element(By.TAG_NAME, "body")
    chromium.wait(driver, lambda _: "body--dark" in body.get_attribute("class"))
    chromium.shot(driver, "filter-panel-desktop-dark")
