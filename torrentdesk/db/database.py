"""Open a database: bind, tune SQLite, upgrade the schema in order, map the entities."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from pony.orm import Database, db_session
from pony.orm.core import TransactionError

from .models import define_entities, least_used_color

SCHEMA_VERSION = 3
BUSY_TIMEOUT_SECONDS = 10.0
WRITE_ATTEMPTS = 5
# PostgreSQL's serialization failure and deadlock: the transaction may simply be run again.
_RETRYABLE_SQLSTATES = ("40001", "40P01")

T = TypeVar("T")

# Step N upgrades a database at version N-1 to N, in raw SQL, before the entities are mapped.
# `generate_mapping(create_tables=True)` only creates missing tables, so every column change
# to an existing table needs a step here. Each runs in its own transaction on both backends;
# write table names in lower case (Pony lowercases them on PostgreSQL; SQLite ignores case)
# and types both know (VARCHAR(n), TEXT, INTEGER, BIGINT, BOOLEAN, TIMESTAMP).
def _add_server_version(db: Database) -> None:
    db.execute('ALTER TABLE "torrentserver" ADD COLUMN "version" VARCHAR(200)')


def _add_server_colors(db: Database) -> None:
    """Each server keeps a colour. Existing ones get the colours they were drawn in (the
    palette in name order, per user), now stored."""
    db.execute('ALTER TABLE "torrentserver" ADD COLUMN "color" VARCHAR(16)')
    servers = db.select('"id", "user" FROM "torrentserver" ORDER BY "user", "name", "created_at"')
    used: dict[int, list[str]] = {}
    for server_id, user_id in servers:
        taken = used.setdefault(user_id, [])
        color = least_used_color(taken)
        taken.append(color)
        db.execute(
            'UPDATE "torrentserver" SET "color" = $color WHERE "id" = $server_id',
            {"color": color, "server_id": server_id},
        )


MIGRATIONS: dict[int, Callable[[Database], None]] = {
    2: _add_server_version,
    3: _add_server_colors,
}


class SchemaTooNew(RuntimeError):
    pass


class WriteConflict(RuntimeError):
    """Other writers changed the same rows every time a write was tried."""


def write_retrying(work: Callable[[], T], attempts: int = WRITE_ATTEMPTS) -> T:
    """Run `work` (a read-modify-write) in its own db_session that takes the write lock at once
    (SQLite: BEGIN IMMEDIATE, so concurrent writers queue instead of tripping Pony's optimistic
    check), and again when another writer still got in between (Pony's optimistic check,
    PostgreSQL's serialization failure or deadlock). WriteConflict after `attempts`."""
    for _ in range(attempts):
        try:
            with db_session(immediate=True):
                return work()
        except Exception as exc:
            if not _conflicting(exc):
                raise
    raise WriteConflict(f"the write conflicted with others {attempts} times")


def _conflicting(exc: Exception) -> bool:
    if isinstance(exc, TransactionError):
        return True
    original = getattr(exc, "original_exc", None)
    return getattr(original, "pgcode", None) in _RETRYABLE_SQLSTATES


def open_database(url: str) -> Database:
    """A mapped, upgraded database for `url` (sqlite:///abs/path or postgres://...)."""
    db = Database()
    _bind(db, url)
    define_entities(db)
    found = _stored_version(db)
    if found is not None and found > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the database at {_redacted(url)} has schema version {found}, newer than this "
            f"torrentdesk understands ({SCHEMA_VERSION}): upgrade torrentdesk"
        )
    if found is not None:  # a fresh database is created at the current version below
        for step in range(found + 1, SCHEMA_VERSION + 1):
            if step in MIGRATIONS:
                with db_session:
                    MIGRATIONS[step](db)
    db.generate_mapping(create_tables=True)
    with db_session:
        info = db.SchemaInfo.get(id=1)
        if info is None:
            db.SchemaInfo(id=1, version=SCHEMA_VERSION)
        else:
            info.version = SCHEMA_VERSION
    return db


def _bind(db: Database, url: str) -> None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_absolute():
            raise ValueError(f"SQLite path must be absolute, got {path}")
        path.parent.mkdir(parents=True, exist_ok=True)

        @db.on_connect(provider="sqlite")
        def tune_sqlite(_db, connection) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the poller's writes
            # Durability (SPEC §14; tests/test_crash.py kills the app during writes): in WAL mode
            # a commit has written the whole transaction to the -wal file before Pony's commit
            # returns, so a kill -9 at any moment keeps every acknowledged change, and recovery
            # replays or drops whole transactions: the file stays intact. NORMAL skips FULL's
            # fsync per commit (the poller commits every 2 s per server); what it gives up is
            # only the last commits before a checkpoint after an OS crash or power loss, and
            # even then the database is not corrupted.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")

        db.bind(provider="sqlite", filename=str(path), create_db=True, timeout=BUSY_TIMEOUT_SECONDS)
        return
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"unsupported database URL scheme {parts.scheme!r}")
    _text_without_nul()
    db.bind(
        provider="postgres",
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        host=parts.hostname or "localhost",
        port=parts.port or 5432,
        database=parts.path.lstrip("/"),
    )


def _text_without_nul() -> None:
    """PostgreSQL text cannot hold NUL (psycopg2 raises before sending), SQLite's can. A NUL
    typed by a user or sent by a daemon (a torrent's name) is stored as U+FFFD instead of
    failing the request with a 500, or a server's whole snapshot: for every str psycopg2 sends,
    Pony's queries and the raw SQL of services alike. A lookup by such a value finds nothing,
    as it should."""
    try:
        from psycopg2.extensions import QuotedString, register_adapter
    except ImportError:
        raise RuntimeError(
            "PostgreSQL needs psycopg2: pip install 'torrentdesk[postgres]' "
            "(or psycopg2-binary) into torrentdesk's environment"
        ) from None

    def adapt(text: str) -> QuotedString:
        return QuotedString(text.replace("\x00", "\ufffd") if "\x00" in text else text)

    register_adapter(str, adapt)


def _stored_version(db: Database) -> int | None:
    """The schema version on disk, or None for an empty database."""
    with db_session:
        table = db.SchemaInfo._table_
        if db.provider.dialect == "SQLite":
            exists = db.select("name FROM sqlite_master WHERE type='table' AND name=$table")
        else:
            exists = db.select("tablename FROM pg_tables WHERE tablename = $table")
        if not exists:
            return None
        rows = db.select(f'version FROM "{table}" WHERE id = 1')
        return rows[0] if rows else None


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
