"""The daily paths in real headless Chromium against the real `torrentdesk` process (issue 17):
the magnet: protocol handler up to the pre-filled add dialog, the keyboard driving start, stop
and remove on a real daemon, a dropped file and magnet text, system notifications while hidden,
a saved view that survives a restart and reaches another browser, the phone layout at 390x844,
and axe-core finding no serious or critical violation. Screenshots go to screenshots/."""

from __future__ import annotations

import base64
import json
import os
import signal
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.api_fixtures import transmission_fields
from tests.app_process import start_app
from tests.daemons.common import free_port
from tests.daemons.transmission import running_transmission
from tests.e2e.test_browser import (  # noqa: F401 (browser is a fixture)
    ROOT,
    api_session,
    browser,
    choose,
    click_text,
    dialog,
    fill,
    from_user_menu,
    grid_rows,
    no_dialog,
    shot,
    shown_dialog,
    wait,
)
from tests.e2e.test_phone import PHONE, assert_fits, emulate
from tests.torrent_factory import magnet_for, make_torrent, random_info_hash

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

pytestmark = [pytest.mark.daemon, pytest.mark.slow]
AXE = ROOT / "build" / "test" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# Runs in every page before its own scripts: records registerProtocolHandler calls and
# Notifications, and lets the test say whether the tab is hidden.
SPY = """
window.__registered = [];
navigator.registerProtocolHandler = function (scheme, url) {
  window.__registered.push([scheme, url]);
};
window.__notes = [];
window.__hidden = false;
Object.defineProperty(document, 'visibilityState', {
  configurable: true, get: () => (window.__hidden ? 'hidden' : 'visible'),
});
class SpyNotification {
  constructor(title, options) { window.__notes.push([title, options.body]); }
  close() {}
}
SpyNotification.permission = 'granted';
SpyNotification.requestPermission = async () => 'granted';
window.Notification = SpyNotification;
"""


def spy(driver) -> None:
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SPY})


def sign_in(driver, base: str, password: str, target: str = "/") -> None:
    driver.get(base + target)
    wait(driver, lambda d: "/login" in d.current_url)
    fill(driver, "Username", "admin")
    fill(driver, "Password", password + "\n")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".ag-root"))


def press(driver, *keys) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def selected(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, ".td-bulk").text


def chosen(driver) -> list[str]:
    """The ids of the selected rows, as the grid holds them."""
    return driver.execute_script(
        "return getElement(torrentdesk_page.state.gridId).api.getSelectedNodes().map(n => n.id)"
    )


def views_menu(driver) -> None:
    driver.find_element(By.CSS_SELECTOR, ".td-views-button").click()


def upload(api, base: str, server_id: str, torrent) -> None:
    reply = api.post(
        f"{base}/torrents/upload",
        params={"server_id": server_id, "start": "false"},
        files={"file": ("t.torrent", torrent.data)},
    )
    assert reply.status_code == 201, reply.text


@pytest.fixture
def app_dir(tmp_path):
    return tmp_path / "data"


def started(data_dir: Path):
    return start_app(data_dir, "--browser", port=free_port(), cwd=ROOT)


