"""Hostile clients against the real served app (SPEC §5 "never a 500", §14; issue 13 items 5-7).

Every request here goes to a `torrentdesk` process over loopback and is counted: over-long
strings in every field of every request model, wrong JSON types, broken JSON, huge bodies,
malformed server ids and hashes, concurrent writes, foreign Host and Origin headers, socket.io
from another site, bad multipart, and sign-in floods. Each must get its exact 4xx (or 2xx), and
none a 5xx other than 502/504 (a torrent server failing). The counts by status are printed at
the end of the module and written to build/test/hostile-requests.json.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.app_process import RunningApp, add_user, start_app
from tests.daemons.common import free_port
from tests.test_request_guard import CHUNKED, JSON, chunked, filler, head, send
from tests.torrent_factory import make_torrent
from torrentdesk.middleware import BODY_LIMIT, MIB, UPLOAD_LIMIT

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
COUNTS_FILE = ROOT / "build" / "test" / "hostile-requests.json"
PROXY_NAME = "td.example.org"  # the app's --allowed-host
FOREIGN = "http://evil.example"
HASH = "a" * 40
LONG = 100_000  # characters: far past every limit, well under the 4 MiB body limit
UNUSED_PORT = free_port()  # nothing listens here: a torrent server that refuses connections


# -- Counting every request ------------------------------------------------------------------


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)

    def record(self, method: str, url: str, status: int) -> None:
        self.statuses[status] += 1
        if status >= 500 and status not in (502, 504):
            self.server_errors.append(f"{status} {method} {url}"[:200])

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    def client(self, base: str, **kwargs) -> httpx.Client:
        def count(response: httpx.Response) -> None:
            self.record(response.request.method, str(response.request.url), response.status_code)

        return httpx.Client(base_url=base, timeout=60, event_hooks={"response": [count]}, **kwargs)

    def async_client(self, base: str) -> httpx.AsyncClient:
        async def count(response: httpx.Response) -> None:
            self.record(response.request.method, str(response.request.url), response.status_code)

        return httpx.AsyncClient(base_url=base, timeout=60, event_hooks={"response": [count]})


TALLY = Tally()


@pytest.fixture(scope="module", autouse=True)
def report(request) -> Iterator[None]:
    yield
    counts = {str(status): n for status, n in sorted(TALLY.statuses.items())}
    summary = {"requests": TALLY.total, "by_status": counts, "server_errors": TALLY.server_errors}
    COUNTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    COUNTS_FILE.write_text(json.dumps(summary, indent=2) + "\n")
    line = (
        f"hostile requests: {TALLY.total} sent; by status {counts}; "
        f"5xx other than 502/504: {len(TALLY.server_errors)} (in {COUNTS_FILE.name})"
    )
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\n" + line)


@pytest.fixture(autouse=True)
def no_server_errors() -> Iterator[None]:
    """Whatever a test asserts, no request it made was answered 500 (or 501, 503...)."""
    before = len(TALLY.server_errors)
    yield
    assert TALLY.server_errors[before:] == []


# -- The app under attack --------------------------------------------------------------------


@dataclass
class Target:
    app: RunningApp
    http: httpx.Client
    admin: dict[str, str]  # headers of a signed-in admin
    bob: dict[str, str]  # another user
    server_id: str  # the admin's server (nothing listens on its port)
    bob_server_id: str

    @property
    def base(self) -> str:
        return self.app.base


def server_fields(**overrides) -> dict:
    fields = {
        "name": "black hole",
        "server_type": "transmission",
        "host": "127.0.0.1",
        "port": UNUSED_PORT,
        "username": "u",
        "password": "p",
    }
    return {**fields, **overrides}


def sign_in(http: httpx.Client, username: str, password: str) -> dict[str, str]:
    response = http.post("/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Iterator[Target]:
    data_dir = tmp_path_factory.mktemp("hostile") / "data"
    add_user(data_dir, "admin", "admin-password", admin=True)
    add_user(data_dir, "bob", "bob-password")
    app = start_app(data_dir, "--allowed-host", PROXY_NAME, port=free_port())
    try:
        with TALLY.client(app.base) as http:
            admin = sign_in(http, "admin", "admin-password")
            bob = sign_in(http, "bob", "bob-password")
            # The black hole is on loopback, which non-admins may use only if allowed.
            allowed = {"users_may_add_loopback_servers": True}
            assert http.put("/admin/settings", json=allowed, headers=admin).status_code == 200
            server = http.post("/servers", json=server_fields(), headers=admin)
            bob_server = http.post("/servers", json=server_fields(name="bob's"), headers=bob)
            assert server.status_code == bob_server.status_code == 201
            yield Target(app, http, admin, bob, server.json()["id"], bob_server.json()["id"])
    finally:
        assert app.stop() == 0, app.output()


def expect(results: list[tuple[str, int, httpx.Response]]) -> None:
    """Each (case, expected status, response): every mismatch listed at once."""
    wrong = [
        f"{case}: {response.status_code} (expected {status}) {response.text[:160]}"
        for case, status, response in results
        if response.status_code != status
    ]
    assert wrong == [], "\n".join(wrong)


# -- Over-long strings, field by field --------------------------------------------------------

# Each string field of each request model: its limit, and the status one character past it.
SERVER_STRINGS = {"name": 100, "host": 255, "username": 255, "password": 1024, "rpc_path": 255}


def too_long(field_name: str, length: int) -> str:
    value = "x" * length
    if field_name == "rpc_path":
        return "/" + value[1:]
    return value


def test_over_long_server_fields_are_422_on_add_and_edit(target):
    results = []
    for name, limit in SERVER_STRINGS.items():
        for length in (limit + 1, limit * 10, LONG):
            value = too_long(name, length)
            add = target.http.post(
                "/servers", json=server_fields(**{name: value}), headers=target.admin
            )
            edit = target.http.put(
                f"/servers/{target.server_id}", json={name: value}, headers=target.admin
            )
            results += [(f"POST {name}[{length}]", 422, add), (f"PUT {name}[{length}]", 422, edit)]
    for name in ("server_type", "protocol"):  # not one of the few allowed words
        for length in (17, LONG):
            add = target.http.post(
                "/servers", json=server_fields(**{name: "x" * length}), headers=target.admin
            )
            results.append((f"POST {name}[{length}]", 422, add))
    expect(results)
    body = results[0][2].json()["detail"][0]
    assert body["loc"] == ["body", "name"] and "at most 100 characters" in body["msg"]
    # At the limit they are fine, and stored as given.
    at_limit = {name: too_long(name, limit) for name, limit in SERVER_STRINGS.items()}
    saved = target.http.put(f"/servers/{target.server_id}", json=at_limit, headers=target.admin)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["name"], saved.json()["username"]) == (at_limit["name"], "x" * 255)
    restored = target.http.put(
        f"/servers/{target.server_id}", json=server_fields(rpc_path=None), headers=target.admin
    )
    assert restored.status_code == 200


def test_over_long_sign_in_fields_are_422_and_never_count_as_failures(target):
    results = []
    for length in (65, 640, LONG):
        body = {"username": "u" * length, "password": "whatever-password"}
        results.append((f"username[{length}]", 422, target.http.post("/auth/token", json=body)))
    for length in (1025, LONG):
        body = {"username": "admin", "password": "p" * length}
        results.append((f"password[{length}]", 422, target.http.post("/auth/token", json=body)))
    expect(results)
    assert results[0][2].json()["detail"][0]["loc"] == ["body", "username"]
    sign_in(target.http, "admin", "admin-password")  # none of them was a failed attempt


def test_over_long_torrent_fields(target):
    sid = target.server_id
    magnet = f"magnet:?xt=urn:btih:{HASH}"
    cases = [
        ("uri", 422, {"uri": "magnet:?xt=urn:btih:" + "a" * LONG, "server_id": sid}),
        ("uri url", 422, {"uri": "http://x/" + "a" * (64 * 1024), "server_id": sid}),
        ("server_id[37]", 404, {"uri": magnet, "server_id": "x" * 37}),
        ("server_id[long]", 404, {"uri": magnet, "server_id": "x" * LONG}),
        ("label[65]", 422, {"uri": magnet, "server_id": sid, "labels": ["l" * 65]}),
        ("label[long]", 422, {"uri": magnet, "server_id": sid, "labels": ["l" * LONG]}),
        (
            "download_dir[long]",
            422,
            {"uri": magnet, "server_id": sid, "download_dir": "/" * 2 + "d" * LONG},
        ),
        (
            "download_dir[4097]",
            422,
            {"uri": magnet, "server_id": sid, "download_dir": "/" + "d" * 4096},
        ),
    ]
    results = [
        (
            f"POST /torrents {case}",
            status,
            target.http.post("/torrents", json=body, headers=target.admin),
        )
        for case, status, body in cases
    ]
    actions = [
        ("action[long]", 422, {"action": "s" * LONG, "targets": []}),
        ("labels[65]", 422, {"action": "add_labels", "targets": [], "labels": ["l" * 65]}),
        (
            "download_dir[long]",
            422,
            {"action": "move", "targets": [], "download_dir": "/" + "d" * LONG},
        ),
    ]
    results += [
        (
            f"POST /torrents/actions {case}",
            status,
            target.http.post("/torrents/actions", json=body, headers=target.admin),
        )
        for case, status, body in actions
    ]
    # Over-long ids inside a batch fail their own target only, with the reason.
    batch = target.http.post(
        "/torrents/actions",
        json={
            "action": "stop",
            "targets": [
                {"server_id": "x" * LONG, "info_hash": HASH},
                {"server_id": sid, "info_hash": "f" * LONG},
            ],
        },
        headers=target.admin,
    )
    results.append(("batch with over-long ids", 200, batch))
    expect(results)
    first, second = batch.json()["results"]
    assert not first["ok"] and first["error"].startswith("no server with id")
    assert not second["ok"] and "is not an info hash" in second["error"]
    assert len(first["error"]) < 200 and len(second["error"]) < 200  # not echoed whole


# -- Wrong JSON types, broken JSON -----------------------------------------------------------

WRONG_VALUES = [123, 1.5, True, [], ["a"], {}, {"a": 1}]


def test_wrong_json_types_in_every_field_are_422(target):
    models = {
        ("POST", "/servers"): (
            server_fields(),
            ["name", "server_type", "host", "username", "password", "rpc_path", "protocol"],
        ),
        ("PUT", f"/servers/{target.server_id}"): (
            {},
            ["name", "server_type", "host", "username", "password", "rpc_path", "protocol"],
        ),
        ("POST", "/auth/token"): ({"username": "admin", "password": "x"}, ["username", "password"]),
        ("POST", "/torrents"): (
            {"uri": f"magnet:?xt=urn:btih:{HASH}", "server_id": target.server_id},
            ["uri", "server_id", "download_dir"],
        ),
        ("POST", "/torrents/actions"): ({"action": "start", "targets": []}, ["action"]),
    }
    results = []
    for (method, path), (valid, names) in models.items():
        for name in names:
            for value in WRONG_VALUES:
                body = {**valid, name: value}
                response = target.http.request(method, path, json=body, headers=target.admin)
                results.append((f"{method} {path} {name}={value!r}", 422, response))
    # Numbers and booleans where they do not belong.
    for value in ("eighty", [], {}, 1.5, -1, 0, 65536, 10**30, None):
        response = target.http.post(
            "/servers", json=server_fields(port=value), headers=target.admin
        )
        results.append((f"port={value!r}", 422, response))
    for name, value in (
        ("enabled", "maybe"),
        ("enabled", []),
        ("start", "never"),
        ("labels", "one"),
        ("labels", [1]),
        ("targets", {}),
        ("targets", [{"server_id": 1}]),
        ("delete_data", {}),
    ):
        path = (
            "/torrents/actions"
            if name in ("targets", "delete_data")
            else ("/servers" if name == "enabled" else "/torrents")
        )
        valid = (
            {"action": "remove", "targets": []}
            if path == "/torrents/actions"
            else (
                server_fields()
                if path == "/servers"
                else {"uri": f"magnet:?xt=urn:btih:{HASH}", "server_id": target.server_id}
            )
        )
        response = target.http.post(path, json={**valid, name: value}, headers=target.admin)
        results.append((f"{path} {name}={value!r}", 422, response))
    expect(results)


def raw_json(target: Target, method: str, path: str, body: bytes, **headers) -> httpx.Response:
    sent = {**target.admin, "content-type": "application/json", **headers}
    return target.http.request(method, path, content=body, headers=sent)


def test_broken_json_is_400_or_422_never_500(target):
    good = b'"name": "n", "server_type": "transmission", "host": "h", "port": 80'
    cases = [
        ("not JSON", 422, b"name=n&port=80"),
        ("truncated", 422, b'{"name": "n", "port": '),
        ("an array", 422, b"[1, 2, 3]"),
        ("a string", 422, b'"servers"'),
        ("null", 422, b"null"),
        ("NaN port", 422, b"{" + good[:-2] + b"NaN}"),
        ("Infinity port", 422, b"{" + good[:-2] + b"Infinity}"),
        ("-Infinity port", 422, b"{" + good[:-2] + b"-Infinity}"),
        ("NUL in name", 422, b"{" + good.replace(b'"n"', b'"a\\u0000b"') + b"}"),
        ("lone surrogate in name", 422, b"{" + good.replace(b'"n"', b'"\\ud800"') + b"}"),
        ("lone surrogate as port", 422, b"{" + good[:-2] + b'"\\udfff"}'),
        ("control characters in name", 422, b"{" + good.replace(b'"n"', b'"a\\u0007b"') + b"}"),
        ("invalid UTF-8", 400, b'{"name": "\xff\xfe", "server_type": "transmission"}'),
        ("deeply nested arrays", 400, b"[" * 100_000 + b"]" * 100_000),
        ("deeply nested objects", 400, b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        ("duplicate keys", 201, b"{" + good + b', "name": "second"}'),
        ("huge number", 400, b"{" + good[:-2] + b"1" + b"0" * 5000 + b"}"),
        ("empty body", 422, b""),
    ]
    results = [
        (case, status, raw_json(target, "POST", "/servers", body)) for case, status, body in cases
    ]
    results += [
        (
            f"PUT {case}",
            status if status != 201 else 200,
            raw_json(target, "PUT", f"/servers/{target.server_id}", body),
        )
        for case, status, body in cases
        if case not in ("empty body",)
    ]
    results.append(
        (
            "text/plain JSON",
            422,
            raw_json(
                target, "POST", "/servers", b"{" + good + b"}", **{"content-type": "text/plain"}
            ),
        )
    )
    results.append(
        (
            "sign-in NaN",
            422,
            raw_json(target, "POST", "/auth/token", b'{"username": NaN, "password": "x"}'),
        )
    )
    results.append(
        (
            "sign-in surrogate",
            422,
            raw_json(target, "POST", "/auth/token", b'{"username": "\\ud800", "password": "x"}'),
        )
    )
    results.append(
        (
            "sign-in NUL",
            422,
            raw_json(
                target, "POST", "/auth/token", b'{"username": "ad\\u0000min", "password": "x"}'
            ),
        )
    )
    expect(results)
    nan = results[5][2].json()["detail"][0]
    assert nan["loc"] == ["body", "port"] and nan["input"] == "nan"
    # Restore the server the PUTs above renamed.
    target.http.put(f"/servers/{target.server_id}", json=server_fields(), headers=target.admin)


# -- Huge bodies -----------------------------------------------------------------------------


def test_huge_bodies_are_413_and_unauthenticated_ones_401(target):
    port = int(target.base.rsplit(":", 1)[1])
    token = f"Authorization: {target.admin['Authorization']}\r\n"
    form = "Content-Type: multipart/form-data; boundary=x\r\n"
    upload = f"/torrents/upload?server_id={target.server_id}"
    cases = [
        # (case, expected, method, path, headers, body size, chunked)
        ("POST /servers", 413, "POST", "/servers", (JSON, token), BODY_LIMIT + 1, False),
        (
            "PUT /servers/{id}",
            413,
            "PUT",
            f"/servers/{target.server_id}",
            (JSON, token),
            BODY_LIMIT + 1,
            False,
        ),
        (
            "POST /torrents/actions",
            413,
            "POST",
            "/torrents/actions",
            (JSON, token),
            50 * MIB,
            False,
        ),
        ("POST /auth/token", 413, "POST", "/auth/token", (JSON,), BODY_LIMIT + 1, False),
        ("chunked POST /servers", 413, "POST", "/servers", (JSON, token), 3 * BODY_LIMIT, True),
        ("chunked POST /auth/token", 413, "POST", "/auth/token", (JSON,), 3 * BODY_LIMIT, True),
        ("upload", 413, "POST", upload, (form, token), UPLOAD_LIMIT + 1, False),
        # garbage, not multipart: refused as soon as the parser sees it, before the limit
        ("chunked upload", 400, "POST", upload, (form, token), 2 * UPLOAD_LIMIT, True),
        ("no token", 401, "POST", "/servers", (JSON,), 80 * MIB, False),
        (
            "bad token",
            401,
            "PUT",
            f"/servers/{target.server_id}",
            (JSON, "Authorization: Bearer nope\r\n"),
            80 * MIB,
            True,
        ),
        ("upload without token", 401, "POST", upload, (form,), 80 * MIB, False),
    ]
    results = []
    for case, status, method, path, headers, size, streamed in cases:
        if streamed:
            answer = send(
                port,
                head(method, path, *headers, CHUNKED),
                chunked(filler(size)),
                until_answered=True,
            )
        else:
            length = f"Content-Length: {size}\r\n"
            answer = send(
                port, head(method, path, *headers, length), filler(size), until_answered=False
            )
        TALLY.record(method, path, answer.status)
        results.append((case, status, answer.status, answer.sent))
    assert [(c, got) for c, want, got, _ in results if got != want] == []
    unbounded = [r for r, c in zip(results, cases, strict=True) if r[3] >= c[5]]
    assert unbounded == []  # no body was read to its end
    targets = [{"server_id": "s", "info_hash": HASH}] * 10_001
    too_many = target.http.post(
        "/torrents/actions", json={"action": "start", "targets": targets}, headers=target.admin
    )
    assert too_many.status_code == 422


# -- Malformed ids and hashes ----------------------------------------------------------------

MALFORMED_IDS = [
    "x" * 37,
    "x" * 1000,
    "0" * 36,
    "%00",
    "%C3%A9" * 10,
    "..%2F..%2Fetc",
    "%27%20OR%201%3D1%20--",
    "%20",
    "a%0Ab",
    "%F0%9F%92%A3",
]


def test_malformed_and_foreign_server_ids_are_404_everywhere(target):
    ids = [*MALFORMED_IDS, target.bob_server_id]  # another user's is as absent as none
    results = []
    for sid in ids:
        magnet = {"uri": f"magnet:?xt=urn:btih:{HASH}", "server_id": sid}
        for method, path, kwargs in (
            ("GET", f"/servers/{sid}", {}),
            ("PUT", f"/servers/{sid}", {"json": {"name": "renamed"}}),
            ("DELETE", f"/servers/{sid}", {}),
            ("POST", f"/servers/{sid}/test", {}),
            ("GET", f"/torrents?server_id={sid}", {}),
            ("GET", f"/torrents/{HASH}?server_id={sid}", {}),
            ("POST", f"/torrents/{HASH}/start?server_id={sid}", {}),
            ("POST", f"/torrents/{HASH}/stop?server_id={sid}", {}),
            ("DELETE", f"/torrents/{HASH}?server_id={sid}", {}),
            ("POST", "/torrents", {"json": magnet}),
            (
                "POST",
                f"/torrents/upload?server_id={sid}",
                {"files": {"file": ("t.torrent", make_torrent("t").data)}},
            ),
        ):
            response = target.http.request(method, path, headers=target.admin, **kwargs)
            results.append((f"{method} {path[:60]}", 404, response))
    expect(results)
    # Bob's server is still there, unchanged.
    assert (
        target.http.get(f"/servers/{target.bob_server_id}", headers=target.bob).json()["name"]
        == "bob's"
    )


def test_malformed_info_hashes_are_422(target):
    results = []
    for bad in (
        "a" * 39,
        "a" * 41,
        "g" * 40,
        "%C3%A9" * 40,
        "a" * 10_000,
        "%00" * 40,
        "A" * 39 + "%20",
    ):
        for method, suffix in (("GET", ""), ("POST", "/start"), ("POST", "/stop"), ("DELETE", "")):
            response = target.http.request(method, f"/torrents/{bad}{suffix}", headers=target.admin)
            results.append((f"{method} /torrents/{bad[:20]}{suffix}", 422, response))
    for limit in ("0", "-1", "1001", "x", "1e3", "99999999999999999999999"):
        results.append(
            (
                f"/actions?limit={limit}",
                422,
                target.http.get(f"/actions?limit={limit}", headers=target.admin),
            )
        )
    expect(results)


# -- Rules, transfers, files and trackers ----------------------------------------------------


def test_rules_transfers_files_and_trackers_refuse_bad_input(target):
    sid, admin = target.server_id, target.admin
    one = {"server_ids": [sid]}
    rules = [
        ("label[257]", 422, [{"match": {"label": "l" * 257}, "target": one}]),
        ("tracker[long]", 422, [{"match": {"tracker": "t" * LONG}, "target": one}]),
        ("name_regex[257]", 422, [{"match": {"name_regex": "a" * 257}, "target": one}]),
        ("name_regex broken", 422, [{"match": {"name_regex": "(("}, "target": one}]),
        ("NUL label", 422, [{"match": {"label": "a\x00"}, "target": one}]),
        ("labels[65]", 422, [{"target": one, "labels": ["l" * 65]}]),
        ("download_dir relative", 422, [{"target": one, "download_dir": "rel"}]),
        ("another user's server", 422, [{"target": {"server_ids": [target.bob_server_id]}}]),
        ("over-long server id", 422, [{"target": {"server_ids": ["x" * LONG]}}]),
        ("unknown target", 422, [{"target": {"everywhere": [sid]}}]),
        ("101 rules", 422, [{"target": one}] * 101),
        ("min_size text", 422, [{"match": {"min_size": "big"}, "target": one}]),
        ("not a list", 422, {"target": one}),
        ("a rule that is a string", 422, ["rule"]),
    ]
    results = [
        (f"PUT /rules {case}", status, target.http.put("/rules", json=body, headers=admin))
        for case, status, body in rules
    ]
    previews = [
        ("uri[long]", 422, {"uri": "magnet:?xt=urn:btih:" + "a" * 70_000}),
        ("uri not a link", 422, {"uri": "ftp://x/y"}),
        ("labels[65 items]", 422, {"uri": f"magnet:?xt=urn:btih:{HASH}", "labels": ["a"] * 65}),
        ("NUL uri", 422, {"uri": f"magnet:?xt=urn:btih:{HASH}&dn=\x00"}),
    ]
    results += [
        (
            f"POST /rules/preview {case}",
            status,
            target.http.post("/rules/preview", json=body, headers=admin),
        )
        for case, status, body in previews
    ]
    transfer = {"server_id": sid, "info_hash": HASH, "to_server_id": target.bob_server_id}
    transfers = [
        ("to another user's server", 404, transfer),
        ("from an over-long id", 404, {**transfer, "server_id": "x" * LONG}),
        ("to an over-long id", 404, {**transfer, "to_server_id": "x" * LONG}),
        ("bad hash", 422, {**transfer, "info_hash": "z" * 40}),
        ("download_dir[long]", 422, {**transfer, "download_dir": "/" + "d" * LONG}),
        ("mode", 422, {**transfer, "mode": "teleport"}),
    ]
    results += [
        (
            f"POST /transfers {case}",
            status,
            target.http.post("/transfers", json=body, headers=admin),
        )
        for case, status, body in transfers
    ]
    for bad in ("x" * 37, "x" * 60_000, "%00", "0" * 36):
        results.append(
            (f"GET /transfers/{bad[:10]}", 404, target.http.get(f"/transfers/{bad}", headers=admin))
        )
        results.append(
            (
                f"DELETE /transfers/{bad[:10]}",
                404,
                target.http.delete(f"/transfers/{bad}", headers=admin),
            )
        )
    files = f"/torrents/{HASH}/files?server_id={sid}"
    trackers = f"/torrents/{HASH}/trackers?server_id={sid}"
    results += [
        ("files: none", 422, target.http.put(files, json={"files": []}, headers=admin)),
        (
            "files: index -1",
            422,
            target.http.put(files, json={"files": [{"index": -1, "wanted": True}]}, headers=admin),
        ),
        (
            "files: priority",
            422,
            target.http.put(
                files, json={"files": [{"index": 0, "priority": "urgent"}]}, headers=admin
            ),
        ),
        (
            "files: nothing to change",
            422,
            target.http.put(files, json={"files": [{"index": 0}]}, headers=admin),
        ),
        (
            "files: over-long server id",
            404,
            target.http.put(
                f"/torrents/{HASH}/files?server_id={'x' * 60_000}",
                json={"files": [{"index": 0, "wanted": True}]},
                headers=admin,
            ),
        ),
        ("trackers: nothing", 422, target.http.post(trackers, json={}, headers=admin)),
        (
            "trackers: not a URL",
            422,
            target.http.post(trackers, json={"add": ["not a url"]}, headers=admin),
        ),
        (
            "trackers: over-long URL",
            422,
            target.http.post(trackers, json={"add": ["http://t/" + "a" * LONG]}, headers=admin),
        ),
        (
            "trackers: NUL",
            422,
            target.http.post(trackers, json={"add": ["http://t/a\x00"]}, headers=admin),
        ),
        (
            "trackers: 101",
            422,
            target.http.post(
                trackers, json={"add": [f"http://t{i}/a" for i in range(101)]}, headers=admin
            ),
        ),
        (
            "trackers: bob's server",
            404,
            target.http.post(
                f"/torrents/{HASH}/trackers?server_id={target.bob_server_id}",
                json={"add": ["http://t/a"]},
                headers=admin,
            ),
        ),
        (
            "add to several: over-long ids",
            502,  # no server took it: a result per server, each saying why
            target.http.post(
                "/torrents",
                json={"uri": f"magnet:?xt=urn:btih:{HASH}", "server_ids": ["x" * 1000]},
                headers=admin,
            ),
        ),
    ]
    expect(results)


# -- Garbage credentials, cookies and query strings -----------------------------------------


def test_garbage_tokens_cookies_and_queries(target):
    results = []
    for authorization in (
        "Bearer " + "x" * 8000,
        "Bearer",
        "Bearer x y",
        "Basic YWRtaW46YWRtaW4tcGFzc3dvcmQ=",
        "bearer\tabc",
        "Bearer \xe9\xe8",
        "Bearer " + target.admin["Authorization"].split()[1] + "x",
        "Token " + target.admin["Authorization"].split()[1],
    ):
        headers = {"Authorization": authorization.encode("latin-1")}
        for method, path in (("GET", "/servers"), ("DELETE", "/auth/token"), ("GET", "/actions")):
            response = target.http.request(method, path, headers=headers)
            results.append((f"{authorization[:20]!r} {method} {path}", 401, response))
    for cookie in (
        "torrentdesk_session=!!!",
        "torrentdesk_session=" + "A" * 4000,
        "; ".join(["a=b"] * 200),
    ):
        for path, status in (("/login", 200), ("/openapi.json", 401), ("/servers", 401)):
            response = target.http.get(path, headers={"Cookie": cookie})
            results.append((f"cookie {cookie[:24]!r} {path}", status, response))
    queries = [
        ("/torrents?server_id=", 404),
        (f"/torrents?server_id={target.server_id}&server_id=x", 404),
        (f"/torrents/{HASH}?files=maybe", 422),
        (f"/torrents/{HASH}?delete_data=2", 422),
        ("/actions?limit=", 422),
        ("/actions?limit=%00", 422),
        ("/servers?" + "a=b&" * 2000, 200),
    ]
    for path, status in queries:
        method = "DELETE" if "delete_data" in path else "GET"
        response = target.http.request(method, path, headers=target.admin)
        results.append((f"{method} {path[:40]}", status, response))
    long_path = target.http.get("/servers/" + "x" * 60_000, headers=target.admin)
    results.append(("a 60 000-character path", 404, long_path))
    expect(results)


# -- Bad multipart ---------------------------------------------------------------------------


def test_bad_multipart_uploads(target):
    url = f"/torrents/upload?server_id={target.server_id}"
    torrent = make_torrent("multipart").data

    def raw(body: bytes, content_type: str) -> httpx.Response:
        return target.http.post(
            url, content=body, headers={**target.admin, "content-type": content_type}
        )

    results = [
        (
            "no file field",
            422,
            target.http.post(url, files={"other": ("t.torrent", torrent)}, headers=target.admin),
        ),
        ("no body", 422, target.http.post(url, headers=target.admin)),
        ("not multipart", 422, raw(torrent, "application/x-bittorrent")),
        ("urlencoded", 422, raw(b"file=abc", "application/x-www-form-urlencoded")),
        ("no boundary", 400, raw(b"--x\r\n", "multipart/form-data")),
        (
            "wrong boundary",
            400,
            raw(
                b'--y\r\nContent-Disposition: form-data; name="file"; filename="t"\r\n'
                b"\r\nabc\r\n--y--\r\n",
                "multipart/form-data; boundary=x",
            ),
        ),
        (
            "unterminated",
            422,
            raw(
                b'--x\r\nContent-Disposition: form-data; name="file"; filename="t"\r\n\r\nabc',
                "multipart/form-data; boundary=x",
            ),
        ),
        ("garbage", 400, raw(os.urandom(4096), "multipart/form-data; boundary=x")),
        (
            "empty file",
            422,
            target.http.post(url, files={"file": ("t.torrent", b"")}, headers=target.admin),
        ),
        (
            "not bencoded",
            422,
            target.http.post(
                url, files={"file": ("t.torrent", b"<html>nope</html>")}, headers=target.admin
            ),
        ),
        (
            "no info dict",
            422,
            target.http.post(
                url, files={"file": ("t.torrent", b"d4:spami1ee")}, headers=target.admin
            ),
        ),
        (
            "truncated torrent",
            422,
            target.http.post(
                url,
                files={"file": ("t.torrent", torrent[: len(torrent) // 2])},
                headers=target.admin,
            ),
        ),
        (
            "deep bencode",
            422,
            target.http.post(
                url,
                files={"file": ("t.torrent", b"l" * 100_000 + b"e" * 100_000)},
                headers=target.admin,
            ),
        ),
        (
            "file as a plain field",
            422,
            target.http.post(url, data={"file": "abc"}, headers=target.admin),
        ),
        (
            "path traversal name",
            502,
            target.http.post(
                url, files={"file": ("../../etc/passwd", torrent)}, headers=target.admin
            ),
        ),
        (
            "over-long filename",
            400,
            target.http.post(url, files={"file": ("n" * 10_000, torrent)}, headers=target.admin),
        ),
        (
            "two files",
            502,
            target.http.post(
                url,
                files=[("file", ("a.torrent", torrent)), ("file", ("b.torrent", torrent))],
                headers=target.admin,
            ),
        ),
        (
            "label too long",
            422,
            target.http.post(
                url + "&labels=" + "l" * 65,
                files={"file": ("t.torrent", torrent)},
                headers=target.admin,
            ),
        ),
        (
            "relative download_dir",
            422,
            target.http.post(
                url + "&download_dir=rel/dir",
                files={"file": ("t.torrent", torrent)},
                headers=target.admin,
            ),
        ),
        (
            "start=maybe",
            422,
            target.http.post(
                url + "&start=maybe", files={"file": ("t.torrent", torrent)}, headers=target.admin
            ),
        ),
        (
            "no server_id",
            422,
            target.http.post(
                "/torrents/upload", files={"file": ("t.torrent", torrent)}, headers=target.admin
            ),
        ),
    ]
    expect(results)
    # A good .torrent passes every check and reaches the server, which is down: 502, naming it.
    assert "black hole" in results[14][2].json()["detail"]


# -- Concurrent writes -----------------------------------------------------------------------


async def concurrently(
    target: Target, requests: list[tuple[str, str, dict]]
) -> list[httpx.Response]:
    async with TALLY.async_client(target.base) as http:
        return await asyncio.gather(
            *(http.request(method, path, **kwargs) for method, path, kwargs in requests)
        )


async def test_forty_concurrent_edits_of_one_server_all_succeed(target):
    requests = [
        (
            "PUT",
            f"/servers/{target.server_id}",
            {"json": {"name": f"edit {i}", "port": 1000 + i}, "headers": target.admin},
        )
        for i in range(40)
    ]
    responses = await concurrently(target, requests)
    assert Counter(r.status_code for r in responses) == {200: 40}
    final = target.http.get(f"/servers/{target.server_id}", headers=target.admin).json()
    # The last write wins whole: a name and port from the same edit, never a mix.
    assert final["port"] - 1000 == int(final["name"].removeprefix("edit "))
    actions = target.http.get("/actions?limit=100", headers=target.admin).json()
    assert (
        sum(a["action"] == "server.edit" and a["server_id"] == target.server_id for a in actions)
        >= 40
    )


async def test_concurrent_edits_tests_and_deletes_never_500(target):
    doomed = target.http.post(
        "/servers", json=server_fields(name="doomed"), headers=target.admin
    ).json()["id"]
    path = f"/servers/{doomed}"
    requests = [("DELETE", path, {"headers": target.admin}) for _ in range(10)]
    requests += [
        ("PUT", path, {"json": {"name": f"n{i}"}, "headers": target.admin}) for i in range(10)
    ]
    requests += [("POST", path + "/test", {"headers": target.admin}) for _ in range(5)]
    responses = await concurrently(target, requests)
    deletes = Counter(r.status_code for r in responses[:10])
    assert deletes[204] == 1 and deletes[404] == 9, deletes
    assert {r.status_code for r in responses[10:20]} <= {200, 404}
    assert {r.status_code for r in responses[20:]} <= {200, 404}
    assert target.http.get(path, headers=target.admin).status_code == 404


async def test_concurrent_adds_and_token_uses_never_500(target):
    fresh = sign_in(target.http, "bob", "bob-password")  # never used: its last-used is written
    requests = [
        ("POST", "/servers", {"json": server_fields(name=f"c{i}"), "headers": fresh})
        for i in range(15)
    ]
    requests += [("GET", "/servers", {"headers": fresh}) for _ in range(25)]
    responses = await concurrently(target, requests)
    assert Counter(r.status_code for r in responses) == {201: 15, 200: 25}
    for response in responses[:15]:
        assert (
            target.http.delete(f"/servers/{response.json()['id']}", headers=fresh).status_code
            == 204
        )


# -- Where requests come from (Host, Origin, frames, socket.io) ------------------------------


def test_foreign_host_headers_are_400_before_anything_else(target):
    paths = [
        ("GET", "/health"),
        ("GET", "/login"),
        ("GET", "/"),
        ("GET", "/servers"),
        ("POST", "/auth/token"),
        ("GET", "/docs"),
    ]
    results = []
    for host in (
        "evil.example",
        "evil.example:8080",
        "127.0.0.2",
        "localhost.evil.example",
        "",
        "[::2]",
        "a@127.0.0.1",
        "127.0.0.1 evil",
        "0.0.0.0",
    ):
        for method, path in paths:
            response = target.http.request(
                method,
                path,
                headers={**target.admin, "Host": host},
                json={"username": "admin", "password": "x"} if method == "POST" else None,
            )
            results.append((f"Host {host!r} {method} {path}", 400, response))
    for host in (
        "localhost",
        "127.0.0.1",
        "[::1]",
        PROXY_NAME,
        PROXY_NAME.upper() + ".:443",
        f"localhost:{target.app.base.rsplit(':', 1)[1]}",
    ):
        response = target.http.get("/servers", headers={**target.admin, "Host": host})
        results.append((f"Host {host!r}", 200, response))
    expect(results)
    refused = results[0][2]
    assert "does not answer to that host name" in refused.json()["detail"]
    assert refused.headers["x-frame-options"] == "DENY"
    # The refused sign-ins were never attempts: the throttle saw none of them.
    sign_in(target.http, "admin", "admin-password")


def test_cross_origin_changes_are_403_and_same_origin_ones_pass(target):
    own = target.base
    sid = target.server_id
    changes = [
        ("POST", "/servers", {"json": server_fields()}),
        ("PUT", f"/servers/{sid}", {"json": {"name": "black hole"}}),
        ("DELETE", f"/servers/{sid}", {}),
        ("POST", f"/servers/{sid}/test", {}),
        ("POST", "/torrents", {"json": {"uri": f"magnet:?xt=urn:btih:{HASH}", "server_id": sid}}),
        ("POST", "/torrents/actions", {"json": {"action": "stop", "targets": []}}),
        ("DELETE", f"/torrents/{HASH}", {}),
        ("POST", "/auth/token", {"json": {"username": "admin", "password": "admin-password"}}),
        ("DELETE", "/auth/token", {}),
        ("PATCH", "/servers", {}),
    ]
    results = []
    for origin_header in (
        {"Origin": FOREIGN},
        {"Origin": "null"},
        {"Origin": own.replace("127.0.0.1", "localhost")},  # another origin, same machine
        {"Origin": own.rsplit(":", 1)[0] + ":1"},  # another port
        {"Referer": FOREIGN + "/page"},
        {"Origin": FOREIGN, "Referer": own + "/"},
    ):
        for method, path, kwargs in changes:
            response = target.http.request(
                method, path, headers={**target.admin, **origin_header}, **kwargs
            )
            results.append((f"{origin_header} {method} {path}", 403, response))
    # Reads are not refused; our own pages and the proxy's name are ours; scripts send neither.
    results.append(
        (
            "GET with a foreign Origin",
            200,
            target.http.get("/servers", headers={**target.admin, "Origin": FOREIGN}),
        )
    )
    same = {"json": {"action": "stop", "targets": []}, "headers": {**target.admin, "Origin": own}}
    results.append(("same origin", 200, target.http.post("/torrents/actions", **same)))
    referer = {
        "json": {"action": "stop", "targets": []},
        "headers": {**target.admin, "Referer": own + "/x"},
    }
    results.append(("same-origin Referer", 200, target.http.post("/torrents/actions", **referer)))
    proxied = {
        "json": {"action": "stop", "targets": []},
        "headers": {**target.admin, "Origin": f"https://{PROXY_NAME}"},
    }
    results.append(("the proxy's origin", 200, target.http.post("/torrents/actions", **proxied)))
    plain = {"json": {"action": "stop", "targets": []}, "headers": target.admin}
    results.append(("no Origin (a script)", 200, target.http.post("/torrents/actions", **plain)))
    expect(results)
    assert results[0][2].json()["detail"].startswith("cross-origin request refused")
    assert target.http.get(f"/servers/{sid}", headers=target.admin).status_code == 200


def test_every_answer_forbids_framing(target):
    paths = ["/login", "/health", "/docs", "/", "/openapi.json", "/assets/torrentdesk.css", "/nope"]
    results = [(path, target.http.get(path)) for path in paths]
    # A page with a policy of its own (ReDoc's) gets frame-ancestors added to it.
    results.append(("/redoc", target.http.get("/redoc", headers=target.admin)))
    policies = {path: response.headers.get("content-security-policy") for path, response in results}
    assert policies.pop("/redoc") == "img-src 'self' data:; frame-ancestors 'none'"
    assert set(policies.values()) == {"frame-ancestors 'none'"}
    assert {response.headers.get("x-frame-options") for _, response in results} == {"DENY"}


def websocket_handshake(port: int, host: str, origin: str | None) -> int:
    """The status of a socket.io websocket handshake (101: accepted)."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /_nicegui_ws/socket.io/?EIO=4&transport=websocket HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = sock.makefile("rb").readline().decode()
    status = int(status_line.split()[1])
    TALLY.record("GET", f"ws://{host}/_nicegui_ws/socket.io/ (Origin {origin})", status)
    return status


