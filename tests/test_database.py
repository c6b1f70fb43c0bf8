import sqlite3
import stat

import pytest
from pony.orm import db_session

from tests.api_fixtures import query
from torrentdesk import db as db_package
from torrentdesk.config import (
    ensure_data_dir,
    load_settings,
    normalize_db_url,
    transmission_defaults,
)
from torrentdesk.db import (
    SCHEMA_VERSION,
    SERVER_COLORS,
    SchemaTooNew,
    least_used_color,
    open_database,
)
from torrentdesk.services.secrets import FERNET_KEY_FILE, SESSION_SECRET_FILE, SecretStore

# `db_url` (tests/daemons/postgres.py) runs a test on SQLite and on PostgreSQL.


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'data' / 'td.sqlite'}"


def columns(db, table: str) -> set[str]:
    if db.provider.dialect == "SQLite":
        return {row[1] for row in query(db, f'PRAGMA table_info("{table}")')}
    sql = "SELECT column_name FROM information_schema.columns WHERE table_name = $table"
    return {row[0] for row in query(db, sql, {"table": table.lower()})}


def tables(db) -> set[str]:
    if db.provider.dialect == "SQLite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    return {row[0].lower() for row in query(db, sql)}


def stored_version(db) -> int:
    [(version,)] = query(db, 'SELECT version FROM "SchemaInfo"')
    return version