def test_magnet_handler_keyboard_drop_and_notifications(browser, transmission_clean, tmp_path):  # noqa: F811
    driver, tr = browser, transmission_clean
    app = started(tmp_path / "data")
    try:
        base, password = app.base, app.admin_password()
        api = api_session(base, "admin", password)
        with running_transmission(tmp_path / "other") as other:
            ids = {}
            for name, daemon in (("nas", tr), ("seedbox", other)):
                reply = api.post(f"{base}/servers", json=transmission_fields(daemon, name=name))
                assert reply.status_code == 201, reply.text
                ids[name] = reply.json()["id"]
            torrents = [make_torrent(f"keyboard {n}") for n in range(3)]
            for torrent in torrents:
                upload(api, base, ids["nas"], torrent)
            spy(driver)
            sign_in(driver, base, password)
            wait(driver, lambda d: len(grid_rows(d)) == 3, 30)

            # The last server chosen in the add dialog: seedbox (opened with "n").
            press(driver, "n")
            card = dialog(driver, "td-add-dialog")
            choose(driver, "Server", "seedbox", scope=card)
            press(driver, Keys.ESCAPE)
            no_dialog(driver)

            # Register as the magnet: handler from the user menu; the call is observed.
            from_user_menu(driver, "Open magnet links here…", shown_dialog("td-protocol-dialog"))
            card = dialog(driver, "td-protocol-dialog")
            shot(driver, "magnet-handler-offer")
            click_text(driver, "Register", scope=card, tag="span")
            wait(driver, lambda d: d.execute_script("return window.__registered").__len__())
            assert driver.execute_script("return window.__registered") == [
                ["magnet", f"{base}/add?uri=%s"]
            ]
            no_dialog(driver)

            # The browser opens /add?uri=<the link>: the add dialog, pre-filled, seedbox chosen.
            magnet = magnet_for(random_info_hash(), "From elsewhere") + "&tr=http%3A%2F%2Fx%2Fa"
            driver.get(f"{base}/add?uri={quote(magnet, safe='')}")
            card = dialog(driver, "td-add-dialog", timeout=30)
            links = card.find_element(By.CSS_SELECTOR, "textarea")
            wait(driver, lambda _: links.get_attribute("value") == magnet)
            assert "seedbox" in card.find_element(By.CSS_SELECTOR, ".q-select").text
            shot(driver, "magnet-prefilled")
            press(driver, Keys.ESCAPE)
            no_dialog(driver)
            # Offered once: registered, the menu no longer offers it.
            driver.find_element(By.CSS_SELECTOR, ".td-user-menu").click()
            menu = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".q-menu"))[-1]
            wait(driver, lambda _: "Log out" in menu.text)
            assert "Open magnet links here" not in menu.text
            press(driver, Keys.ESCAPE)

            # Keyboard: ? shows the map, / the search, a / Space / arrows / Delete act.
            wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, ".q-menu"))
            press(driver, "?")
            card = dialog(driver, "td-shortcuts-dialog")
            assert "Start the selection" in card.text and "Focus the search" in card.text
            shot(driver, "shortcuts")
            press(driver, Keys.ESCAPE)
            no_dialog(driver)
            press(driver, "/")
            wait(driver, lambda d: d.execute_script(
                "return document.activeElement.closest('.td-search') !== null"))
            press(driver, "a")  # typed into the search: no shortcut
            assert "selected" not in selected(driver)
            search = driver.find_element(By.CSS_SELECTOR, ".td-search input")
            search.send_keys(Keys.BACKSPACE)
            driver.execute_script("document.activeElement.blur()")
            press(driver, "a")
            wait(driver, lambda d: "3 selected" in selected(d))
            press(driver, " ")
            wait(driver, lambda _: all(
                t.status != "stopped" for t in tr.raw().get_torrents()), 20)
            wait(driver, lambda d: all(r["state"] != "Stopped" for r in grid_rows(d).values()))
            press(driver, " ")
            wait(driver, lambda _: all(
                t.status == "stopped" for t in tr.raw().get_torrents()), 20)
            press(driver, Keys.ESCAPE)
            wait(driver, lambda d: "selected" not in selected(d))
            press(driver, Keys.ARROW_DOWN)
            wait(driver, lambda d: len(chosen(d)) == 1)
            first = chosen(driver)
            press(driver, Keys.ARROW_DOWN)
            wait(driver, lambda d: len(chosen(d)) == 1 and chosen(d) != first)
            second = chosen(driver)
            ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ARROW_UP).key_up(
                Keys.SHIFT
            ).perform()
            wait(driver, lambda d: set(chosen(d)) == set(first + second))
            wait(driver, lambda d: "2 selected" in selected(d))
            press(driver, Keys.DELETE)
            card = dialog(driver, "td-remove-dialog")
            assert "Remove 2 torrents?" in card.text
            click_text(driver, "Remove", scope=card, tag="span")
            wait(driver, lambda _: len(tr.raw().get_torrents()) == 1, 20)
            wait(driver, lambda d: len(grid_rows(d)) == 1)

            # A .torrent file and a magnet text dropped anywhere open the add dialog with them.
            dropped = make_torrent("dropped here")
            driver.execute_script(
                """
                const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
                const data = new DataTransfer();
                data.items.add(new File([bytes], 'dropped.torrent',
                                        {type: 'application/x-bittorrent'}));
                data.setData('text/plain', arguments[1]);
                const target = document.querySelector('.td-grid-wrap');
                for (const type of ['dragover', 'drop']) {
                  target.dispatchEvent(new DragEvent(type,
                    {dataTransfer: data, bubbles: true, cancelable: true}));
                }
                """,
                base64.b64encode(dropped.data).decode(),
                magnet,
            )
            card = dialog(driver, "td-add-dialog")
            wait(driver, lambda _: "dropped here · " in card.text, 20)
            links = card.find_element(By.CSS_SELECTOR, "textarea")
            assert links.get_attribute("value") == magnet
            shot(driver, "dropped")
            click_text(driver, "Add", scope=card, tag="span")
            no_dialog(driver)
            hashes = {t.hash_string for t in other.raw().get_torrents()}
            assert dropped.info_hash in hashes

            # System notifications: only while the tab is hidden, once allowed.
            from_user_menu(
                driver,
                "Background notifications…",
                lambda d: "system notification when a torrent finishes" in d.page_source,
            )
            notify = "return torrentdesk_page.systemNotify('Finished: x', 'on nas', 't1')"
            assert driver.execute_script(notify) is False
            driver.execute_script("window.__hidden = true")
            assert driver.execute_script(notify) is True
            assert driver.execute_script("return window.__notes") == [["Finished: x", "on nas"]]
    finally:
        app.stop(signal.SIGINT)


