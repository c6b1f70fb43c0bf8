"""SPEC §5 Auth, and 401 on every protected endpoint."""

import pytest

from torrentdesk import __version__
from torrentdesk.services.auth import LoginThrottle

HASH = "0123456789abcdef0123456789abcdef01234567"
PROTECTED = [
    ("DELETE", "/auth/token"),
    ("GET", "/servers"),
    ("POST", "/servers"),
    ("GET", "/servers/some-id"),
    ("PUT", "/servers/some-id"),
    ("DELETE", "/servers/some-id"),
    ("POST", "/servers/some-id/test"),
    ("GET", "/torrents"),
    ("POST", "/torrents"),
    ("POST", "/torrents/upload?server_id=x"),
    ("GET", f"/torrents/{HASH}"),
    ("POST", f"/torrents/{HASH}/start"),
    ("POST", f"/torrents/{HASH}/stop"),
    ("DELETE", f"/torrents/{HASH}"),
    ("GET", "/actions"),
]


def test_health_needs_no_token(api):
    response = api.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_other_endpoint_is_401_without_a_valid_token(api, method, path):
    missing = api.client.request(method, path)
    assert missing.status_code == 401
    assert missing.json() == {"detail": "missing bearer token: sign in with POST /auth/token"}
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = api.client.request(method, path, headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401
    assert "invalid or revoked token" in wrong.json()["detail"]
    basic = api.client.request(method, path, headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401


def test_token_response_shape_and_use(api):
    api.services.users.create("alice", "password-123", is_admin=True)
    response = api.client.post(
        "/auth/token", json={"username": "alice", "password": "password-123"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["user"] == {"id": 1, "username": "alice", "is_admin": True}
    assert len(body["token"]) >= 43  # 32 random bytes, base64url
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert api.client.get("/servers", headers=headers).json() == []


def test_tokens_are_stored_only_as_sha256_hashes(api):
    import hashlib

    headers = api.user("alice")
    token = headers["Authorization"].removeprefix("Bearer ")
    rows = api.query("SELECT token_hash, last_used_at FROM ApiToken")
    assert rows[0][0] == hashlib.sha256(token.encode()).hexdigest()
    api.client.get("/servers", headers=headers)
    [(last_used,)] = api.query("SELECT last_used_at FROM ApiToken")
    assert last_used is not None
    raw = b"".join(p.read_bytes() for p in api.data_dir.iterdir() if p.is_file())
    assert token.encode() not in raw


def test_bad_credentials_are_401(api):
    api.services.users.create("alice", "password-123")
    for body in (
        {"username": "alice", "password": "wrong-pass"},
        {"username": "nobody", "password": "password-123"},
    ):
        response = api.client.post("/auth/token", json=body)
        assert response.status_code == 401
        assert response.json() == {"detail": "wrong username or password"}
    # A NUL is refused as input (PostgreSQL cannot store one), never a 500.
    nul = {"username": "ali\x00ce", "password": "password-123"}
    assert api.client.post("/auth/token", json=nul).status_code == 422


def test_missing_fields_are_422_in_fastapi_format(api):
    response = api.client.post("/auth/token", json={"username": "alice"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


def test_revoking_a_token_ends_it_and_only_it(api):
    first = api.user("alice")
    second = api.sign_in("alice")
    assert api.client.delete("/auth/token", headers=first).status_code == 204
    assert api.client.get("/servers", headers=first).status_code == 401
    assert api.client.delete("/auth/token", headers=first).status_code == 401
    assert api.client.get("/servers", headers=second).status_code == 200


def test_sixth_failed_login_for_a_username_is_429_until_the_window_passes(api):
    api.services.users.create("alice", "password-123")
    for _ in range(5):
        bad = api.client.post("/auth/token", json={"username": "alice", "password": "nope-nope"})
        assert bad.status_code == 401
    sixth = api.client.post("/auth/token", json={"username": "alice", "password": "password-123"})
    assert sixth.status_code == 429
    retry_after = int(sixth.headers["retry-after"])
    assert 895 <= retry_after <= 900
    assert sixth.json()["detail"] == f"too many failed sign-ins; try again in {retry_after} s"


def test_failures_from_one_address_count_across_usernames(api):
    api.services.users.create("alice", "password-123")
    for i in range(5):
        body = {"username": f"guess{i}", "password": "nope-nope"}
        assert api.client.post("/auth/token", json=body).status_code == 401
    body = {"username": "alice", "password": "password-123"}
    assert api.client.post("/auth/token", json=body).status_code == 429


def test_throttle_window_expires(api):
    clock = [1000.0]
    api.services.auth.throttle = LoginThrottle(clock=lambda: clock[0])
    api.services.users.create("alice", "password-123")
    for _ in range(5):
        api.client.post("/auth/token", json={"username": "alice", "password": "nope-nope"})
    good = {"username": "alice", "password": "password-123"}
    assert api.client.post("/auth/token", json=good).status_code == 429
    clock[0] += 15 * 60 - 1
    refused = api.client.post("/auth/token", json=good)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    clock[0] += 1
    assert api.client.post("/auth/token", json=good).status_code == 200


def test_a_success_clears_earlier_failures(api):
    api.services.users.create("alice", "password-123")
    bad = {"username": "alice", "password": "nope-nope"}
    good = {"username": "alice", "password": "password-123"}
    for _ in range(4):
        api.client.post("/auth/token", json=bad)
    assert api.client.post("/auth/token", json=good).status_code == 200
    for _ in range(4):
        assert api.client.post("/auth/token", json=bad).status_code == 401
    assert api.client.post("/auth/token", json=good).status_code == 200


def test_openapi_lists_every_endpoint_with_models(api):
    schema = api.client.get("/openapi.json").json()
    paths = schema["paths"]
    expected = {
        "/health": {"get"},
        "/auth/token": {"post", "delete"},
        "/servers": {"get", "post"},
        "/servers/{server_id}": {"get", "put", "delete"},
        "/servers/{server_id}/test": {"post"},
        "/torrents": {"get", "post"},
        "/torrents/upload": {"post"},
        "/torrents/{info_hash}": {"get", "delete"},
        "/torrents/{info_hash}/start": {"post"},
        "/torrents/{info_hash}/stop": {"post"},
        "/actions": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    models = set(schema["components"]["schemas"])
    for model in (
        "AddServerRequest",
        "ServerResponse",
        "TestServerResponse",
        "TokenResponse",
        "TorrentResponse",
        "TorrentListResponse",
        "AddTorrentRequest",
        "AddedTorrentResponse",
        "ActionResponse",
        "UpdateServerRequest",
    ):
        assert model in models
    assert api.client.get("/docs").status_code == 200
