"""The API token dialog: a token is shown once, works on the API, is listed, and revoked."""

from nicegui.testing import User

from tests.ui_fixtures import sign_in


async def test_create_use_list_and_revoke_api_tokens(ui_app, user: User) -> None:
    ui_app.add_user("alice")
    await sign_in(user)
    user.find(marker="menu-token").click()
    await user.should_see("No tokens yet.", retries=20)

    user.find(marker="token-create").click()
    await user.should_see(marker="token-row", retries=20)
    [field] = user.find(marker="token-value").elements
    token = field.value
    assert len(token) >= 43
    headers = {"Authorization": f"Bearer {token}"}
    assert (await user.http_client.get("/servers", headers=headers)).status_code == 200
    [row] = user.find(marker="token-row").elements
    assert "last used never" in row.default_slot.children[1].text

    user.find(marker="token-revoke").click()
    await user.should_see("The token was revoked: it no longer signs in.", retries=20)
    await user.should_see("No tokens yet.", retries=20)
    assert field.value == ""
    assert (await user.http_client.get("/servers", headers=headers)).status_code == 401
    assert ui_app.services.auth.list_tokens(1) == []


def test_a_user_revokes_only_their_own_tokens(ui_app) -> None:
    alice, bob = ui_app.add_user("alice"), ui_app.add_user("bob")
    auth = ui_app.services.auth
    auth.issue_token(alice)
    [alices] = auth.list_tokens(alice)
    assert auth.revoke_token_id(bob, alices.id) is False
    assert [t.id for t in auth.list_tokens(alice)] == [alices.id]
    assert auth.revoke_token_id(alice, alices.id) is True
    assert auth.list_tokens(alice) == []