def test_socketio_refuses_other_sites_pages(target):
    port = int(target.base.rsplit(":", 1)[1])
    own = f"127.0.0.1:{port}"
    assert websocket_handshake(port, own, f"http://{own}") == 101
    assert websocket_handshake(port, own, None) == 101  # not a browser: the Host check holds
    assert websocket_handshake(port, own, f"https://{PROXY_NAME}") == 101
    for origin in (FOREIGN, "null", f"http://localhost:{port}", "http://127.0.0.1:1"):
        assert websocket_handshake(port, own, origin) == 403, origin
    assert websocket_handshake(port, "evil.example", f"http://{own}") == 403  # DNS rebinding
    # Long-polling from another site's page is refused by engine.io itself.
    polling = target.http.get(
        "/_nicegui_ws/socket.io/?EIO=4&transport=polling", headers={"Origin": FOREIGN}
    )
    assert (
        polling.status_code in (400, 401) and "access-control-allow-origin" not in polling.headers
    )


# -- Sign-in floods (own app processes: each needs an untouched throttle) --------------------


@pytest.fixture
def fresh_app(tmp_path) -> Iterator:
    started: list[RunningApp] = []

    def start(*args: str) -> RunningApp:
        data_dir = tmp_path / f"data{len(started)}"
        add_user(data_dir, "alice", "alice-password")
        app = start_app(data_dir, *args, port=free_port())
        started.append(app)
        return app

    yield start
    for app in started:
        assert app.stop() == 0, app.output()


