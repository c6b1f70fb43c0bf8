"""What every request meets on the real served app (SPEC §14; torrentdesk/middleware.py).

Bodies are bounded before they are read: a request with a body shows its token (or session)
first and gets its 401 before the body is sent; a Content-Length over the limit is a 413 at
once; a body streamed without one is cut off with a 413 past the limit; uploads of a 10 MiB
.torrent still work. And the session cookie is Secure when the request came over https.

The requests are written on a raw socket, so a test knows exactly how much of a body went out
before the answer came back."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.api_fixtures import transmission_fields
from tests.app_process import start_app
from tests.daemons.common import free_port
from tests.torrent_factory import PIECE_LENGTH, make_torrent
from torrentdesk.middleware import BODY_LIMIT, MIB, UPLOAD_LIMIT
from torrentdesk.torrent_input import MAX_TORRENT_FILE_SIZE

pytestmark = [pytest.mark.daemon, pytest.mark.slow]

CHUNK = 64 * 1024
ANSWER_TIMEOUT = 15


@dataclass
class Served:
    port: int
    base: str
    headers: dict[str, str]  # a valid bearer token

    def auth(self) -> str:
        return f"Authorization: {self.headers['Authorization']}\r\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    port = free_port()
    # Behind a proxy on 127.0.0.1 (the https test below); the other tests do not mind it.
    data_dir = tmp_path_factory.mktemp("limits") / "data"
    app = start_app(data_dir, "--trusted-proxy", "127.0.0.1", port=port)
    try:
        password = app.admin_password()
        with httpx.Client(base_url=app.base, timeout=30) as http:
            body = {"username": "admin", "password": password}
            token = http.post("/auth/token", json=body).json()["token"]
        yield Served(port, app.base, {"Authorization": f"Bearer {token}"})
    finally:
        assert app.stop() == 0, app.output()


@dataclass
class Answer:
    status: int
    body: dict
    sent: int  # body bytes written before the answer was read


def send(port: int, head: str, body: Iterator[bytes], *, until_answered: bool) -> Answer:
    """Write `head`, then the body's chunks from a thread: only the first one, or with
    `until_answered` every one until the answer arrives (or the server stops reading)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT)
    answered = threading.Event()
    sent = 0

    def write() -> None:
        nonlocal sent
        try:
            sock.sendall(head.encode())
            for chunk in body:
                sock.sendall(chunk)
                sent += len(chunk)
                if answered.is_set() or not until_answered:
                    return
        except OSError:
            pass  # the server answered and closed: what it did not read was never needed

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()
        status, data = response.status, response.read()
        written = sent
    finally:
        answered.set()
        sock.close()
        writer.join(5)
    return Answer(status, json.loads(data), written)


def head(method: str, path: str, *headers: str) -> str:
    return f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{''.join(headers)}\r\n"


