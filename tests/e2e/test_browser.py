"""End to end in real headless Chromium against the real `torrentdesk` process: sign in, add a
Transmission and an rTorrent server, test both, add a magnet and a .torrent file, see both
rows with their badges, filter, stop/start, remove with data, stop a daemon and see its chip
turn to error while the other server keeps updating; an XSS name shows as literal text.
Screenshots go to screenshots/ (git-ignored)."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.api_fixtures import transmission_fields
from tests.app_process import start_app
from tests.daemons.common import free_port
from tests.daemons.transmission import running_transmission
from tests.torrent_factory import magnet_for, make_torrent, random_info_hash
from torrentdesk.ui.torrent_grid import GRID_FIELDS

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    ElementClickInterceptedException,
    ElementNotInteractableException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
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


def dialog(driver, kind: str, timeout: float = 20.0):
    """The open dialog card of this kind (td-server-form, td-add-dialog, td-remove-dialog)."""
    return wait(
        driver,
        lambda d: [
            e for e in d.find_elements(By.CSS_SELECTOR, f".q-dialog .{kind}") if e.is_displayed()
        ],
        timeout,
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


def click_until(driver, click, done, tries: int = 3, timeout: float = 8.0):
    """`click()`, then see `done(driver)` hold, and click again if it does not: under load a
    click on a control still fading in, or not yet enabled by the server, is lost, and a user
    clicks again. Only for clicks that are harmless to repeat."""
    for attempt in range(tries):
        click()
        try:
            return wait(driver, done, timeout)
        except TimeoutException:
            if attempt == tries - 1:
                raise


def shown_menus(driver) -> list:
    return [m for m in driver.find_elements(By.CSS_SELECTOR, ".q-menu") if m.is_displayed()]


def shown_dialog(kind: str):
    """A `done` for `from_user_menu`: the dialog card of this kind is open."""
    return lambda d: [
        e for e in d.find_elements(By.CSS_SELECTOR, f".q-dialog .{kind}") if e.is_displayed()
    ]


def from_user_menu(driver, item: str, done, open_menu=None) -> None:
    """Open the user menu, click `item`, and see `done(driver)` hold. Under load a tap on the
    menu button can land while the last menu still fades out, and an item clicked in that
    menu does nothing: a user looks, and tries again."""
    xpath = (
        "//div[contains(@class,'q-menu')]"
        f"//div[contains(@class,'q-item')][normalize-space()='{item}']"
    )

    def click_item(d):
        shown = [e for e in d.find_elements(By.XPATH, xpath) if e.is_displayed()]
        if shown:
            shown[-1].click()
        return bool(shown)

    for attempt in range(3):
        wait(driver, lambda d: not shown_menus(d))  # the last menu has gone
        if open_menu is None:
            driver.find_element(By.CSS_SELECTOR, ".td-user-menu").click()
        else:
            open_menu(driver)
        try:
            wait(driver, click_item, 8, message=f"menu item {item!r}")
            wait(driver, done, 8)
            return
        except TimeoutException:
            if attempt == 2:
                raise


def choose(driver, label: str, option: str, scope=None) -> None:
    """Pick `option` in the select labelled `label`, as a user would, and see it chosen. Under
    load a click on the field can be lost while its dialog fades in, and the last select's
    list may still be fading out (clicking in it chooses nothing): a user looks and tries
    again."""
    root = scope or driver
    field = root.find_element(
        By.XPATH,
        f".//label[.//div[contains(@class,'q-field__label') and normalize-space()='{label}']]",
    )
    for attempt in range(3):
        wait(driver, lambda d: not shown_menus(d))  # no list of another select still fading
        field.click()
        try:
            menu = wait(
                driver,
                lambda d: [m for m in shown_menus(d) if option in m.text],
                8,
            )[-1]
            click_text(driver, option, scope=menu)
            wait(driver, lambda _: option in field.text, 8)
            return
        except TimeoutException:
            if attempt == 2:
                raise


def grid_rows(driver) -> dict[str, dict]:
    """Info hash -> {name, server, state, size, stale (greyed), badge (STALE), error, warning}
    of the rows the grid shows (rendered; error and warning are the name cell's markers'
    tooltips)."""
    return driver.execute_script("""
        const out = {};
        document.querySelectorAll('.ag-center-cols-container .ag-row').forEach(r => {
            const cell = c => r.querySelector(`[col-id="${c}"]`);
            out[r.getAttribute('row-id').split(':').pop()] = {
                name: cell('name').textContent,
                server: cell('server_name').textContent, state: cell('state').textContent,
                size: cell('size').textContent, stale: r.classList.contains('td-row-stale'),
                badge: Boolean(cell('name').querySelector('.td-badge-stale')),
                error: cell('name').querySelector('.td-name-error')?.title ?? null,
                warning: cell('name').querySelector('.td-name-warning')?.title ?? null,
            };
        });
        return out;
    """)


def shot(driver, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def servers_list(driver):
    """The servers dialog, opened from the user menu if it is not open."""
    def shown(d):
        return [
            e
            for e in d.find_elements(By.CSS_SELECTOR, ".q-dialog .td-servers-dialog")
            if e.is_displayed()
        ]

    try:
        return wait(driver, shown, 5)[-1]  # open, or still fading in
    except TimeoutException:
        driver.find_element(By.XPATH, "//button[.//i[normalize-space()='account_circle']]").click()
        # In the menu once it is open: the filter panel's "Servers" heading must not take the
        # click while the menu still fades in (seen under load).
        menu = wait(
            driver,
            lambda d: [m for m in d.find_elements(By.CSS_SELECTOR, ".q-menu") if m.is_displayed()],
        )[-1]
        click_text(driver, "Servers", scope=menu, tag="div")
        return wait(driver, shown)[-1]


def open_server_form(driver):
    """Click the servers list's own "Add server" and return the form. Under a loaded machine
    a click can be lost while the list fades in, or the list close (the page settling after
    sign-in): a user then opens it and clicks again."""
    for attempt in range(3):
        click_text(driver, "Add server", scope=servers_list(driver))
        try:
            return dialog(driver, "td-server-form", timeout=8)
        except TimeoutException:
            if attempt == 2:
                raise
    raise AssertionError("the servers form never opened")


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
    card = open_server_form(driver)
    click_until(
        driver,
        lambda: click_text(driver, server_type, scope=card),
        lambda _: card.find_element(
            By.XPATH, f".//button[normalize-space()='{server_type}']"
        ).get_attribute("aria-pressed")
        == "true",
    )
    if protocol:
        choose(driver, "Protocol", protocol, scope=card)
    fill(driver, "Name", name, card)
    fill(driver, "Host", host, card)
    fill(driver, "Port", str(port), card)
    if username is not None:
        fill(driver, "Username", username, card)
        fill(driver, "Password", password, card)
    click_text(driver, "Save", scope=card)
    # Save tests first and closes the form once saved; its own "Connected · …" test result
    # must not pass for the list's, and "Add server" must not be clicked while it fades out.
    wait(
        driver,
        lambda d: not [
            e for e in d.find_elements(By.CSS_SELECTOR, ".q-dialog .td-server-form")
            if e.is_displayed()
        ],
        30,
    )


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
        # Servers: one of each type, tested on save (the list opened from the user menu).
        servers_list(driver)
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
        click_until(
            driver,
            lambda: click_text(driver, "Start", tag="span"),
            lambda d: grid_rows(d)[via_file.info_hash]["state"] == "Downloading",
        )
        click_until(
            driver,
            lambda: click_text(driver, "Stop", tag="span"),
            lambda d: grid_rows(d)[via_file.info_hash]["state"] == "Stopped",
        )

        # Remove one with its data.
        data_file = d.download_dir / "via file"
        data_file.write_bytes(b"x" * 10)
        click_text(driver, "Remove", tag="span")
        card = dialog(driver, "td-remove-dialog")
        click_until(
            driver,
            lambda: click_text(driver, "Also delete the downloaded data", scope=card),
            lambda _: card.find_element(By.CSS_SELECTOR, ".q-checkbox").get_attribute(
                "aria-checked"
            )
            == "true",
        )
        click_text(driver, "Remove", scope=card, tag="span")
        wait(driver, lambda d: via_file.info_hash not in grid_rows(d), 20)
        wait(driver, lambda _: not data_file.exists(), 10)

        # Stop a daemon: its chip turns to error, its rows go stale, the others keep updating.
        doomed.process.terminate()
        doomed.process.wait(10)
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".td-chip--error"), 30)
        chip = driver.find_element(By.CSS_SELECTOR, ".td-chip--error")
        assert chip.text.split() == ["doomed", "1", "unreachable"]  # the name once
        wait(driver, lambda d: grid_rows(d)[doomed_torrent.info_hash]["stale"], 20)
        row_click(xss.info_hash)
        click_until(
            driver,
            lambda: click_text(driver, "Stop", tag="span"),
            lambda d: grid_rows(d)[xss.info_hash]["state"] == "Stopped",
        )
        # The rows the browser unpacked from the packed pushes are the API's rows, field by
        # field (the fields the grid reads; the API has no `stale`), the down server's aside.
        api = api_session(base, "admin", admin_password)
        shown_keys = ("server_id", "server_name", "server_type", *GRID_FIELDS[:-1])
        assert GRID_FIELDS[-1] == "stale"

        def grid_is_the_listing(d) -> bool:
            shown = {k: v for k, v in d.execute_script(GRID_DATA).items() if not v["stale"]}
            listed = {
                f"{t['server_id']}:{t['info_hash']}": {k: t[k] for k in shown_keys}
                for t in api.get(f"{base}/torrents").json()["torrents"]
            }
            expected = {k: v | {"id": k, "stale": False} for k, v in listed.items()}
            return (len(shown) >= 2 and shown == expected) or None

        wait(driver, grid_is_the_listing, 20, "the grid's rows equal GET /torrents")
        shot(driver, "main-view-server-down")


# Every row the grid holds, by row id, as AG Grid has it.
GRID_DATA = """
    const el = document.querySelector(".td-grid");
    const api = getElement(Number(el.id.slice(1))).api;
    const out = {};
    api.forEachNode((n) => { out[n.data.id] = n.data; });
    return out;