def as_an_older_torrentdesk_left_it(db, version: int, *dropped_columns: str) -> None:
    """Take the server columns added since `version` away and mark the schema as `version`."""
    with db_session:
        for column in dropped_columns:
            db.execute(f'ALTER TABLE TorrentServer DROP COLUMN "{column}"')
        db.execute(f'UPDATE "SchemaInfo" SET version = {version}')
    db.disconnect()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_url, tmp_path):
    db = open_database(sqlite_url)
    with db_session:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 10000
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: see database.py
    # WAL is a property of the file: a plain sqlite3 connection sees it too.
    with sqlite3.connect(tmp_path / "data" / "td.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_new_database_has_every_table_and_the_current_schema_version(db_url):
    db = open_database(db_url)
    expected = {"User", "ApiToken", "TorrentServer", "Torrent", "UserTorrent", "Status", "Action"}
    assert {name.lower() for name in expected} <= tables(db)
    assert stored_version(db) == SCHEMA_VERSION
    server_columns = columns(db, "TorrentServer")
    assert {
        "id", "user", "name", "server_type", "protocol", "host", "port", "username", "password",
        "rpc_path", "enabled", "created_at", "last_status", "last_error", "last_checked_at",
        "version",
        "color",
    } <= server_columns  # fmt: skip


def test_schema_upgrades_run_in_order_once(db_url, monkeypatch):
    open_database(db_url)
    ran: list[int] = []

    def step(number):
        def upgrade(db):
            ran.append(number)
            db.execute(f"CREATE TABLE upgrade_{number} (x INTEGER)")

        return upgrade

    monkeypatch.setattr(db_package.database, "SCHEMA_VERSION", SCHEMA_VERSION + 2)
    monkeypatch.setitem(
        db_package.database.MIGRATIONS, SCHEMA_VERSION + 2, step(SCHEMA_VERSION + 2)
    )
    monkeypatch.setitem(
        db_package.database.MIGRATIONS, SCHEMA_VERSION + 1, step(SCHEMA_VERSION + 1)
    )
    open_database(db_url)
    db = open_database(db_url)
    assert ran == [SCHEMA_VERSION + 1, SCHEMA_VERSION + 2]
    assert stored_version(db) == SCHEMA_VERSION + 2
    assert query(db, f"SELECT count(*) FROM upgrade_{SCHEMA_VERSION + 2}") == [(0,)]


def test_schema_1_gains_the_server_version_and_keeps_servers(db_url):
    db = open_database(db_url)
    with db_session:
        user = db.User(username="old", password_hash="x")
        db.TorrentServer(user=user, name="nas", server_type="transmission", host="h", port=1)
    as_an_older_torrentdesk_left_it(db, 1, "version", "color")  # as torrentdesk 0.1 left it
    db = open_database(db_url)
    with db_session:
        (server,) = db.TorrentServer.select()[:]
        assert (server.name, server.version) == ("nas", None)
        server.version = "Transmission 3.00 (bb6b5a062e)"
    assert stored_version(db) == SCHEMA_VERSION
    assert query(db, "SELECT version FROM TorrentServer") == [("Transmission 3.00 (bb6b5a062e)",)]


def test_upgrading_from_version_2_keeps_the_servers_and_gives_them_their_colours(db_url):
    db = open_database(db_url)
    with db_session:
        alice = db.User(username="alice", password_hash="h")
        bob = db.User(username="bob", password_hash="h")
        # Created out of name order: version 2 drew colours in name order, per user.
        for name in ("zeta", "alpha", "mid"):
            db.TorrentServer(
                user=alice, name=name, server_type="rtorrent", protocol="scgi", host="h",
                port=5000, last_status="error", last_error=f"{name}: down",
            )  # fmt: skip
        db.TorrentServer(
            user=bob, name="only", server_type="transmission", host="nas", port=9091,
            username="u", password="token", rpc_path="/transmission/rpc",
        )  # fmt: skip
        before = {s.name: s.to_dict(exclude=["color"]) for s in db.TorrentServer.select()}
    as_an_older_torrentdesk_left_it(db, 2, "color")  # what version 2 left: no colour column

    db = open_database(db_url)
    with db_session:
        after = {s.name: s for s in db.TorrentServer.select()}
        assert {n: s.to_dict(exclude=["color"]) for n, s in after.items()} == before
        colors = {n: s.color for n, s in after.items()}
    assert colors == {
        "alpha": SERVER_COLORS[0],
        "mid": SERVER_COLORS[1],
        "zeta": SERVER_COLORS[2],
        "only": SERVER_COLORS[0],
    }
    db.disconnect()
    db = open_database(db_url)  # committed: a new connection reads them
    assert stored_version(db) == SCHEMA_VERSION
    assert dict(query(db, "SELECT name, color FROM TorrentServer")) == colors


def test_a_database_from_a_newer_torrentdesk_is_refused(db_url):
    db = open_database(db_url)
    with db_session:
        db.execute(f'UPDATE "SchemaInfo" SET version = {SCHEMA_VERSION + 5}')
    with pytest.raises(SchemaTooNew, match="upgrade torrentdesk"):
        open_database(db_url)


def test_deleting_a_server_keeps_its_audit_rows_and_drops_its_torrents(db_url):
    db = open_database(db_url)
    with db_session:
        user = db.User(username="u", password_hash="h")
        server = db.TorrentServer(user=user, name="s", server_type="rtorrent", host="h", port=1)
        db.Torrent(server=server, info_hash="a" * 40, name="t", size=2**40)
        db.Action(user=user, server=server, action="server.add", ok=True)
        server_id = server.id
    assert len(server_id) == 36
    with db_session:
        db.TorrentServer[server_id].delete()
    with db_session:
        assert db.Torrent.select().count() == 0
        action = db.Action.select().first()
        assert action.server is None and action.action == "server.add"
        assert db.Torrent.select().count() == 0


def test_settings_precedence_and_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("TORRENTDESK_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.delenv("TORRENTDESK_DB_URL", raising=False)
    assert load_settings().data_dir == tmp_path / "env"
    assert load_settings().db_url == f"sqlite:///{tmp_path / 'env' / 'torrentdesk.sqlite'}"
    explicit = load_settings(data_dir=tmp_path / "cli")
    assert explicit.data_dir == tmp_path / "cli"
    monkeypatch.chdir(tmp_path)
    relative = load_settings(db_url="sqlite:///rel/db.sqlite")
    assert relative.db_url == f"sqlite:///{tmp_path / 'rel' / 'db.sqlite'}"
    monkeypatch.setenv("TORRENTDESK_DB_URL", "postgres://u:p@db:5432/td")
    assert load_settings().db_url == "postgres://u:p@db:5432/td"


def test_default_data_dir_is_the_platform_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("TORRENTDESK_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert load_settings().data_dir == tmp_path / "xdg" / "torrentdesk"


def test_data_dir_is_private(tmp_path):
    settings = load_settings(data_dir=tmp_path / "private")
    ensure_data_dir(settings)
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o700


def test_unsupported_database_urls_are_rejected():
    with pytest.raises(ValueError, match="unsupported database URL 'mysql://x'"):
        normalize_db_url("mysql://x")


def test_transmission_defaults_come_from_the_environment(monkeypatch):
    for name in ("HOST", "PORT", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"TRANSMISSION_{name}", raising=False)
    defaults = transmission_defaults()
    assert (defaults.host, defaults.port, defaults.username, defaults.password) == (
        "localhost",
        9091,
        None,
        None,
    )
    monkeypatch.setenv("TRANSMISSION_HOST", "nas.lan")
    monkeypatch.setenv("TRANSMISSION_PORT", "19091")
    monkeypatch.setenv("TRANSMISSION_USERNAME", "me")
    monkeypatch.setenv("TRANSMISSION_PASSWORD", "pw")
    assert transmission_defaults() == type(defaults)("nas.lan", 19091, "me", "pw")
    monkeypatch.setenv("TRANSMISSION_PORT", "not-a-port")
    assert transmission_defaults().port == 9091


def test_secret_files_are_created_once_with_mode_0600(tmp_path):
    first = SecretStore(tmp_path)
    for name in (FERNET_KEY_FILE, SESSION_SECRET_FILE):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    token = first.encrypt("hunter22")
    assert "hunter22" not in token
    second = SecretStore(tmp_path)
    assert second.decrypt(token) == "hunter22"
    assert second.session_secret == first.session_secret and len(first.session_secret) >= 48


def test_a_replaced_key_file_gives_an_actionable_error(tmp_path):
    token = SecretStore(tmp_path / "a").encrypt("pw")
    with pytest.raises(ValueError, match="enter the server's password again"):
        SecretStore(tmp_path / "b").decrypt(token)


def test_the_least_used_colour_fills_the_palette_before_repeating():
    used: list[str] = []
    for _ in range(len(SERVER_COLORS) + 2):
        used.append(least_used_color(used))
    assert used == [*SERVER_COLORS, SERVER_COLORS[0], SERVER_COLORS[1]]
    assert least_used_color([SERVER_COLORS[0], None, "#123456"]) == SERVER_COLORS[1]