async def test_fifteen_parallel_wrong_passwords_get_exactly_five_tries(fresh_app):
    app = fresh_app()
    async with TALLY.async_client(app.base) as http:
        wrong = {"username": "alice", "password": "wrong-password"}
        responses = await asyncio.gather(*(http.post("/auth/token", json=wrong) for _ in range(15)))
        assert Counter(r.status_code for r in responses) == {401: 5, 429: 10}
        assert all(int(r.headers["retry-after"]) > 800 for r in responses if r.status_code == 429)
        # The right password is refused too until the window passes.
        right = await http.post(
            "/auth/token", json={"username": "alice", "password": "alice-password"}
        )
        assert right.status_code == 429


def test_rotating_x_forwarded_for_does_not_reset_the_limit(fresh_app):
    app = fresh_app()
    with TALLY.client(app.base) as http:
        statuses = [
            http.post(
                "/auth/token",
                json={"username": f"guess{i}", "password": "wrong-password"},
                headers={"X-Forwarded-For": f"203.0.113.{i}", "X-Real-IP": f"203.0.113.{i}"},
            ).status_code
            for i in range(8)
        ]
    # Five failures from 127.0.0.1, whatever it claims to forward: then the address is locked.
    assert statuses == [401] * 5 + [429] * 3


def test_a_trusted_proxy_s_forwarded_address_is_the_client(fresh_app):
    app = fresh_app("--trusted-proxy", "127.0.0.1")
    with TALLY.client(app.base) as http:

        def attempt(address: str, username: str) -> int:
            body = {"username": username, "password": "wrong-password"}
            return http.post(
                "/auth/token", json=body, headers={"X-Forwarded-For": address}
            ).status_code

        first = [attempt("203.0.113.1", f"guess{i}") for i in range(6)]
        other = attempt("203.0.113.2", "guess-other")
        http.cookies.clear()
        proxied_https = http.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert first == [401] * 5 + [429]  # the forwarded address is locked
    assert other == 401  # another client behind the same proxy is not
    assert "secure" in proxied_https.headers["set-cookie"].lower()


# -- Last: the size of the suite -------------------------------------------------------------


def test_the_suite_sent_at_least_300_requests(request):
    here = [item for item in request.session.items if item.path == Path(__file__)]
    if len(here) < len([name for name in globals() if name.startswith("test_")]):
        pytest.skip("only part of the suite ran")
    assert TALLY.total >= 300, TALLY.statuses