"""


def api_session(base: str, username: str, password: str):
    """A `requests` session signed in to the app's REST API."""
    import requests

    session = requests.Session()
    reply = session.post(f"{base}/auth/token", json={"username": username, "password": password})
    reply.raise_for_status()
    session.headers["Authorization"] = f"Bearer {reply.json()['token']}"
    return session


def chips(driver) -> dict[str, dict]:
    """Server name -> what its status chip shows: classes, dot color, texts, name lines."""
    return driver.execute_script("""
        const out = {};
        document.querySelectorAll('.td-chip').forEach(chip => {
            const name = chip.querySelector('.td-chip-name');
            const error = chip.querySelector('.td-chip-error');
            out[name.textContent] = {
                error: chip.classList.contains('td-chip--error'),
                dot: getComputedStyle(chip.querySelector('.td-dot')).backgroundColor,
                text: chip.innerText.replace(/\\s+/g, ' ').trim(),
                message: error ? error.textContent : null,
                nameLines: Math.round(name.getBoundingClientRect().height
                    / parseFloat(getComputedStyle(name).lineHeight)),
            };
        });
        return out;
    """)


def search_box(driver):
    return driver.find_element(By.CSS_SELECTOR, ".td-search input")


def totals(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, ".td-totals").text


def notifications(driver) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".q-notification")]


