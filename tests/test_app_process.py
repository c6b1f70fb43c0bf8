"""The real `torrentdesk` process: served API, first-start admin, data dir, clean stop."""

import signal

import httpx
import pytest

from tests.api_fixtures import transmission_fields
from tests.app_process import add_user, start_app
from tests.daemons.common import free_port
from tests.test_api_auth import PROTECTED
from tests.torrent_factory import make_torrent
from torrentdesk import __version__ as VERSION

pytestmark = [pytest.mark.daemon, pytest.mark.slow]


def test_served_api_end_to_end(tmp_path, transmission_clean):
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    app = start_app(tmp_path / "data", port=free_port(), cwd=workdir)
    try:
        password = app.admin_password()
        with httpx.Client(base_url=app.base, timeout=30) as http:
            assert http.get("/health").json()["status"] == "ok"
            assert http.get("/servers").status_code == 401
            assert http.get("/docs").headers["location"] == "/login?redirect_to=%2Fdocs"
            assert http.get("/openapi.json").status_code == 401
            body = {"username": "admin", "password": password}
            token = http.post("/auth/token", json=body).json()
            headers = {"Authorization": f"Bearer {token['token']}"}
            assert token["user"]["is_admin"] is True
            # SPEC §8: everything but /health and the login page needs a session or a token.
            assert http.get("/docs", headers=headers).status_code == 200
            schema = http.get("/openapi.json", headers=headers).json()
            assert (schema["info"]["title"], schema["info"]["version"]) == ("torrentdesk", VERSION)
            bad = {"Authorization": "Bearer nope"}
            assert http.get("/openapi.json", headers=bad).status_code == 401
            server = http.post(
                "/servers", json=transmission_fields(transmission_clean), headers=headers
            )
            assert server.status_code == 201
            torrent = make_torrent("served.bin")
            uploaded = http.post(
                f"/torrents/upload?server_id={server.json()['id']}&start=false",
                files={"file": ("served.torrent", torrent.data)},
                headers=headers,
            )
            assert uploaded.status_code == 201
            listing = http.get("/torrents", headers=headers).json()
            assert [t["info_hash"] for t in listing["torrents"]] == [torrent.info_hash]
            assert listing["servers"][0]["status"] == "connected"
    finally:
        code = app.stop(signal.SIGTERM)
    assert code == 0, app.output()
    names = {p.name for p in (tmp_path / "data").iterdir()}
    assert {"torrentdesk.sqlite", "secret.key", "session.secret"} <= names
    assert list(workdir.iterdir()) == []  # nothing in the working directory


def test_the_admin_password_is_printed_only_on_first_start(tmp_path):
    data_dir = tmp_path / "data"
    add_user(data_dir, "alice", "long-enough-pw")
    app = start_app(data_dir, port=free_port())
    app.wait_for_line(r"serving on http://127\.0\.0\.1:")
    assert app.stop(signal.SIGINT) == 0
    output = app.output()
    # No display: no native window, and the console says why.
    assert "no native window: there is no display" in output
    assert "password" not in output  # a user exists: no admin is created


def test_lan_mode_keeps_every_page_and_api_path_behind_a_session_or_token(tmp_path):
    port = free_port()
    app = start_app(tmp_path / "data", "--host", "0.0.0.0", port=port)
    try:
        app.wait_for_line(r"serving on http://0\.0\.0\.0:")
        password = app.admin_password()
        with httpx.Client(base_url=app.base, timeout=30) as http:
            for page in ("/", "/?server=x"):
                response = http.get(page)
                assert response.status_code in (302, 307), page
                assert response.headers["location"].startswith("/login?redirect_to=")
            assert http.get("/login").status_code == 200
            assert http.get("/health").status_code == 200
            for page in ("/docs", "/redoc"):  # pages: to the login page
                assert http.get(page).headers["location"].startswith("/login?redirect_to="), page
            assert http.get("/openapi.json").status_code == 401
            for method, path in PROTECTED:
                assert http.request(method, path).status_code == 401, (method, path)
            # The password printed once at first start signs in.
            body = {"username": "admin", "password": password}
            assert http.post("/auth/token", json=body).status_code == 200
            body["password"] = password + "x"
            assert http.post("/auth/token", json=body).status_code == 401
    finally:
        assert app.stop() == 0, app.output()