def test_a_saved_view_survives_a_restart_and_reaches_another_browser(
    browser, transmission_clean, tmp_path  # noqa: F811
):
    driver = browser
    data_dir = tmp_path / "data"
    app = started(data_dir)
    try:
        base, password = app.base, app.admin_password()
        api = api_session(base, "admin", password)
        reply = api.post(f"{base}/servers", json=transmission_fields(transmission_clean))
        server_id = reply.json()["id"]
        for name, size in (("alpha big", 900_000), ("alpha small", 40_000), ("beta", 5000)):
            upload(api, base, server_id, make_torrent(name, length=size))
        sign_in(driver, base, password)
        wait(driver, lambda d: len(grid_rows(d)) == 3, 30)
        driver.find_element(By.CSS_SELECTOR, ".td-search input").send_keys("alpha")
        wait(driver, lambda d: len(grid_rows(d)) == 2)
        click_text(driver, "Size", tag="span")  # sort by size, ascending
        wait(driver, lambda d: d.find_element(
            By.CSS_SELECTOR, ".ag-header-cell[col-id='size']").get_attribute("aria-sort")
            == "ascending")
        from_user_menu(driver, "Columns…", shown_dialog("td-columns-dialog"), views_menu)
        card = dialog(driver, "td-columns-dialog")
        click_text(driver, "Ratio", scope=card)
        ratio_header = ".ag-header-cell[col-id='ratio']"
        wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, ratio_header))
        press(driver, Keys.ESCAPE)
        no_dialog(driver)
        from_user_menu(driver, "Save view as…", shown_dialog("td-save-view-dialog"), views_menu)
        card = dialog(driver, "td-save-view-dialog")
        fill(driver, "Name", "Alpha by size", card)
        click_text(driver, "Save", scope=card, tag="span")
        no_dialog(driver)
        wait(driver, lambda d: "Alpha by size" in d.find_element(
            By.CSS_SELECTOR, ".td-views-button").text)
        views = api.get(f"{base}/views").json()
        shown = [(v["name"], v["search"], v["sort"], v["hidden"], v["last_used"]) for v in views]
        assert shown == [
            ("Alpha by size", "alpha", [{"column": "size", "direction": "asc"}], ["ratio"], True)
        ]
    finally:
        assert app.stop(signal.SIGTERM) == 0
    driver.quit()

    # Restarted, and another browser (a fresh profile): the view is back on open.
    app = started(data_dir)
    try:
        options = webdriver.ChromeOptions()
        for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1440,900",
                    f"--user-data-dir={tmp_path / 'second-chrome'}"):
            options.add_argument(arg)
        from selenium.webdriver.chrome.service import Service

        second = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            sign_in(second, app.base, password)
            wait(second, lambda d: len(grid_rows(d)) == 2, 30)
            assert second.find_element(By.CSS_SELECTOR, ".td-search input").get_attribute(
                "value") == "alpha"
            wait(second, lambda d: not d.find_elements(
                By.CSS_SELECTOR, ".ag-header-cell[col-id='ratio']"))
            wait(second, lambda d: d.find_element(
                By.CSS_SELECTOR, ".ag-header-cell[col-id='size']").get_attribute("aria-sort")
                == "ascending")
            names = second.execute_script(
                "return [...document.querySelectorAll('.ag-center-cols-container .ag-row')]"
                ".sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)"
                ".map(r => r.querySelector('[col-id=name]').textContent)")
            assert names == ["alpha small", "alpha big"]
            assert "Alpha by size" in second.find_element(
                By.CSS_SELECTOR, ".td-views-button").text
            shot(second, "saved-view-restored")
            # Default view: everything again, every column.
            second.find_element(By.CSS_SELECTOR, ".td-views-button").click()
            click_text(second, "Default view", tag="div")
            wait(second, lambda d: len(grid_rows(d)) == 3)
            wait(second, lambda d: d.find_elements(
                By.CSS_SELECTOR, ".ag-header-cell[col-id='ratio']"))
        finally:
            second.quit()
    finally:
        app.stop(signal.SIGINT)


