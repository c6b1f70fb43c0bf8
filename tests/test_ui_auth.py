"""Web sign-in (SPEC §8, §14) through the NiceGUI pages: the login form, its throttle shared
with the API, redirects, logging out, what needs a session, and the session cookie itself: fresh
at every sign-in and sign-out, ours, HttpOnly, SameSite=Lax, Secure under https."""

import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from http.cookiejar import Cookie

import httpx
from nicegui import app
from nicegui.testing import User

from tests.ui_fixtures import PASSWORD, element, eventually, page_path, sign_in
from torrentdesk import native
from torrentdesk.services.auth import MAX_FAILURES
from torrentdesk.ui.auth import LOGIN_PATH, RENEW_PATH, SESSION_COOKIE, register_native_sign_in


@contextlib.asynccontextmanager
async def another_browser(base_url: str = "http://test") -> AsyncIterator[httpx.AsyncClient]:
    """A second browser on the app the `user` fixture runs (its own cookie jar)."""
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        yield client


def session_cookie(client: httpx.AsyncClient) -> Cookie:
    """The one session cookie in a browser's jar, whatever the app names it."""
    [cookie] = client.cookies.jar
    return cookie


async def signed_in(client: httpx.AsyncClient) -> bool:
    """Whether this browser's session is signed in (the schema needs a session or a token)."""
    return (await client.get("/openapi.json")).status_code == 200


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
    assert page_path(user) == "/?q=1"
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
    assert page_path(user) == "/"


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


async def test_fifteen_forms_sent_at_once_get_exactly_five_tries(
    ui_app, user: User, create_user
) -> None:
    ui_app.add_user("alice")
    browsers = [user, *(create_user() for _ in range(14))]
    for browser in browsers:
        await browser.open("/login")
        browser.find(marker="login-username").type("alice")
        browser.find(marker="login-password").type("wrong password")
    for browser in browsers:  # each click starts its sign-in; all of them run at once
        browser.find(marker="login-submit").click()
    labels = [element(browser, "login-error") for browser in browsers]
    await eventually(lambda: all(label.text for label in labels), message="15 answers")
    answers = Counter(label.text.split(";")[0] for label in labels)
    assert answers == {"wrong username or password": 5, "too many failed sign-ins": 10}


async def test_log_out_clears_the_session(ui_app, user: User) -> None:
    ui_app.add_user("alice")
    await sign_in(user)
    old = session_cookie(user.http_client)
    user.find(marker="menu-logout").click()
    await user.should_see(marker="login-submit", retries=20)
    page = await user.http_client.get("/", follow_redirects=False)
    assert page.headers["location"].startswith("/login")
    assert not await signed_in(user.http_client)
    # A fresh session for the login page; the old cookie, wherever a copy of it went, is dead.
    assert session_cookie(user.http_client).value != old.value
    async with another_browser() as copy:
        copy.cookies.set(old.name, old.value, domain=old.domain, path=old.path)
        assert not await signed_in(copy)
        page = await copy.get("/", follow_redirects=False)
        assert page.headers["location"].startswith("/login")


async def test_a_session_cookie_planted_before_sign_in_is_not_signed_in(ui_app, user) -> None:
    """Session fixation: someone who got a session cookie from the app plants it in a victim's
    browser; the victim signs in; the planted cookie must not be signed in."""
    ui_app.add_user("alice")
    async with another_browser() as attacker:
        assert (await attacker.get(LOGIN_PATH)).status_code == 200
        planted = session_cookie(attacker)
        user.http_client.cookies.set(
            planted.name, planted.value, domain=planted.domain, path=planted.path
        )
        await sign_in(user)
        assert page_path(user) == "/"
        assert await signed_in(user.http_client)
        assert session_cookie(user.http_client).value != planted.value
        assert not await signed_in(attacker)
        page = await attacker.get("/", follow_redirects=False)
        assert page.headers["location"].startswith(LOGIN_PATH)


async def test_a_sign_in_ticket_works_once_and_only_for_its_browser(ui_app, user) -> None:
    ui_app.add_user("alice")
    async with another_browser() as other:
        await other.get(LOGIN_PATH)
        await user.open(LOGIN_PATH)
        before = session_cookie(user.http_client)
        # The form's ticket, taken before the browser spends it (as if read off the wire) ...
        tickets = []
        original = user.navigate.to
        user.navigate.to = lambda target, new_tab=False: tickets.append(target)
        try:
            user.find(marker="login-username").type("alice")
            user.find(marker="login-password").type(PASSWORD)
            user.find(marker="login-submit").click()
            await user.should_see(marker="login-submit")  # still on the form
            await eventually(lambda: tickets, message="the sign-in ticket")
        finally:
            user.navigate.to = original
        [ticket] = tickets
        assert ticket.startswith(f"{RENEW_PATH}?ticket=")
        # ... is nothing to another browser (and is spent by its try),
        refused = await other.get(ticket, follow_redirects=False)
        assert refused.headers["location"] == LOGIN_PATH
        assert not await signed_in(other)
        # ... nor, once spent, to its own.
        assert (await user.http_client.get(ticket, follow_redirects=False)).headers[
            "location"
        ] == LOGIN_PATH
        assert not await signed_in(user.http_client)
        assert session_cookie(user.http_client).value == before.value


async def test_the_session_cookie_is_ours_httponly_samesite_and_secure_under_https(
    ui_app, user
) -> None:
    for base_url, secure in (("http://test", False), ("https://test", True)):
        async with another_browser(base_url) as browser:
            response = await browser.get(LOGIN_PATH)
            [cookie] = response.headers.get_list("set-cookie")
            name, _, rest = cookie.partition("=")
            flags = {part.strip().lower() for part in rest.split(";")[1:]}
            assert name == SESSION_COOKIE == "torrentdesk_session"
            assert {"httponly", "samesite=lax"} <= flags, cookie
            assert ("secure" in flags) is secure, cookie


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


async def test_the_native_window_sign_in_renews_the_session_too(ui_app, user) -> None:
    ui_app.services.users.create("owner", PASSWORD, is_admin=True)
    key = native.LaunchKey()
    register_native_sign_in(ui_app.services, key)
    async with another_browser() as window:
        await window.get(LOGIN_PATH)
        before = session_cookie(window)
        page = await window.get(f"{native.SIGN_IN_PATH}?{key.url_query}", follow_redirects=True)
        assert (page.status_code, page.url.path) == (200, "/")
        assert await signed_in(window)
        assert session_cookie(window).value != before.value
    async with another_browser() as copy:
        copy.cookies.set(before.name, before.value, domain=before.domain, path=before.path)
        assert not await signed_in(copy)
