"""End to end in real headless Chromium against the real `torrentdesk` process: sign in, add a
Transmission and an rTorrent server, test both, add a magnet and a .torrent file, see both
rows with their badges, filter, stop/start, remove with data, stop a daemon and see its chip
turn to error while the other server keeps updating; an XSS name shows as literal text.
Screenshots go to screenshots/ (git-ignored)."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest

from tests.app_process import start_app
from tests.daemons.common import free_port
from tests.daemons.transmission import running_transmission
from tests.torrent_factory import magnet_for, make_torrent, random_info_hash

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    ElementClickInterceptedException,
    ElementNotInteractableException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = [pytest.mark.daemon, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "screenshots"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def app_url(tmp_path):
    # From the checkout's root: its own package is served (a worktree's, not the editable one).
    app = start_app(tmp_path / "data", port=free_port(), cwd=ROOT)
    try:
        yield app.base, app.admin_password()
    finally:
        app.stop(signal.SIGINT)


@pytest.fixture
def browser(tmp_path):
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not Path(driver_path).exists():
        pytest.skip("chromium-driver is not installed")
    options = webdriver.ChromeOptions()
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        f"--user-data-dir={tmp_path / 'chrome'}",
        "--window-size=1440,900",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def wait(driver, predicate, timeout=20.0, message=""):
    try:
        return WebDriverWait(
            driver,
            timeout,
            0.1,
            ignored_exceptions=(
                StaleElementReferenceException,
                ElementClickInterceptedException,
                ElementNotInteractableException,
                KeyError,
            ),
        ).until(lambda d: predicate(d), message)
    except TimeoutException:
        shot(driver, "failed-wait")  # what the page showed instead
        raise


def dialogs_text(driver) -> str:
    return " ".join(
        e.text
        for e in driver.find_elements(By.CSS_SELECTOR, ".q-dialog .q-card")
        if e.is_displayed()
    )


def fill(driver, label: str, value: str, scope=None) -> None:
    """Type into the Quasar input with this label (in the open dialog when `scope` says so)."""
    root = scope or driver
    field = root.find_element(
        By.XPATH,
        f".//label[.//div[contains(@class,'q-field__label') and normalize-space()='{label}']]",
    )
    element = field.find_element(By.CSS_SELECTOR, "input, textarea")
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.DELETE)
    element.send_keys(value)


def click_text(driver, text: str, scope=None, tag: str = "*") -> None:
    """Click the last visible element with exactly this text (re-found while the page moves)."""
    root = scope or driver

    def attempt(_):
        shown = [
            e
            for e in root.find_elements(By.XPATH, f".//{tag}[normalize-space()='{text}']")
            if e.is_displayed()
        ]
        if not shown:
            return False
        try:
            shown[-1].click()
        except (ElementClickInterceptedException, ElementNotInteractableException):
            # A fading notification or dialog over it: the element is there, click it directly.
            driver.execute_script("arguments[0].click()", shown[-1])
        return True

    wait(driver, attempt)


def dialog(driver, kind: str):
    """The open dialog card of this kind (td-server-form, td-add-dialog, td-remove-dialog)."""
    return wait(
        driver,
        lambda d: [
            e for e in d.find_elements(By.CSS_SELECTOR, f".q-dialog .{kind}") if e.is_displayed()
        ],
    )[-1]


def no_dialog(driver) -> None:
    """Wait until every dialog has closed: a closing one still shows its own buttons."""
    wait(
        driver,
        lambda d: (
            not [
                e for e in d.find_elements(By.CSS_SELECTOR, ".q-dialog .q-card") if e.is_displayed()
            ]
        ),
    )


def choose(driver, label: str, option: str, scope=None) -> None:
    root = scope or driver
    root.find_element(
        By.XPATH,
        f".//label[.//div[contains(@class,'q-field__label') and normalize-space()='{label}']]",
    ).click()
    menu = wait(
        driver,
        lambda d: [m for m in d.find_elements(By.CSS_SELECTOR, ".q-menu") if m.is_displayed()],
    )[-1]
    click_text(driver, option, scope=menu)


def grid_rows(driver) -> dict[str, dict]:
    """Info hash -> {name, server, state, size, stale, error, warning} of the rows the grid
    shows (rendered; error and warning are the name cell's markers' tooltips)."""
    return driver.execute_script("""
        const out = {};
        document.querySelectorAll('.ag-center-cols-container .ag-row').forEach(r => {
            const cell = c => r.querySelector(`[col-id="${c}"]`);
            out[r.getAttribute('row-id').split(':').pop()] = {
                name: cell('name').textContent,
                server: cell('server_name').textContent, state: cell('state').textContent,
                size: cell('size').textContent, stale: r.classList.contains('td-row-stale'),
                error: cell('name').querySelector('.td-name-error')?.title ?? null,
                warning: cell('name').querySelector('.td-name-warning')?.title ?? null,
            };
        });
        return out;
    """)


def shot(driver, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def add_server(
    driver,
    server_type: str,
    name: str,
    host: str,
    port: int,
    protocol=None,
    username=None,
    password=None,
) -> None:
    click_text(driver, "Add server")
    card = dialog(driver, "td-server-form")
    click_text(driver, server_type, scope=card)
    if protocol:
        choose(driver, "Protocol", protocol, scope=card)
    fill(driver, "Name", name, card)
    fill(driver, "Host", host, card)
    fill(driver, "Port", str(port), card)
    if username is not None:
        fill(driver, "Username", username, card)
        fill(driver, "Password", password, card)
    click_text(driver, "Save", scope=card)


def test_the_whole_app_in_chromium(app_url, browser, transmission_clean, rtorrent_clean, tmp_path):
    base, admin_password = app_url
    d, r = transmission_clean, rtorrent_clean
    driver = browser
    driver.get(base + "/")
    wait(driver, lambda d: "/login" in d.current_url)
    fill(driver, "Username", "admin")
    fill(driver, "Password", "wrong-password")
    click_text(driver, "Sign in", tag="span")
    wait(driver, lambda d: "wrong username or password" in d.page_source)
    fill(driver, "Password", admin_password + "\n")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".ag-root"))
    driver.execute_script("window.__alerts = []; window.alert = m => window.__alerts.push(m);")

    with running_transmission(tmp_path / "doomed") as doomed:
        # Servers: one of each type, tested on save.
        driver.find_element(By.XPATH, "//button[.//i[normalize-space()='account_circle']]").click()
        click_text(driver, "Servers")
        add_server(
            driver,
            "Transmission",
            "tr-box",
            d.host,
            d.port,
            username=d.username,
            password=d.password,
        )
        wait(driver, lambda d: "Connected · Transmission" in dialogs_text(d), 30)
        add_server(driver, "rTorrent", "rt-box", r.host, r.scgi_port)
        wait(driver, lambda d: dialogs_text(d).count("Connected · ") == 2, 30)
        add_server(
            driver,
            "Transmission",
            "doomed",
            doomed.host,
            doomed.port,
            username=doomed.username,
            password=doomed.password,
        )
        wait(driver, lambda d: dialogs_text(d).count("Connected · ") == 3, 30)
        shot(driver, "servers-dialog")
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        no_dialog(driver)

        # A magnet to rTorrent and two .torrent files to Transmission.
        click_text(driver, "Add", tag="span")
        card = dialog(driver, "td-add-dialog")
        choose(driver, "Server", "rt-box", scope=card)
        magnet_hash = random_info_hash()
        magnet = magnet_for(magnet_hash, "via magnet") + "&tr=http%3A%2F%2F127.0.0.1%3A9%2Fa"
        fill(driver, "Magnet links or .torrent URLs", magnet, card)
        click_text(driver, "Add", scope=card, tag="span")
        wait(driver, lambda d: magnet_hash in grid_rows(d), 30)
        no_dialog(driver)

        click_text(driver, "Add", tag="span")
        card = dialog(driver, "td-add-dialog")
        choose(driver, "Server", "tr-box", scope=card)
        files = []
        via_file, xss = make_torrent("via file"), make_torrent(XSS)
        for torrent in (via_file, xss):
            path = tmp_path / f"{torrent.info_hash}.torrent"
            path.write_bytes(torrent.data)
            files.append(str(path))
        upload = card.find_element(By.CSS_SELECTOR, "input[type=file]")
        upload.send_keys("\n".join(files))
        wait(driver, lambda _: "via file · " in card.text, 20)
        shot(driver, "add-dialog")
        click_text(driver, "Add", scope=card, tag="span")
        wait(driver, lambda d: {via_file.info_hash, xss.info_hash} <= set(grid_rows(d)), 30)
        no_dialog(driver)
        doomed_torrent = make_torrent("on doomed")
        click_text(driver, "Add", tag="span")
        card = dialog(driver, "td-add-dialog")
        choose(driver, "Server", "doomed", scope=card)
        path = tmp_path / "doomed.torrent"
        path.write_bytes(doomed_torrent.data)
        card.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(path))
        wait(driver, lambda _: "on doomed · " in card.text, 20)
        click_text(driver, "Add", scope=card, tag="span")
        rows = wait(driver, lambda d: len(grid_rows(d)) == 4 and grid_rows(d), 30)
        assert rows[magnet_hash]["server"] == "rt-box"
        # The rTorrent magnet fetching its metadata: its dn, "Metadata", size unknown, and the
        # refusing tracker as a warning marker (tooltip), not an error.
        rows = wait(driver, lambda d: grid_rows(d)[magnet_hash]["warning"] and grid_rows(d), 20)
        assert {k: rows[magnet_hash][k] for k in ("name", "state", "size", "error", "warning")} == {
            "name": "via magnet",
            "state": "Metadata",
            "size": "unknown",
            "error": None,
            "warning": "Tracker: [Couldn't connect to server]",
        }
        assert rows[via_file.info_hash]["server"] == "tr-box"
        assert rows[doomed_torrent.info_hash]["server"] == "doomed"
        # The XSS name is text: literally shown, no <img> in the grid, no alert.
        assert (rows[xss.info_hash]["name"], rows[xss.info_hash]["server"]) == (XSS, "tr-box")
        assert not driver.find_elements(By.CSS_SELECTOR, ".ag-root img")
        assert driver.execute_script("return window.__alerts") == []
        shot(driver, "main-view")

        # Filter by server.
        driver.find_element(By.CSS_SELECTOR, ".td-chip .td-chip-name").click()  # first chip
        first = driver.find_element(By.CSS_SELECTOR, ".td-chip .td-chip-name").text
        wait(driver, lambda d: {v["server"] for v in grid_rows(d).values()} == {first})
        driver.find_element(By.CSS_SELECTOR, ".td-chip .td-chip-name").click()  # clear
        wait(driver, lambda d: len(grid_rows(d)) == 4)

        # Stop and start one, by its row.
        def row_click(info_hash):
            script = """
                const rows = [...document.querySelectorAll('.ag-center-cols-container .ag-row')];
                const row = rows.find(r => r.getAttribute('row-id').endsWith(arguments[0]));
                if (!row) return false;
                row.querySelector('[col-id="size"]').click();
                return true;
            """
            wait(driver, lambda d: d.execute_script(script, info_hash))

        # The magnet's details: its state as the table spells it, the warning on its own line.
        row_click(magnet_hash)
        details = driver.find_element(By.CSS_SELECTOR, ".td-general")
        wait(driver, lambda _: "Tracker: [Couldn't connect to server]" in details.text)
        assert "Metadata" in details.text and "unknown" in details.text
        shot(driver, "details-warning")

        row_click(via_file.info_hash)
        wait(driver, lambda d: "1 selected" in d.page_source)
        click_text(driver, "Start", tag="span")
        wait(driver, lambda d: grid_rows(d)[via_file.info_hash]["state"] == "Downloading", 20)
        click_text(driver, "Stop", tag="span")
        wait(driver, lambda d: grid_rows(d)[via_file.info_hash]["state"] == "Stopped", 20)

        # Remove one with its data.
        data_file = d.download_dir / "via file"
        data_file.write_bytes(b"x" * 10)
        click_text(driver, "Remove", tag="span")
        card = dialog(driver, "td-remove-dialog")
        click_text(driver, "Also delete the downloaded data", scope=card)
        click_text(driver, "Remove", scope=card, tag="span")
        wait(driver, lambda d: via_file.info_hash not in grid_rows(d), 20)
        wait(driver, lambda _: not data_file.exists(), 10)

        # Stop a daemon: its chip turns to error, its rows go stale, the others keep updating.
        doomed.process.terminate()
        doomed.process.wait(10)
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".td-chip--error"), 30)
        chip = driver.find_element(By.CSS_SELECTOR, ".td-chip--error")
        assert "doomed" in chip.text and "doomed: " in chip.text
        wait(driver, lambda d: grid_rows(d)[doomed_torrent.info_hash]["stale"], 20)
        row_click(xss.info_hash)
        click_text(driver, "Stop", tag="span")
        wait(driver, lambda d: grid_rows(d)[xss.info_hash]["state"] == "Stopped", 20)
        shot(driver, "main-view-server-down")
