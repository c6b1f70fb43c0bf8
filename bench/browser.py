"""Headless Chromium against the real app process, as the e2e tests drive it (Debian's chromium
and chromedriver, selenium), with what the page receives read from the Chrome DevTools Protocol
performance log: websocket frames (`Network.webSocketFrameReceived`) and HTTP responses.

Websocket payloads are counted as the page gets them: after permessage-deflate is undone (CDP
reports decompressed payloads), so they compare like for like with the decoded size of the page
document. Both are smaller on the wire when compressed.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--window-size=1440,900",
)
ROW_SELECTOR = ".ag-center-cols-container .ag-row"

# Installed before every navigation (CDP Page.addScriptToEvaluateOnNewDocument): marks when the
# first grid row enters the DOM and the animation frame after it (the frame that shows it), in
# ms since navigation start (performance.now()'s origin).
FIRST_ROWS_PROBE = """
(() => {
  if (location.protocol === "about:") return;
  const seen = () => document.querySelector(ROW_SELECTOR) !== null;
  const observer = new MutationObserver(() => {
    if (window.__tdRowsInDom !== undefined || !seen()) return;
    window.__tdRowsInDom = performance.now();
    observer.disconnect();
    requestAnimationFrame(() => { window.__tdRowsShown = performance.now(); });
  });
  observer.observe(document, { childList: true, subtree: true });
})();
""".replace("ROW_SELECTOR", json.dumps(ROW_SELECTOR))

# The grid's AG Grid API, through NiceGUI's getElement (the element's DOM id is "c<id>").
GRID_API = """
  const el = document.querySelector(".td-grid");
  const api = el && window.getElement && getElement(Number(el.id.slice(1)))?.api;
"""


@dataclass(frozen=True)
class Frame:
    """One websocket message the page received."""

    at: float  # CDP's monotonic timestamp, seconds
    size: int  # payload bytes (decompressed)
    text: str


class Chromium:
    """One headless Chromium with a fresh profile, its DevTools performance log switched on."""

    def __init__(self, workdir: Path) -> None:
        driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
        if not Path(driver_path).exists():
            raise RuntimeError("chromedriver is missing: apt-get install chromium-driver")
        options = webdriver.ChromeOptions()
        for arg in (*CHROMIUM_ARGS, f"--user-data-dir={workdir / 'chromium-profile'}"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(driver_path), options=options)
        self.driver.implicitly_wait(0)
        self.driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": FIRST_ROWS_PROBE}
        )
        self.websockets = 0  # websockets opened, as seen in the log
        self.polling_requests = 0  # socket.io long-polling requests (we count only websockets)
        self.handshake_extensions: list[str] = []

    def close(self) -> None:
        self.driver.quit()

    # -- the performance log --

    def drain(self) -> list[Frame]:
        """The websocket frames received since the last call."""
        frames: list[Frame] = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            method, params = message["method"], message["params"]
            if method == "Network.webSocketFrameReceived":
                response = params["response"]
                payload = response["payloadData"]
                if response.get("opcode") == 2:  # binary: base64 in the log
                    size = len(base64.b64decode(payload))
                else:
                    size = len(payload.encode())
                frames.append(Frame(params["timestamp"], size, payload))
            elif method == "Network.webSocketCreated":
                self.websockets += 1
            elif method == "Network.webSocketHandshakeResponseReceived":
                headers = {k.lower(): v for k, v in params["response"]["headers"].items()}
                self.handshake_extensions.append(headers.get("sec-websocket-extensions", ""))
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if "/_nicegui_ws/" in url and "transport=polling" in url:
                    self.polling_requests += 1
        return frames

    def received(self, seconds: float) -> list[Frame]:
        """The frames received over the next `seconds`."""
        self.drain()
        time.sleep(seconds)
        return self.drain()

    # -- pages --

    def sign_in(self, base: str, username: str, password: str, timeout: float = 120) -> None:
        """Through the login page, as a person does; the session cookie stays in the profile."""
        self.driver.get(base + "/login")
        self.wait(
            lambda: self.driver.find_elements(By.CSS_SELECTOR, "input[autocomplete=username]"),
            30,
            "the login page",
        )
        self.driver.find_element(By.CSS_SELECTOR, "input[autocomplete=username]").send_keys(
            username
        )
        self.driver.find_element(By.CSS_SELECTOR, "input[autocomplete=current-password]").send_keys(
            password + "\n"
        )
        self.wait(self.rows_rendered, timeout, "the torrent table after signing in")

    def rows_rendered(self) -> int:
        return self.driver.execute_script(
            f"return document.querySelectorAll({json.dumps(ROW_SELECTOR)}).length"
        )

    def first_rows(self, timeout: float = 60) -> dict:
        """After a navigation: the probe's marks and the navigation timing (ms)."""
        return self.wait(
            lambda: self.driver.execute_script(
                """
                if (window.__tdRowsShown === undefined) return null;
                const nav = performance.getEntriesByType("navigation")[0];
                return {
                  inDom: window.__tdRowsInDom, shown: window.__tdRowsShown,
                  responseStart: nav.responseStart, responseEnd: nav.responseEnd,
                  domContentLoaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
                  decodedBody: nav.decodedBodySize, encodedBody: nav.encodedBodySize,
                };
                """
            ),
            timeout,
            "the first rows",
        )

    def grid_row_count(self) -> int:
        return self.driver.execute_script(
            GRID_API + "return api ? api.getDisplayedRowCount() : -1;"
        )

    def grid_rows_json_bytes(self) -> int:
        """The table's rows as JSON, as the grid holds them (UTF-8 bytes)."""
        return self.driver.execute_script(
            GRID_API
            + """
            const rows = [];
            api.forEachNode(n => rows.push(n.data));
            return new TextEncoder().encode(JSON.stringify(rows)).length;
            """
        )

    def scroll_to_end(self, timeout: float = 10) -> tuple[bool, float, str]:
        """Scroll the grid to its last displayed row; whether that row is then rendered with
        its name, how long it took (ms), and what was found."""
        started = time.perf_counter()
        expected = self.driver.execute_script(
            GRID_API
            + """
            const last = api.getDisplayedRowCount() - 1;
            api.ensureIndexVisible(last, "bottom");
            return {index: last, name: api.getDisplayedRowAtIndex(last).data.name};
            """
        )
        script = """
            const row = document.querySelector(
              `.ag-center-cols-container .ag-row[row-index="${arguments[0]}"]`);
            const cell = row && row.querySelector('[col-id="name"]');
            return cell ? cell.textContent : null;
        """
        shown = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.driver.execute_script(script, expected["index"])
            if shown is not None and expected["name"] in shown:
                return True, (time.perf_counter() - started) * 1000, shown
            time.sleep(0.02)
        return False, timeout * 1000, f"row {expected['index']} shows {shown!r}, not {expected}"

    def wait(self, predicate, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = predicate()
            except WebDriverException:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise RuntimeError(f"headless Chromium: no {what} within {timeout:g} s")
            time.sleep(0.02)
