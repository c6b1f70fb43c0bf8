"""Web sign-in (SPEC §8) through the NiceGUI pages: the login form, its throttle shared with
the API, redirects, logging out, and what needs a session."""

from nicegui.testing import User

from tests.ui_fixtures import PASSWORD, sign_in
from torrentdesk.services.auth import MAX_FAILURES


async def test_pages_need_a_session_and_the_schema_is_401(ui_app, user: User) -> None:
    client = user.http_client
    for path in ("/", "/docs"):  # the API docs are pages too (tests/test_api_docs.py)
        page = await client.get(path, follow_redirects=False)
        assert page.status_code in (302, 307)
        assert page.headers["location"] == f"/login?redirect_to=%2F{path[1:]}"
    response = await client.get("/openapi.json")
    assert response.status_code == 401
    assert response.json() == {"detail": "sign in first"}
    assert (await client.get("/health")).json()["status"] == "ok"
    # The API keeps its own bearer-token auth (and its own message).
    api = await client.get("/servers")
    assert api.status_code == 401
    assert "bearer token" in api.json()["detail"]
    assert (await client.get("/login")).status_code == 200


async def test_wrong_password_then_sign_in_goes_where_asked(ui_app, user: User) -> None:
    ui_app.add_user("alice")
    await user.open("/login?redirect_to=%2F%3Fq%3D1")
    user.find(marker="login-username").type("alice")
    user.find(marker="login-password").type("wrong password")
    user.find(marker="login-submit").click()
    await user.should_see("wrong username or password", retries=50)  # argon2 on a busy box
    assert user.back_history[-1].startswith("/login")

    user.find(marker="login-password").type(PASSWORD)
    user.find(marker="login-submit").click()
    await user.should_see(marker="torrent-grid", retries=50)
    assert user.back_history[-1] == "/?q=1"
    await user.should_see("alice")
    # Signed in: the docs open, and the login page sends us on.
    assert (await user.http_client.get("/docs")).status_code == 200
    login = await user.http_client.get("/login", follow_redirects=False)
    assert login.headers["location"] == "/"


async def test_redirect_target_stays_on_this_site(ui_app, user: User) -> None:
    ui_app.add_user("alice")
    await user.open("/login?redirect_to=%2F%2Fevil.example%2Fx")
    user.find(marker="login-username").type("alice")
    user.find(marker="login-password").type(PASSWORD)
    user.find(marker="login-submit").click()
    await user.should_see(marker="torrent-grid", retries=50)
    assert user.back_history[-1] == "/"


async def test_the_form_is_throttled_with_the_api(ui_app, user: User) -> None:
    ui_app.add_user("alice")
    # Failures through the API count for the form too: one throttle for both.
    for _ in range(MAX_FAILURES - 1):
        response = await user.http_client.post(
            "/auth/token", json={"username": "alice", "password": "nope"}
        )
        assert response.status_code == 401
    await user.open("/login")
    user.find(marker="login-username").type("alice")
    user.find(marker="login-password").type("still wrong")
    user.find(marker="login-submit").click()
    await user.should_see("wrong username or password", retries=50)  # argon2 on a busy box
    user.find(marker="login-password").type(PASSWORD)  # right, but too late
    user.find(marker="login-submit").click()
    await user.should_see(content="too many failed sign-ins; try again in", retries=20)
    [label] = user.find(marker="login-error").elements
    assert label.text.startswith("too many failed sign-ins; try again in ")
    assert 890 <= int(label.text.split(" in ")[1].removesuffix(" s")) <= 900
    assert user.back_history[-1] == "/login"
    api = await user.http_client.post(
        "/auth/token", json={"username": "alice", "password": PASSWORD}
    )
    assert api.status_code == 429


async def test_log_out_clears_the_session(ui_app, user: User) -> None:
    ui_app.add_user("alice")
    await sign_in(user)
    user.find(marker="menu-logout").click()
    await user.should_see(marker="login-submit", retries=20)
    page = await user.http_client.get("/", follow_redirects=False)
    assert page.headers["location"].startswith("/login")
    assert (await user.http_client.get("/openapi.json")).status_code == 401


async def test_a_password_change_or_deleting_the_user_ends_web_sessions(ui_app, user: User) -> None:
    ui_app.add_user("alice")
    await sign_in(user)
    ui_app.services.users.set_password("alice", "a-new-password-1")
    await user.open("/")
    await user.should_see(marker="login-submit", retries=20)
    assert (await user.http_client.get("/openapi.json")).status_code == 401

    await sign_in(user, password="a-new-password-1")
    ui_app.services.users.delete("alice")
    await user.open("/")
    await user.should_see(marker="login-submit", retries=20)