def test_a_server_going_down_and_back_in_chromium(app_url, browser, transmission_clean, tmp_path):
    """Killing a daemon turns every row of it on screen stale within two polls (greyed, STALE,
    state "Stale"), its chip red with a short message and the whole story in its tooltip, and
    raises one notification; restarted, the rows come back live with one more notification."""
    from torrentdesk.services.live import FAST_INTERVAL
    from torrentdesk.ui.format import speed_axis

    base, admin_password = app_url
    driver = browser
    api = api_session(base, "admin", admin_password)
    with running_transmission(tmp_path / "doomed") as doomed:
        ids = {}
        for name, daemon in (("steady", transmission_clean), ("doomed", doomed)):
            reply = api.post(f"{base}/servers", json=transmission_fields(daemon, name=name))
            assert reply.status_code == 201, reply.text
            ids[name] = reply.json()["id"]
        on = {"steady": [make_torrent(f"steady {i}") for i in range(3)]}
        on["doomed"] = [make_torrent(f"doomed {i}") for i in range(6)]
        for name, torrents in on.items():
            for torrent in torrents:
                reply = api.post(
                    f"{base}/torrents/upload",
                    params={"server_id": ids[name], "start": "false"},
                    files={"file": ("t.torrent", torrent.data)},
                )
                assert reply.status_code == 201, reply.text
        doomed_hashes = {t.info_hash for t in on["doomed"]}

        driver.get(base + "/")
        wait(driver, lambda d: "/login" in d.current_url)
        fill(driver, "Username", "admin")
        fill(driver, "Password", admin_password + "\n")
        wait(driver, lambda d: len(grid_rows(d)) == 9, 30)
        wait(driver, lambda d: not chips(d)["doomed"]["error"])
        shot(driver, "health-all-up")

        killed = time.monotonic()
        doomed.process.terminate()
        doomed.process.wait(10)

        def all_doomed_rows_stale(d) -> bool:
            shown = grid_rows(d)
            return doomed_hashes <= set(shown) and all(
                (shown[h]["stale"], shown[h]["badge"], shown[h]["state"]) == (True, True, "Stale")
                for h in doomed_hashes
            )

        # Within two polls (plus slack for a loaded machine): every row of it on screen.
        wait(driver, all_doomed_rows_stale, timeout=2 * FAST_INTERVAL + 4)
        stale_after = time.monotonic() - killed
        steady = grid_rows(driver)
        assert not any(steady[t.info_hash]["stale"] for t in on["steady"])
        chip = wait(driver, lambda d: chips(d)["doomed"]["error"] and chips(d)["doomed"], 10)
        assert chip["dot"] == "rgb(207, 34, 46)"  # --td-err
        assert chip["text"] == "doomed 6 unreachable"
        assert chip["nameLines"] == 1
        assert chips(driver)["steady"]["dot"] == "rgb(26, 127, 55)"  # --td-ok
        # The tooltip: the whole message, naming the server once.
        ActionChains(driver).move_to_element(
            driver.find_element(By.CSS_SELECTOR, ".td-chip--error .td-chip-name")
        ).perform()
        tip = wait(
            driver,
            lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, ".q-tooltip")],
            10,
        )[-1]
        assert tip.startswith(f"doomed: cannot connect to http://127.0.0.1:{doomed.port} ")
        assert tip.count("doomed") == 1 and "Error" not in tip
        down = wait(driver, lambda d: [n for n in notifications(d) if "doomed is down" in n])
        assert "check that Transmission is running" in down[0]
        time.sleep(2 * FAST_INTERVAL)  # two more failing polls: still one notification
        assert len([n for n in notifications(driver) if "doomed is down" in n]) == 1
        shot(driver, "health-server-down")
        print(f"\nrows stale {stale_after:.1f} s after the kill (polls every {FAST_INTERVAL} s)")

        ActionChains(driver).move_to_element(search_box(driver)).perform()  # tooltip away
        doomed.restart()
        wait(driver, lambda d: not any(grid_rows(d)[h]["stale"] for h in doomed_hashes), 90)
        wait(driver, lambda d: not chips(d)["doomed"]["error"], 10)
        assert all(grid_rows(driver)[h]["state"] == "Stopped" for h in doomed_hashes)
        back = wait(driver, lambda d: [n for n in notifications(d) if "doomed is back" in n])
        assert len(back) == 1

        # The browser's filter keeps what the header counts; a search that hides all says so.
        search = search_box(driver)
        search.send_keys("STEADY")
        wait(driver, lambda d: len(grid_rows(d)) == 3 and "3 of 9 torrents" in totals(d))
        search.send_keys(" nothing")
        overlay = wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".td-no-match"))
        wait(driver, lambda _: overlay.is_displayed() and not grid_rows(driver))
        assert "No torrents match" in overlay.text and "0 of 9 torrents" in totals(driver)
        shot(driver, "no-match")
        click_text(driver, "Clear search and filters", tag="span")
        wait(driver, lambda d: len(grid_rows(d)) == 9 and not overlay.is_displayed())
        assert search.get_attribute("value") == "" and "9 torrents" in totals(driver)

        # The Speed tab of a selected torrent; folded, the details give the table their height.
        driver.find_element(
            By.CSS_SELECTOR, ".ag-center-cols-container .ag-row [col-id='size']"
        ).click()
        driver.find_element(
            By.XPATH, "//div[contains(@class,'q-tab__label') and normalize-space()='Speed']"
        ).click()
        wait(
            driver, lambda d: "last 10 minutes" in d.find_element(By.CSS_SELECTOR, ".td-speed").text
        )
        settled = """
            const tab = document.querySelector('.td-speed').getBoundingClientRect();
            const panels = document.querySelector('.td-tab-panels').getBoundingClientRect();
            return Math.abs(tab.x - panels.x - 12) < 1;  // slid in: at the panel's padding
        """
        wait(driver, lambda d: d.execute_script(settled))
        shot(driver, "speed-tab")
        height = driver.find_element(By.CSS_SELECTOR, ".td-grid-wrap").size["height"]
        driver.find_element(By.XPATH, "//button[.//i[normalize-space()='expand_more']]").click()
        wait(
            driver,
            lambda d: (
                d.find_element(By.CSS_SELECTOR, ".td-grid-wrap").size["height"] > height + 150
            ),
        )
        shot(driver, "details-folded")
        driver.refresh()  # remembered for this user
        wait(driver, lambda d: len(grid_rows(d)) == 9)
        assert driver.find_elements(By.CSS_SELECTOR, ".td-details--collapsed")

    # The speed charts' axis labels, from the browser's formatter: one unit, no repeats.
    for peak, labels in (
        (3, ["0", "1 B/s", "2 B/s", "3 B/s"]),
        (1.3 * 1024**2, ["0", "0.5 MiB/s", "1 MiB/s", "1.5 MiB/s"]),
        (700 * 1024, ["0", "200 KiB/s", "400 KiB/s", "600 KiB/s", "800 KiB/s"]),
    ):
        axis = speed_axis(peak)
        ticks = [i * axis["interval"] for i in range(round(axis["max"] / axis["interval"]) + 1)]
        formatter = axis["axisLabel"][":formatter"]
        shown = driver.execute_script(f"return arguments[0].map({formatter})", ticks)
        assert shown == labels, (peak, shown)
