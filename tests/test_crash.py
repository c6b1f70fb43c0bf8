"""SPEC §14: a kill -9 at any moment loses no committed change and leaves the database intact.

The real app (tests/app_process.py) takes concurrent writes through the API — servers added and
edited, each with its audit row — and is killed with SIGKILL while they are in flight. Then the
SQLite file must pass `PRAGMA integrity_check`, hold every write that was acknowledged (a 2xx
received) before the kill, and the app must start again on the same data dir and serve it.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
from dataclasses import dataclass, field

import httpx
import pytest

from tests.app_process import start_app
from tests.daemons.common import free_port, wait_until

pytestmark = pytest.mark.slow

WRITERS = 6


@dataclass
class Writer:
    """One client's servers: every name each was given, in order, and how many of those
    the app acknowledged."""

    number: int
    token: str
    names: dict[str, list[str]] = field(default_factory=dict)  # server id -> names sent
    acked: dict[str, int] = field(default_factory=dict)  # server id -> names acknowledged
    pending_add: str | None = None  # a name sent to POST /servers, not acknowledged
    acked_count: int = 0
    refused: list[str] = field(default_factory=list)  # answers that were not 2xx

    def run(self, base: str, stop: threading.Event) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            step = 0
            try:
                while not stop.is_set():
                    step += 1
                    if step % 3 == 1 or not self.names:
                        self._add(http, f"w{self.number}-{step}")
                    else:
                        self._edit(http, f"w{self.number}-{step}")
            except httpx.TransportError:
                return  # the app is gone

    def _add(self, http: httpx.Client, name: str) -> None:
        body = {"name": name, "server_type": "transmission", "host": "127.0.0.1", "port": 9}
        self.pending_add = name
        response = http.post("/servers", json=body)
        if response.status_code != 201:
            self.refused.append(f"POST {response.status_code} {response.text[:200]}")
            return
        server_id = response.json()["id"]
        self.names[server_id] = [name]
        self.acked[server_id] = 1
        self.pending_add = None
        self.acked_count += 1

    def _edit(self, http: httpx.Client, name: str) -> None:
        server_id = list(self.names)[self.acked_count % len(self.names)]
        self.names[server_id].append(name)
        response = http.put(f"/servers/{server_id}", json={"name": name})
        if response.status_code != 200:
            self.refused.append(f"PUT {response.status_code} {response.text[:200]}")
            self.names[server_id].pop()
            return
        self.acked[server_id] = len(self.names[server_id])
        self.acked_count += 1


def sign_in(base: str, password: str, count: int) -> list[str]:
    with httpx.Client(base_url=base, timeout=30) as http:
        body = {"username": "admin", "password": password}
        return [http.post("/auth/token", json=body).json()["token"] for _ in range(count)]


def write_until_killed(app, password: str, acked_before_kill: int) -> list[Writer]:
    """Concurrent writers until `acked_before_kill` writes were acknowledged; then SIGKILL
    with the writers still sending."""
    writers = [Writer(n, t) for n, t in enumerate(sign_in(app.base, password, WRITERS))]
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(app.base, stop)) for w in writers]
    for thread in threads:
        thread.start()
    try:
        wait_until(
            lambda: sum(w.acked_count for w in writers) >= acked_before_kill,
            timeout=120,
            interval=0.01,
            message=f"{acked_before_kill} acknowledged writes",
        )
        app.process.send_signal(signal.SIGKILL)
        app.process.wait(10)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert app.process.returncode == -signal.SIGKILL
    return writers


def check_database(db_file, writers: list[Writer]) -> None:
    """Intact, and every acknowledged write is there (a write in flight may be there too)."""
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        stored = dict(conn.execute("SELECT id, name FROM TorrentServer").fetchall())
        audited = conn.execute("SELECT action, server FROM Action").fetchall()
    adds = {server for action, server in audited if action == "server.add"}
    edits: dict[str, int] = {}
    for action, server in audited:
        if action == "server.edit":
            edits[server] = edits.get(server, 0) + 1
    for writer in writers:
        assert not writer.refused, writer.refused  # no write failed while the app ran
        for server_id, names in writer.names.items():
            acked = writer.acked[server_id]
            assert server_id in stored, f"acknowledged add of {names[0]} lost"
            # The last acknowledged name, or one sent after it that committed before the kill.
            assert stored[server_id] in names[acked - 1 :], (stored[server_id], names, acked)
            assert server_id in adds, f"audit row of adding {names[0]} lost"
            assert edits.get(server_id, 0) >= acked - 1, f"audit rows of editing {names} lost"
    unknown = set(stored) - {s for w in writers for s in w.names}
    in_flight = {w.pending_add for w in writers if w.pending_add}
    assert len(unknown) <= len(in_flight)  # only adds sent but never acknowledged


def test_kill_9_during_concurrent_writes_loses_no_acknowledged_write(tmp_path):
    data_dir = tmp_path / "data"
    db_file = data_dir / "torrentdesk.sqlite"
    port = free_port()
    app = start_app(data_dir, port=port)
    password = app.admin_password()
    try:
        first = write_until_killed(app, password, acked_before_kill=150)
    finally:
        app.stop()
    check_database(db_file, first)

    # It starts again on the same data, serves what was stored, takes writes, and survives
    # a second kill as well.
    app = start_app(data_dir, port=port)
    try:
        with httpx.Client(base_url=app.base, timeout=30) as http:
            [token] = sign_in(app.base, password, 1)
            listed = http.get("/servers", headers={"Authorization": f"Bearer {token}"})
            assert listed.status_code == 200
        with sqlite3.connect(db_file) as conn:
            stored = dict(conn.execute("SELECT id, name FROM TorrentServer").fetchall())
        assert {s["id"]: s["name"] for s in listed.json()} == stored
        second = write_until_killed(app, password, acked_before_kill=60)
    finally:
        app.stop()
    check_database(db_file, first + second)

    app = start_app(data_dir, port=port)
    try:
        [token] = sign_in(app.base, password, 1)
        with httpx.Client(base_url=app.base, timeout=30) as http:
            assert http.get("/health").json()["status"] == "ok"
            listed = http.get("/servers", headers={"Authorization": f"Bearer {token}"}).json()
        assert len(listed) >= sum(len(w.names) for w in first + second)
    finally:
        assert app.stop() == 0, app.output()