def phone_rows(driver) -> list[dict]:
    return driver.execute_script("""
        return [...document.querySelectorAll('.ag-center-cols-container .ag-row')].map(r => ({
            cells: [...r.querySelectorAll('.ag-cell')].map(c => c.getAttribute('col-id')),
            text: r.innerText.replace(/\\s+/g, ' ').trim(),
            badge: Boolean(r.querySelector('.td-server-badge')),
            progress: Boolean(r.querySelector('.td-progress')),
        }));
    """)


def box(driver, element) -> dict:
    return driver.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return {left: r.left, top: r.top, right: r.right, bottom: r.bottom,"
        " width: innerWidth, height: innerHeight};",
        element,
    )


def test_the_phone_layout(browser, transmission_clean, tmp_path):  # noqa: F811
    driver = browser
    app = started(tmp_path / "data")
    try:
        base, password = app.base, app.admin_password()
        api = api_session(base, "admin", password)
        reply = api.post(f"{base}/servers", json=transmission_fields(transmission_clean,
                                                                     name="home-nas"))
        server_id = reply.json()["id"]
        for n in range(4):
            upload(api, base, server_id, make_torrent(f"Debian.12.{n}.Netinst.amd64.iso"))
        emulate(driver, PHONE)
        sign_in(driver, base, password)
        wait(driver, lambda d: len(phone_rows(d)) == 4, 30)
        rows = wait(driver, lambda d: all(r["cells"][-1:] == ["phone"] for r in phone_rows(d))
                    and phone_rows(d))
        for row in rows:  # one column: name, server badge, state, progress
            assert row["badge"] and row["progress"], row
            assert "home-nas" in row["text"] and "Stopped" in row["text"], row
            assert not {"size", "ratio", "added_at"} & set(row["cells"]), row
        assert_fits(driver)
        shot(driver, "phone-list")

        # The filters in a drawer over the page.
        driver.find_element(By.CSS_SELECTOR, ".td-filters-button").click()
        drawer = wait(driver, lambda d: [e for e in d.find_elements(
            By.CSS_SELECTOR, ".td-filter-panel") if e.is_displayed()])[-1]
        wait(driver, lambda _: box(driver, drawer)["left"] >= 0)
        shot(driver, "phone-filters")
        backdrop = driver.find_element(By.CSS_SELECTOR, ".q-drawer__backdrop")
        driver.execute_script("arguments[0].click()", backdrop)  # beside the drawer
        wait(driver, lambda d: not [e for e in d.find_elements(
            By.CSS_SELECTOR, ".td-filter-panel") if e.is_displayed()])

        # The actions menu is a bottom sheet.
        driver.find_element(By.CSS_SELECTOR, ".ag-center-cols-container .ag-row .ag-cell").click()
        wait(driver, lambda d: "1 selected" in selected(d))
        driver.find_element(By.CSS_SELECTOR, '.td-bulk button[aria-label="More"]').click()
        sheet = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".q-menu.td-sheet"))[-1]
        wait(driver, lambda _: abs(box(driver, sheet)["bottom"] - PHONE["height"]) < 2)
        settled = "return getComputedStyle(arguments[0]).opacity === '1'"
        wait(driver, lambda d: d.execute_script(settled, sheet))  # faded in
        placed = box(driver, sheet)
        assert placed["left"] == 0 and abs(placed["right"] - PHONE["width"]) < 2, placed
        shot(driver, "phone-sheet")
        press(driver, Keys.ESCAPE)
        wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, ".q-menu"))

        # The add dialog fills the screen.
        driver.find_element(By.CSS_SELECTOR, ".td-add-button").click()
        card = dialog(driver, "td-add-dialog")
        wait(driver, lambda _: box(driver, card)["top"] == 0)
        placed = box(driver, card)
        assert (placed["left"], placed["top"]) == (0, 0), placed
        assert abs(placed["right"] - PHONE["width"]) < 2, placed
        assert abs(placed["bottom"] - PHONE["height"]) < 2, placed
        assert_fits(driver)
        shot(driver, "phone-add-full-screen")
    finally:
        app.stop(signal.SIGINT)


