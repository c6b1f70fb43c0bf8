"""The API docs in real headless Chromium with every request to anything but the app blocked:
signed out, /docs goes to the login page and back; Swagger UI and ReDoc render from the app's own
files, titled torrentdesk with its version. Screenshots go to screenshots/ (git-ignored)."""

from __future__ import annotations

import http.server
import threading
from urllib.parse import quote

import pytest

from tests.daemons.common import free_port
from tests.e2e.test_browser import app_url, browser, fill, shot, wait  # noqa: F401
from torrentdesk import __version__

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402

pytestmark = [pytest.mark.daemon, pytest.mark.slow]
# Where FastAPI's own docs pages load their files from.
CDNS = ["*://cdn.jsdelivr.net/*", "*unpkg.com*", "*://fonts.googleapis.com/*", "*tiangolo.com*"]
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


class EmptyPage(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def other_site():
    """A site on loopback beside the app: the browser must not reach it either."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), EmptyPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def block_all_but(driver, origin: str) -> None:
    """Requests to anything but `origin` fail, as on a LAN without internet."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.setBlockedURLs",
        {
            "urls": CDNS,
            # In order: the first pattern that matches decides.
            "urlPatterns": [
                {"urlPattern": f"{origin}/*", "block": False},
                {"urlPattern": "*://*:*/*", "block": True},
            ],
        },
    )


def reachable(driver, url: str) -> bool:
    return driver.execute_async_script(
        "const done = arguments[1];"
        "fetch(arguments[0], {mode: 'no-cors'}).then(() => done(true), () => done(false));",
        url,
    )


def loaded_elsewhere(driver, origin: str) -> list[str]:
    """What the page loaded, or tried to load, from anywhere but `origin`."""
    urls = driver.execute_script(
        "return [...performance.getEntriesByType('resource').map(e => e.name),"
        " ...[...document.querySelectorAll('script[src], link[href], img[src]')]"
        "   .map(e => e.src || e.href)];"
    )
    return [url for url in urls if not url.startswith(origin + "/")]


def test_the_api_docs_work_without_internet(app_url, browser, other_site):  # noqa: F811
    base, admin_password = app_url
    driver = browser
    driver.get(base + "/health")  # a page of the app's origin, to fetch from
    assert reachable(driver, other_site)  # the browser reaches other sites...
    block_all_but(driver, base)
    assert not reachable(driver, other_site)  # ...until blocked: only the app is left
    assert not reachable(driver, "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css")
    assert reachable(driver, base + "/health")

    # Signed out: the login page, and back to the docs after signing in.
    driver.get(base + "/docs")
    wait(driver, lambda d: "/login" in d.current_url)
    assert driver.current_url == f"{base}/login?redirect_to={quote('/docs', safe='')}"
    fill(driver, "Username", "admin")
    fill(driver, "Password", admin_password + "\n")
    wait(driver, lambda d: d.current_url == base + "/docs")

    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"), 30)
    title = driver.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text
    assert title.startswith("torrentdesk"), title
    assert __version__ in title
    operations = {
        e.text.replace("\u200b", "")  # Swagger UI lets long paths wrap at zero-width spaces
        for e in driver.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    }
    assert {"/health", "/torrents/upload", "/servers/{server_id}/test"} <= operations
    assert not [p for p in operations if p.startswith(("/assets", "/_nicegui", "/login"))]
    assert loaded_elsewhere(driver, base) == []
    shot(driver, "docs-offline")

    driver.get(base + "/redoc")
    heading = wait(
        driver,
        lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, ".api-info h1") if e.text],
        30,
    )[0]
    assert heading.text == f"torrentdesk ({__version__})"
    wait(driver, lambda d: "/torrents/upload" in d.find_element(By.TAG_NAME, "body").text)
    # ReDoc's one outside file, its maker's logo (which its page's policy refuses, see
    # tests/test_api_docs.py), is dropped when it cannot load.
    wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, f"img[src='{REDOC_LOGO}']"))
    assert loaded_elsewhere(driver, base) == [REDOC_LOGO]
    shot(driver, "redoc-offline")
