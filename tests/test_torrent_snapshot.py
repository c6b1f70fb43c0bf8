"""TorrentService.remember_list: each server's last known list, written as plain SQL diffs."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pony.orm import db_session

from tests.api_fixtures import allow_loopback_servers, query
from torrentdesk.clients import TorrentInfo
from torrentdesk.db import open_database
from torrentdesk.services import build_services
from torrentdesk.services.secrets import SecretStore
from torrentdesk.services.servers import ServerFields


def info(n: int, name: str | None = None, size: int = 1000, added_at: int = 1_700_000_000):
    return TorrentInfo(
        f"{n:040x}", name or f"t{n}", "stopped", 0.0, size, 0, 0, 0, 0, 0.0, None, 0, 0,
        added_at, "/d", None, None,
    )  # fmt: skip


@pytest.fixture
def setup(tmp_path, db_url):
    """On SQLite and on PostgreSQL (`db_url`): the snapshot is raw SQL."""
    db = open_database(db_url)
    services = build_services(db, SecretStore(tmp_path / "data"))
    allow_loopback_servers(services)
    user = services.users.create("alice", "password-123")
    fields = ServerFields("tr", "transmission", "127.0.0.1", 1)
    server = services.servers.create(user.id, fields)
    other = services.servers.create(user.id, replace(fields, name="other"))
    yield services, server.id, other.id, db
    services.close()


def rows(db, server_id: str) -> dict:
    found = query(
        db,
        "SELECT info_hash, name, size, added_at, last_seen_at FROM Torrent WHERE server = $id",
        {"id": server_id},
    )
    return {h: (name, size, added, seen) for h, name, size, added, seen in found}


def test_added_renamed_resized_and_removed_rows(setup):
    services, server_id, other_id, db = setup
    torrents = services.torrents
    torrents.remember_list(other_id, [info(1)])  # the same hash on another server stays apart
    torrents.remember_list(server_id, [info(1), info(2, added_at=0), info(3)])
    first = rows(db, server_id)
    assert {h: v[:2] for h, v in first.items()} == {
        f"{1:040x}": ("t1", 1000),
        f"{2:040x}": ("t2", 1000),
        f"{3:040x}": ("t3", 1000),
    }
    # added_at, as Pony stores it: text in SQLite, a timestamp in PostgreSQL.
    assert str(first[f"{1:040x}"][2]).startswith("2023-11-14 22:13:20")
    with db_session:
        stored = db.Torrent.get(server=server_id, info_hash=f"{1:040x}").added_at
    assert stored.isoformat() == "2023-11-14T22:13:20"
    assert first[f"{2:040x}"][2] is None  # unknown add time

    torrents.remember_list(server_id, [info(1, name="renamed"), info(3, size=5), info(4)])
    second = rows(db, server_id)
    assert {h: v[:2] for h, v in second.items()} == {
        f"{1:040x}": ("renamed", 1000),
        f"{3:040x}": ("t3", 5),
        f"{4:040x}": ("t4", 1000),
    }
    assert all(v[3] >= first[f"{1:040x}"][3] for v in second.values())  # seen again
    assert list(rows(db, other_id)) == [f"{1:040x}"]

    torrents.remember_list(server_id, [])
    assert rows(db, server_id) == {}
    view = services.servers.get(1, server_id)
    assert (view.status, view.error, view.checked_at is not None) == ("connected", None, True)


def test_rows_changed_behind_its_back_are_read_again(setup):
    services, server_id, _, db = setup
    torrents = services.torrents
    torrents.remember_list(server_id, [info(1), info(2)])
    with db_session:  # another writer deletes one
        db.execute("DELETE FROM Torrent WHERE info_hash = $h", {"h": f"{1:040x}"})
    torrents.remember_list(server_id, [info(1), info(2)])
    assert set(rows(db, server_id)) == {f"{1:040x}", f"{2:040x}"}

    torrents._forget(server_id, f"{2:040x}")  # removed through torrentdesk
    torrents.remember_list(server_id, [info(1), info(2)])
    assert set(rows(db, server_id)) == {f"{1:040x}", f"{2:040x}"}


def test_a_server_removed_while_listing_is_left_alone(setup):
    services, server_id, _, db = setup
    services.servers.delete(1, server_id)
    services.torrents.remember_list(server_id, [info(1)])
    assert rows(db, server_id) == {}


def test_a_failed_write_forgets_what_it_thought_it_wrote(setup, monkeypatch):
    services, server_id, _, db = setup
    torrents = services.torrents
    torrents.remember_list(server_id, [info(1)])

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(torrents, "_write_snapshot", broken)
    with pytest.raises(RuntimeError):
        torrents.remember_list(server_id, [info(1), info(2)])
    assert server_id not in torrents._snapshots
    monkeypatch.undo()
    torrents.remember_list(server_id, [info(1), info(2)])
    assert set(rows(db, server_id)) == {f"{1:040x}", f"{2:040x}"}


def test_a_name_with_a_nul_is_stored_on_both_backends(setup):
    """PostgreSQL text cannot hold NUL: a daemon's torrent name with one is stored with U+FFFD
    in its place there, instead of failing the server's whole snapshot."""
    services, server_id, _, db = setup
    services.torrents.remember_list(server_id, [info(1, name="bad\x00name"), info(2)])
    [(name,)] = query(db, "SELECT name FROM Torrent WHERE info_hash = $h", {"h": f"{1:040x}"})
    postgres = db.provider.dialect != "SQLite"
    assert name == ("bad\ufffdname" if postgres else "bad\x00name")
    assert set(rows(db, server_id)) == {f"{1:040x}", f"{2:040x}"}
