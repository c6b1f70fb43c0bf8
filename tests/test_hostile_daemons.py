"""Hostile or broken torrent servers (issue 13 items 4, 8, 9): out-of-range and wrong-type
fields, huge replies, replies that drip, bodies with secrets, and a .torrent with 400 000 files.

A bad server never hides the others, never holds a thread past its deadline, never bloats the
app, and never has its body echoed to a user. Fakes on loopback stand in for the bad servers;
a real Transmission daemon is the good one beside them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import pytest

from tests.api_fixtures import transmission_fields
from tests.app_process import start_app
from tests.daemons.common import free_port, wait_until
from tests.daemons.fakes import dripping, http_reply, http_server, scgi_server
from tests.torrent_factory import make_torrent
from torrentdesk.clients import (
    AsyncTorrentClient,
    ClientError,
    ProtocolError,
    RTorrentClient,
    TimeoutError,
    TransmissionClient,
    transport,
)
from torrentdesk.torrent_input import MAX_TORRENT_FILES

SECRET = "sk-live-TOPSECRET-4242"
HUGE = 99999999999999  # the addedDate that once made GET /torrents a 500 for every server
GOOD_HASH = "ab" * 20


# -- fakes -----------------------------------------------------------------------------------


def _tr_torrent(i: int, **fields) -> dict:
    return {
        "id": i,
        "hashString": f"{i:040x}",
        "name": f"tr-fake {i}",
        "status": 6,
        "percentDone": 1.0,
        "sizeWhenDone": 1000,
        "haveValid": 1000,
        "uploadedEver": 5,
        "rateDownload": 0,
        "rateUpload": 0,
        "uploadRatio": 0.5,
        "eta": -1,
        "peersConnected": 0,
        "peersSendingToUs": 0,
        "addedDate": 1_700_000_000,
        "downloadDir": "/d",
        "labels": [],
        "error": 0,
        "errorString": "",
        "metadataPercentComplete": 1,
        "queuePosition": i,
    } | fields


HOSTILE_TR = [
    _tr_torrent(1, addedDate=HUGE),  # no datetime has that year
    _tr_torrent(
        2,
        name="\x00" + "\ud800" + "n" * 100_000,  # NUL, a lone surrogate, 100 000 characters
        sizeWhenDone=2**70,  # past 64 bits: JSON, SQLite and PostgreSQL all refuse it
        haveValid=-5,
        rateDownload=2**80,
        uploadRatio=1e308 * 10,  # inf
        eta=2**62,
        labels=["ok", "", 7, "x" * 10_000],
        errorString="e" * 50_000,
        error=3,
        downloadDir="/" + "p" * 100_000,
    ),
    _tr_torrent(3, hashString="not a hash at all"),  # left out, counted
    _tr_torrent(4, status="downloading", percentDone={"a": 1}),  # unreadable: left out
    _tr_torrent(5, addedDate=-HUGE, uploadedEver=1.5e300),
]


class FakeTransmission:
    """Answers session-get and torrent-get (table format) with whatever torrents it holds."""

    def __init__(self, torrents: list[dict]) -> None:
        self.torrents = torrents

    def respond(self, path: str, headers: dict, body: bytes) -> bytes:
        request = json.loads(body)
        arguments = request.get("arguments", {})
        if request["method"] == "session-get":
            reply: dict = {"rpc-version": 17, "version": "3.00 (fake)", "download-dir": "/d"}
        elif request["method"] == "torrent-get":
            fields = arguments["fields"]
            if arguments.get("format") == "table":
                torrents: list = [fields] + [[t.get(f) for f in fields] for t in self.torrents]
            else:
                torrents = [{f: t.get(f, []) for f in fields} for t in self.torrents]
            reply = {"torrents": torrents, "removed": []}
        else:
            reply = {}
        data = json.dumps({"arguments": reply, "result": "success"}).encode()
        return http_reply("200 OK", data, "Content-Type: application/json")


def _xml_value(value) -> str:
    if isinstance(value, bool):
        return f"<value><boolean>{int(value)}</boolean></value>"
    if isinstance(value, int):
        return f"<value><i8>{value}</i8></value>"  # any size: the fake is hostile
    if isinstance(value, list):
        return "<value><array><data>" + "".join(map(_xml_value, value)) + "</data></array></value>"
    return f"<value><string>{escape(str(value))}</string></value>"


def _xml_reply(value) -> bytes:
    return (
        "<?xml version='1.0'?><methodResponse><params><param>"
        + _xml_value(value)
        + "</param></params></methodResponse>"
    ).encode()


def _rt_row(info_hash: str, **fields) -> list:
    row = {
        "d.hash": info_hash.upper(),
        "d.name": "rt-fake",
        "d.state": 1,
        "d.is_active": 1,
        "d.hashing": 0,
        "d.complete": 1,
        "d.size_bytes": 1000,
        "d.completed_bytes": 1000,
        "d.up.total": 0,
        "d.down.rate": 0,
        "d.up.rate": 0,
        "d.ratio": 0,
        "d.peers_connected": 0,
        "d.peers_complete": 0,
        "addtime": "1700000000",
        "d.load_date": 1_700_000_000,
        "d.directory": "/d",
        "d.is_multi_file": 0,
        "d.custom1": "",
        "d.message": "",
        "d.is_open": 1,
        "d.is_meta": 0,
        "d.hashing_failed": 0,
        "tdname": "",
        "d.wanted_chunks": 0,
        "d.chunk_size": 16384,
    } | fields
    return list(row.values())


HOSTILE_RT = [
    _rt_row(
        "cd" * 20,
        addtime=str(HUGE),
        **{"d.size_bytes": 2**70, "d.up.total": -7, "d.wanted_chunks": 2**56},
    ),
    _rt_row("ef" * 20, **{"d.name": "é" + "r" * 50_000, "d.load_date": -1}),
    _rt_row("zz" * 20),  # not a hash: left out
    _rt_row("12" * 20, **{"d.message": 42, "d.custom1": ["x"]}),  # unreadable: left out
]


def fake_rtorrent(rows: list[list]):
    def respond(body: bytes) -> bytes:
        params, method = xmlrpc.client.loads(body)
        if method == "d.multicall2":
            return _xml_reply(rows)
        if method == "system.multicall":
            answers = {
                "system.client_version": "0.9.8",
                "system.library_version": "0.13.8",
                "t.url": "http://tracker.example/announce",
            }
            return _xml_reply([[answers.get(c["methodName"], 0)] for c in params[0]])
        return _xml_reply(0)

    return scgi_server(respond)


@pytest.fixture
def admin(api):
    """An admin: adding servers on loopback stays allowed whatever the admin settings say."""
    return api.user("root", admin=True)


def _fake_server(api, headers, name: str, port: int, server_type: str = "transmission") -> dict:
    fields = {"name": name, "server_type": server_type, "host": "127.0.0.1", "port": port}
    if server_type == "rtorrent":
        fields["protocol"] = "scgi"
    return api.add_server(headers, **fields)


# -- item 4: validated fields; one server's failure stays its own ----------------------------


def test_out_of_range_and_wrong_type_fields_never_hide_the_good_server(
    api, admin, transmission_clean
):
    good = api.add_server(admin, **transmission_fields(transmission_clean, name="good"))
    torrent = make_torrent("good.bin")
    added = api.client.post(
        f"/torrents/upload?server_id={good['id']}&start=false",
        files={"file": ("good.torrent", torrent.data)},
        headers=admin,
    )
    assert added.status_code == 201, added.text
    fake_tr = FakeTransmission(HOSTILE_TR)
    with (
        http_server(fake_tr.respond) as tr_port,
        fake_rtorrent(HOSTILE_RT) as rt_port,
        http_server(_not_a_list) as broken_port,
    ):
        _fake_server(api, admin, "bad-tr", tr_port)
        _fake_server(api, admin, "bad-rt", rt_port, "rtorrent")
        _fake_server(api, admin, "broken", broken_port)
        for _ in range(2):  # the second time over the stored snapshots
            response = api.client.get("/torrents", headers=admin)
            assert response.status_code == 200, response.text
            body = response.json()
            servers = {s["name"]: s for s in body["servers"]}
            assert (servers["good"]["status"], servers["good"]["count"]) == ("connected", 1)
            assert torrent.info_hash in {t["info_hash"] for t in body["torrents"]}
            assert (servers["bad-tr"]["status"], servers["bad-tr"]["count"]) == ("connected", 3)
            assert servers["bad-tr"]["dropped"] == 2
            assert (servers["bad-rt"]["status"], servers["bad-rt"]["count"]) == ("connected", 2)
            assert servers["bad-rt"]["dropped"] == 2
            assert servers["broken"]["status"] == "error"
            assert "unexpected" in servers["broken"]["error"]
        rows = {t["info_hash"]: t for t in body["torrents"]}
        assert rows[f"{1:040x}"]["added_at"] == 0  # out of range: no time
        long = rows[f"{2:040x}"]
        assert len(long["name"]) <= 1024 and "\x00" not in long["name"]
        assert long["size"] == 2**63 - 1 and long["downloaded"] == 0
        assert long["download_rate"] == 2**63 - 1 and long["ratio"] == 0.0
        assert long["eta"] is None and long["labels"] == ["ok", "x" * 254 + "…"]
        assert len(long["error"]) <= 1024 and len(long["download_dir"]) <= 4096
        assert rows[f"{5:040x}"]["added_at"] == 0
        assert rows["cd" * 20]["added_at"] == 0 and rows["cd" * 20]["size"] == 2**63 - 1
        assert rows["cd" * 20]["uploaded"] == 0
        assert len(rows["ef" * 20]["name"]) <= 1024
        # The snapshot was written for each server (the database took every value).
        stored = _stored_hashes(api)
        assert {f"{1:040x}", f"{2:040x}", "cd" * 20, torrent.info_hash} <= stored


def _not_a_list(path: str, headers: dict, body: bytes) -> bytes:
    request = json.loads(body)
    if request["method"] == "session-get":
        reply = {"rpc-version": 17, "version": "3.00 (fake)"}
    else:
        reply = {"torrents": "all of them", "removed": []}
    data = json.dumps({"arguments": reply, "result": "success"}).encode()
    return http_reply("200 OK", data)


def _stored_hashes(api) -> set[str]:
    from pony.orm import db_session, select

    db = api.services.torrents._db
    with db_session:
        return set(select(t.info_hash for t in db.Torrent))


# -- item 4: the reply cap -------------------------------------------------------------------


def test_an_announced_reply_over_the_cap_is_refused_before_it_is_read():
    size = 200 * 1024 * 1024

    def respond(path, headers, body):
        def write(conn):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n{" % size)
            time.sleep(5)  # never sends the rest: we must not wait for it

        return write

    with http_server(respond) as port:
        for client in (
            TransmissionClient("127.0.0.1", port, timeout=3, name="huge-tr"),
            RTorrentClient("127.0.0.1", port, protocol="http", timeout=3, name="huge-rt"),
        ):
            started = time.monotonic()
            with pytest.raises(ProtocolError) as raised:
                client.version()
            assert time.monotonic() - started < 1.5
            assert str(raised.value).startswith(f"{client.name}: the reply from ")
            assert "was too large: more than 128 MiB (it announced 200 MiB)" in str(raised.value)


@pytest.mark.parametrize("chunked", [False, True], ids=["until-close", "chunked"])
def test_a_streamed_reply_over_the_cap_is_cut_off(monkeypatch, chunked):
    monkeypatch.setenv(transport.MAX_REPLY_ENV, "1")
    piece = b"x" * 65536

    def respond(path, headers, body):
        def write(conn):
            if chunked:
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                conn.sendall(b"1\r\n{\r\n")
                for _ in range(64):
                    conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{")
                for _ in range(64):
                    conn.sendall(piece)

        return write

    with http_server(respond) as port:
        client = TransmissionClient("127.0.0.1", port, timeout=5, name="stream")
        with pytest.raises(ProtocolError, match=r"^stream: the reply from .* was too large: more"):
            client.version()


# -- item 4: one deadline per call -----------------------------------------------------------


def _worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("torrent-server")]


def test_thirty_dripping_calls_end_by_their_deadline_and_leave_no_thread(record_property):
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
    # Headers dripped one byte at a time, too: the deadline covers the whole reply.
    slow_head = b"HTTP/1.1 200"

    def respond(path, headers, body):
        return dripping(head if path != "/slow-head" else slow_head, every=0.3)

    async def one(client: AsyncTorrentClient) -> float:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await client.version()
        return time.monotonic() - started

    with http_server(respond) as port:
        before = threading.active_count()
        assert _worker_threads() == []
        clients = []
        for i in range(30):
            if i % 3 == 0:
                blocking = TransmissionClient("127.0.0.1", port, timeout=1, name=f"drip-{i}")
            else:
                path = "/slow-head" if i % 3 == 1 else "/RPC2"
                blocking = RTorrentClient(
                    "127.0.0.1", port, protocol="http", rpc_path=path, timeout=1, name=f"d{i}"
                )
            clients.append(AsyncTorrentClient(blocking))

        async def all_of_them() -> list[float]:
            return await asyncio.gather(*(one(c) for c in clients))

        elapsed = asyncio.run(all_of_them())
        assert max(elapsed) < 2.5, elapsed
        # Each worker thread is back from its socket by the transport's own deadline.
        for client in clients:
            client.close()
        wait_until(lambda: _worker_threads() == [], timeout=5, message="workers gone")
        # The fake's own threads end when they find their client gone.
        wait_until(lambda: threading.active_count() <= before, timeout=5, message="threads")
        after = threading.active_count()
    record_property("threads_before", before)
    record_property("threads_after_30_dripping_calls", after)
    print(f"threads: {before} before, {after} after 30 dripping calls")
    assert after <= before + 1


# -- item 8: never echo a remote body --------------------------------------------------------


PAGE = f"<html><body>internal admin · api_key={SECRET}</body></html>".encode()


@pytest.mark.parametrize(
    "reply",
    [
        http_reply("200 OK", PAGE, "Content-Type: text/html"),
        http_reply("200 OK", b'{"oops": "' + SECRET.encode() + b'"'),  # JSON, cut short
        http_reply("200 OK", json.dumps({"result": SECRET}).encode()[:-1] + b"x"),
        http_reply("403 Forbidden", PAGE),
        http_reply("401 Unauthorized", PAGE),
        http_reply("404 Not Found", PAGE),
        http_reply("500 Internal Server Error", PAGE),
        http_reply(f"200 {SECRET}", PAGE),
        http_reply(f"502 {SECRET}", PAGE),
        http_reply("409 Conflict", PAGE, f"X-Transmission-Session-Id: {SECRET} x"),
        f"{SECRET} 200 OK\r\n\r\n".encode() + PAGE,
        b"HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n" + PAGE,  # cut off
        b"HTTP/1.1 200 OK\r\n" + SECRET.encode() + b"\r\n\r\n" + PAGE,  # a broken header
    ],
    ids=[
        "html-200",
        "cut-json",
        "bad-json",
        "403",
        "401",
        "404",
        "500",
        "secret-reason",
        "secret-502",
        "409-secret-id",
        "not-http",
        "cut-off",
        "bad-header",
    ],
)
def test_a_remote_body_never_appears_in_an_error(api, admin, reply):
    with http_server(lambda path, headers, body: reply) as port:
        messages = []
        for client in (
            TransmissionClient("127.0.0.1", port, timeout=2, name="probe-tr"),
            RTorrentClient("127.0.0.1", port, protocol="http", timeout=2, name="probe-rt"),
        ):
            for call in (client.version, client.list_torrents):
                with pytest.raises(ClientError) as raised:
                    call()
                messages.append(str(raised.value))
        tr = _fake_server(api, admin, "probe-tr", port)
        rt = api.add_server(
            admin,
            name="probe-rt",
            server_type="rtorrent",
            protocol="http",
            host="127.0.0.1",
            port=port,
        )
        responses = [
            api.client.post(f"/servers/{tr['id']}/test", headers=admin),
            api.client.post(f"/servers/{rt['id']}/test", headers=admin),
            api.client.get("/torrents", headers=admin),
            api.client.get("/servers", headers=admin),
            api.client.post(
                "/torrents",
                json={"uri": f"magnet:?xt=urn:btih:{GOOD_HASH}", "server_id": tr["id"]},
                headers=admin,
            ),
            api.client.get("/actions", headers=admin),
        ]
    for response in responses:
        assert response.status_code < 500 or response.status_code in (502, 504), response.text
        assert SECRET not in response.text
        assert "internal admin" not in response.text
    for message in messages:
        assert SECRET not in message and "internal admin" not in message, message
        assert message.startswith(("probe-tr: ", "probe-rt: "))
    servers = {s["name"]: s for s in responses[2].json()["servers"]}
    assert servers["probe-tr"]["status"] == servers["probe-rt"]["status"] == "error"


def test_a_wrong_service_is_named_as_such(api, admin):
    reply = http_reply("200 OK", PAGE, "Content-Type: text/html")
    with http_server(lambda path, headers, body: reply) as port:
        client = TransmissionClient("127.0.0.1", port, timeout=2, name="other")
        with pytest.raises(ProtocolError) as raised:
            client.version()
    assert str(raised.value) == (
        f"other: http://127.0.0.1:{port}/transmission/rpc answered HTTP 200 with something "
        "that is not Transmission RPC JSON — is this the right port and path "
        "(/transmission/rpc)?"
    )


# -- the app process: memory under a 100 MB reply, /health during a huge .torrent ------------


def _vm(pid: int, key: str) -> int:
    """A /proc/PID/status figure in bytes (VmHWM: peak RSS, VmRSS: now)."""
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{key}:\s+(\d+) kB", text, re.M)[1]) * 1024


def _reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        return False
    return True


APP_REPLY_CAP_MIB = 32  # the app under test caps replies lower than the default 128 MiB


@pytest.fixture(scope="module")
def running_app(tmp_path_factory) -> Iterator[tuple]:
    data_dir = tmp_path_factory.mktemp("hostile-app")
    port = free_port()
    with pytest.MonkeyPatch.context() as env:
        # So that a 100 MB reply that looks like JSON passes the cap (the default, 128 MiB,
        # would read it whole: see the README's "Hostile servers").
        env.setenv(transport.MAX_REPLY_ENV, str(APP_REPLY_CAP_MIB))
        app = start_app(data_dir, port=port)
    try:
        password = app.admin_password()
        with httpx.Client(base_url=app.base, timeout=60) as http:
            token = http.post(
                "/auth/token", json={"username": "admin", "password": password}
            ).json()["token"]
            yield app, http, {"Authorization": f"Bearer {token}"}
    finally:
        app.stop()


def _hundred_mb(kind: str):
    size = 100 * 1000 * 1000
    piece = b"a" * (1024 * 1024)

    def respond(path, headers, body):
        request = json.loads(body)
        if request["method"] == "session-get":
            data = json.dumps(
                {"arguments": {"rpc-version": 17, "version": "3.00"}, "result": "success"}
            ).encode()
            return http_reply("200 OK", data)

        def write(conn):
            if kind == "page":  # an internal service's 100 MB page, its length not told
                conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                conn.sendall(b"<html>" + SECRET.encode())
            else:  # JSON that goes on and on, without a length: read until the cap
                conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                conn.sendall(b'{"arguments":{"torrents":[["id","name"],[1,"')
            sent = 0
            while sent < size:
                conn.sendall(piece)
                sent += len(piece)

        return write

    return http_server(respond)


@pytest.mark.parametrize("kind", ["page", "json"])
def test_a_100_mb_reply_is_a_clear_error_and_memory_stays_low(running_app, kind, record_property):
    app, http, headers = running_app
    pid = app.process.pid
    with _hundred_mb(kind) as port:
        server = http.post(
            "/servers",
            json={"name": f"huge-{kind}", "server_type": "transmission", "host": "127.0.0.1",
                  "port": port},
            headers=headers,
        ).json()
        http.get("/torrents", headers=headers)  # warm up the path (session-get answered)
        rss = _vm(pid, "VmRSS")
        peak_before = rss if _reset_peak(pid) else _vm(pid, "VmHWM")
        response = http.get("/torrents", params={"server_id": server["id"]}, headers=headers)
        rise = _vm(pid, "VmHWM") - peak_before
        http.delete(f"/servers/{server['id']}", headers=headers)
    assert response.status_code == 200, response.text
    [entry] = response.json()["servers"]
    assert entry["status"] == "error"
    if kind == "page":
        assert "not Transmission RPC JSON" in entry["error"]
    else:
        assert "was too large: more than" in entry["error"]
    assert SECRET not in response.text
    record_property(f"peak_rss_rise_100mb_{kind}_mib", round(rise / 2**20, 1))
    print(f"100 MB {kind} reply: peak RSS rose {rise / 2**20:.1f} MiB")
    limit = APP_REPLY_CAP_MIB * 2**20
    assert rise < (20 * 2**20 if kind == "page" else limit + 40 * 2**20)


def _torrent_with_files(count: int) -> bytes:
    """A .torrent listing `count` files in ~24 bytes each (400 000 in 9.2 MiB)."""
    entry = b"d6:lengthi0e4:pathl1:aee"
    info = b"d5:filesl" + entry * count + b"e4:name3:big12:piece lengthi16384e6:pieces20:"
    return b"d4:info" + info + os.urandom(20) + b"ee"


def test_a_torrent_with_400000_files_is_refused_quickly_and_health_keeps_answering(
    running_app, record_property
):
    app, http, headers = running_app
    data = _torrent_with_files(400_000)
    assert len(data) < 10 * 1024 * 1024
    latencies: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=app.base, timeout=30) as health:
            while not stop.is_set():
                started = time.monotonic()
                assert health.get("/health").status_code == 200
                latencies.append(time.monotonic() - started)
                time.sleep(0.02)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    wait_until(lambda: len(latencies) >= 5, message="health answering")
    started = time.monotonic()
    response = http.post(
        "/torrents/upload?server_id=nowhere",
        files={"file": ("big.torrent", data, "application/x-bittorrent")},
        headers=headers,
    )
    took = time.monotonic() - started
    during = len(latencies)
    time.sleep(0.3)
    stop.set()
    prober.join(10)
    assert response.status_code == 422, response.text
    assert f"more than {MAX_TORRENT_FILES:,} files" in response.text
    worst = max(latencies)
    record_property("upload_400k_files_seconds", round(took, 3))
    record_property("health_max_latency_seconds", round(worst, 3))
    print(f"400 000 files refused in {took:.2f} s; /health at most {worst * 1000:.0f} ms")
    assert during >= 5
    assert took < 3.0
    assert worst < 1.0
