"""The API docs (/docs, /redoc): served with no internet from the installed package, titled
torrentdesk with its version, listing the REST API only; signed out, a browser goes to the login
page while /openapi.json stays 401 (SPEC §9)."""

import re
from urllib.parse import quote

from nicegui.testing import User

from tests.ui_fixtures import PASSWORD
from torrentdesk import __version__

# The files each page loads: Swagger UI's script and style, ReDoc's script.
ASSET_TYPES = {
    "/docs": {"script": "javascript", "stylesheet": "css"},
    "/redoc": {"script": "javascript"},
}
MIN_ASSET_BYTES = 100_000  # the real bundles are 0.2-1.5 MB, not an error page


def page_assets(html: str) -> list[tuple[str, str]]:
    """What a page loads: ("script" or "stylesheet", url)."""
    scripts = re.findall(r'<script src="([^"]+)"', html)
    styles = re.findall(r'rel="stylesheet" href="([^"]+)"', html)
    return [("script", url) for url in scripts] + [("stylesheet", url) for url in styles]


async def check_docs_pages(get) -> None:
    """Each docs page loads only this app's files, and each answers with its real contents."""
    for page, types in ASSET_TYPES.items():
        response = await get(page)
        assert response.status_code == 200, page
        html = response.text
        assert "://" not in html, f"{page} loads something from another site"
        assert "<title>torrentdesk API" in html
        if page == "/redoc":  # nor its maker's logo from its CDN
            # (the served app adds its frame-ancestors 'none' to this policy)
            policy = response.headers["content-security-policy"].split(";")[0]
            assert policy == "img-src 'self' data:"
        assets = page_assets(html)
        assert sorted(kind for kind, _ in assets) == sorted(types), (page, assets)
        for kind, url in assets:
            assert url.startswith("/docs-assets/"), url
            asset = await get(url)
            assert asset.status_code == 200, url
            assert types[kind] in asset.headers["content-type"], url
            assert len(asset.content) > MIN_ASSET_BYTES, url


def check_schema(schema: dict) -> None:
    assert schema["info"]["title"] == "torrentdesk"
    assert schema["info"]["version"] == __version__
    assert "Authorization: Bearer" in schema["info"]["description"]
    paths = set(schema["paths"])
    assert {"/health", "/auth/token", "/servers", "/torrents", "/actions"} <= paths
    # Only the REST API: no static files, pages, NiceGUI internals nor the docs themselves.
    internal = ("/assets", "/docs", "/_nicegui", "/_native", "/login", "/openapi", "/redoc")
    assert [p for p in paths if p.startswith(internal) or p == "/"] == []


async def test_docs_load_their_files_from_the_app(api):
    async def get(url):
        return api.client.get(url)

    await check_docs_pages(get)
    check_schema(api.client.get("/openapi.json").json())


async def test_signed_out_the_docs_send_browsers_to_login_and_the_schema_is_401(
    ui_app, user: User
) -> None:
    client = user.http_client
    for page in ("/docs", "/redoc", "/docs?x=1"):
        response = await client.get(page, follow_redirects=False)
        assert response.status_code in (302, 307), page
        assert response.headers["location"] == f"/login?redirect_to={quote(page, safe='')}"
    for path in ("/openapi.json", "/docs-assets/swagger-ui-bundle.js"):
        response = await client.get(path)
        assert response.status_code == 401, path
        assert response.json() == {"detail": "sign in first"}
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await client.get("/openapi.json", headers=bad)).status_code == 401
    assert (await client.get("/docs", headers=bad)).status_code in (302, 307)


async def test_with_a_token_the_served_app_documents_its_api_only(ui_app, user: User) -> None:
    """On NiceGUI's app, with its pages, static files and internal routes beside the API."""
    ui_app.add_user("alice")
    client = user.http_client
    token = await client.post("/auth/token", json={"username": "alice", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['token']}"}

    async def get(url):
        return await client.get(url, headers=headers)

    await check_docs_pages(get)
    schema = await get("/openapi.json")
    assert schema.status_code == 200
    check_schema(schema.json())