def axe_violations(driver) -> list[dict]:
    if not AXE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"axe-core is missing at {AXE}: scripts/run-tests.sh installs it")
        pytest.skip("axe-core is not installed (scripts/run-tests.sh installs it with npm)")
    driver.execute_script(AXE.read_text())
    driver.set_script_timeout(60)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ' ' + n.html.slice(0, 200)).slice(0, 5)"
        "}))))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));"
    )
    return result


def test_axe_finds_no_serious_or_critical_violation(browser, transmission_clean, tmp_path):  # noqa: F811
    driver = browser
    app = started(tmp_path / "data")
    found: dict[str, list[dict]] = {}
    try:
        base, password = app.base, app.admin_password()
        api = api_session(base, "admin", password)
        reply = api.post(f"{base}/servers", json=transmission_fields(transmission_clean))
        upload(api, base, reply.json()["id"], make_torrent("axe check"))
        sign_in(driver, base, password)
        wait(driver, lambda d: len(grid_rows(d)) == 1, 30)
        found["main view"] = axe_violations(driver)
        driver.find_element(By.CSS_SELECTOR, ".td-user-menu").click()
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".q-menu [role=menuitem]"), 10)
        found["user menu"] = axe_violations(driver)
        click_text(driver, "Servers", tag="div")
        card = dialog(driver, "td-servers-dialog")
        wait(driver, lambda _: "connected" in card.text, 30)
        found["servers dialog"] = axe_violations(driver)
        press(driver, Keys.ESCAPE)
        no_dialog(driver)
        driver.find_element(By.CSS_SELECTOR, ".td-add-button").click()
        dialog(driver, "td-add-dialog")
        found["add dialog"] = axe_violations(driver)
    finally:
        app.stop(signal.SIGINT)
    summary = {view: dict(Counter(v["impact"] for v in found[view])) for view in found}
    print("\naxe violations by impact:", json.dumps(summary))
    for view, violations in found.items():
        for v in violations:
            print(f"  {view}: {v['impact']} {v['id']} — {v['help']} {v['nodes']}")
    bad = {
        view: [v for v in violations if v["impact"] in ("serious", "critical")]
        for view, violations in found.items()
    }
    assert not any(bad.values()), bad