def filler(total: int) -> Iterator[bytes]:
    """`total` bytes of a JSON string, in chunks."""
    yield b'{"name": "' + b"x" * (CHUNK - 10)
    for _ in range((total - CHUNK) // CHUNK):
        yield b"x" * CHUNK


def chunked(chunks: Iterator[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        yield f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    yield b"0\r\n\r\n"


JSON = "Content-Type: application/json\r\n"
CHUNKED = "Transfer-Encoding: chunked\r\n"


def test_a_body_without_a_valid_token_gets_401_before_it_is_sent(served):
    big = 80 * 1000 * 1000
    cases = [
        # (path, credentials) for an 80 MB JSON body, announced and then streamed
        ("/servers", ""),
        ("/torrents/actions", "Authorization: Bearer not-a-token\r\n"),
        ("/torrents/upload?server_id=x", ""),
        ("/_nicegui/client/some-client/upload/7", ""),  # the add dialog's: a session's only
    ]
    for path, credentials in cases:
        length = f"Content-Length: {big}\r\n"
        answer = send(
            served.port,
            head("POST", path, JSON, length, credentials),
            filler(big),
            until_answered=False,
        )
        assert answer.status == 401, (path, answer)
        assert answer.body["detail"].startswith("sign in first"), path
        assert answer.sent == CHUNK, path  # 64 KiB of 80 MB went out; the answer came anyway
        answer = send(
            served.port,
            head("POST", path, JSON, CHUNKED, credentials),
            chunked(filler(big)),
            until_answered=False,
        )
        assert answer.status == 401, (path, answer)


def test_a_body_announced_over_its_limit_is_413_at_once(served):
    for path, limit in [
        ("/torrents/actions", BODY_LIMIT),
        ("/servers", BODY_LIMIT),
        ("/torrents/upload?server_id=x", UPLOAD_LIMIT),
        ("/rules/preview", UPLOAD_LIMIT),  # it takes the same .torrent files
    ]:
        for length in (100 * 1000 * 1000, limit + 1):
            headers = (JSON, f"Content-Length: {length}\r\n", served.auth())
            answer = send(served.port, head("POST", path, *headers), iter([]), until_answered=False)
            assert answer.status == 413, (path, length, answer)
            assert answer.body == {
                "detail": f"the request body is larger than {limit // MIB} MiB, the most "
                "accepted here"
            }, path


def test_a_streamed_body_past_its_limit_is_cut_off_with_413(served):
    for path, limit in [("/torrents/actions", BODY_LIMIT), ("/servers", BODY_LIMIT)]:
        answer = send(
            served.port,
            head("POST", path, JSON, CHUNKED, served.auth()),
            chunked(filler(3 * limit)),
            until_answered=True,
        )
        assert answer.status == 413, (path, answer)
        assert answer.body["detail"].startswith(f"the request body is larger than {limit // MIB}")
        assert answer.sent < 3 * limit, path  # cut off, not read to its end
    # A multipart upload is cut off at its own limit, never spooled whole.
    boundary = "limits"
    start = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.torrent"\r\n'
        "Content-Type: application/x-bittorrent\r\n\r\n"
    ).encode()
    form = f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
    answer = send(
        served.port,
        head("POST", "/torrents/upload?server_id=x", form, CHUNKED, served.auth()),
        chunked(iter([start, *filler(2 * UPLOAD_LIMIT)])),
        until_answered=True,
    )
    assert answer.status == 413, answer
    assert answer.body["detail"].startswith("the request body is larger than 11 MiB")
    # Under the limit, a streamed body is read whole as before: the route's own answer.
    targets = [{"server_id": "nope", "info_hash": "a" * 40}] * 5000  # ~0.4 MiB
    body = json.dumps({"action": "start", "targets": targets}).encode()
    pieces = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
    answer = send(
        served.port,
        head("POST", "/torrents/actions", JSON, CHUNKED, served.auth()),
        chunked(iter(pieces)),
        until_answered=True,
    )
    assert answer.status == 200, answer
    assert len(answer.body["results"]) == 5000
    assert not any(result["ok"] for result in answer.body["results"])


def test_a_10_mib_torrent_still_uploads(served, transmission_clean):
    # As large as a .torrent may be: ~524 000 pieces of 16 KiB (an 8 GiB torrent).
    pieces = (MAX_TORRENT_FILE_SIZE - 1024) // 20
    torrent = make_torrent("big.bin", length=pieces * PIECE_LENGTH)
    assert MAX_TORRENT_FILE_SIZE - 2048 < len(torrent.data) <= MAX_TORRENT_FILE_SIZE
    with httpx.Client(base_url=served.base, headers=served.headers, timeout=60) as http:
        server = http.post("/servers", json=transmission_fields(transmission_clean))
        assert server.status_code == 201, server.text
        uploaded = http.post(
            f"/torrents/upload?server_id={server.json()['id']}&start=false",
            files={"file": ("big.torrent", torrent.data)},
        )
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.json()["info_hash"] == torrent.info_hash
        # Over 10 MiB but under the 11 MiB cap: the route's own 413 still speaks.
        too_big = http.post(
            f"/torrents/upload?server_id={server.json()['id']}",
            files={"file": ("big.torrent", b"d4:info" + b"x" * MAX_TORRENT_FILE_SIZE)},
        )
        assert too_big.status_code == 413
        assert "larger than 10485760 bytes" in too_big.json()["detail"]


def test_the_session_cookie_is_secure_only_over_https(served):
    # uvicorn takes X-Forwarded-Proto from a proxy it trusts (here --trusted-proxy 127.0.0.1),
    # as from an nginx in front that terminates TLS.
    with httpx.Client(base_url=served.base, timeout=30) as http:
        for headers, secure in (({}, False), ({"X-Forwarded-Proto": "https"}, True)):
            cookie = http.get("/login", headers=headers).headers["set-cookie"]
            flags = {part.strip().lower() for part in cookie.split(";")[1:]}
            assert cookie.startswith("torrentdesk_session=")
            assert {"httponly", "samesite=lax"} <= flags, cookie
            assert ("secure" in flags) is secure, cookie
            http.cookies.clear()
