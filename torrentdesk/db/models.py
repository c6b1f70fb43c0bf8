"""Pony entities (SPEC §3) and nothing else.

Entities are defined per `Database` so tests and tools can open several databases in one process.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

from pony.orm import (
    Database,
    Json,
    Optional,
    PrimaryKey,
    Required,
    Set,
    composite_index,
    composite_key,
)


def utcnow() -> datetime:
    # Stored naive in UTC: Pony's SQLite and PostgreSQL converters agree on naive datetimes.
    return datetime.now(UTC).replace(tzinfo=None)


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored naive UTC datetime, made explicit for the outside world."""
    return None if moment is None else moment.replace(tzinfo=UTC)


def new_server_id() -> str:
    return str(uuid.uuid4())


# Server colours, distinct in light and dark mode. A server gets one when it is added and keeps
# it: the least used among its owner's servers, so none repeats before all ten are taken.
SERVER_COLORS = (
    "#3b82f6",
    "#10b981",
    "#f59e0b",
    "#a855f7",
    "#ef4444",
    "#06b6d4",
    "#ec4899",
    "#84cc16",
    "#f97316",
    "#64748b",
)


def least_used_color(used: Iterable[str | None]) -> str:
    """The palette's least used colour among `used` (a user's servers); ties in palette order."""
    counts = Counter(used)
    return min(SERVER_COLORS, key=lambda color: counts[color])


def define_entities(db: Database) -> None:
    class SchemaInfo(db.Entity):
        """One row: the schema version this database has been upgraded to."""

        _table_ = "SchemaInfo"  # named explicitly: it is read before the mapping exists
        id = PrimaryKey(int)
        version = Required(int)

    class User(db.Entity):
        id = PrimaryKey(int, auto=True)
        username = Required(str, 64, unique=True)
        password_hash = Required(str)
        is_admin = Required(bool, default=False)
        created_at = Required(datetime, default=utcnow)
        tokens = Set("ApiToken", cascade_delete=True)
        servers = Set("TorrentServer", cascade_delete=True)
        user_torrents = Set("UserTorrent", cascade_delete=True)
        actions = Set("Action", cascade_delete=True)
        metainfos = Set("Metainfo", cascade_delete=True)
        add_rules = Optional("AddRules", cascade_delete=True)
        transfers = Set("Transfer", cascade_delete=True)
        visit = Optional("Visit", cascade_delete=True)
        views = Set("SavedView", cascade_delete=True)

    class ApiToken(db.Entity):
        user = Required(User)
        token_hash = Required(str, 64, unique=True)  # sha256 hex; the token itself is never kept
        created_at = Required(datetime, default=utcnow)
        # Written by any request that shows the token, so never part of Pony's optimistic
        # check: two requests at once both write it, and neither fails.
        last_used_at = Optional(datetime, optimistic=False)

    class TorrentServer(db.Entity):
        id = PrimaryKey(str, 36, default=new_server_id)
        user = Required(User)
        name = Required(str, 100)
        server_type = Required(str, 16)  # a key of clients.registry.SERVER_KINDS
        protocol = Required(str, 8, default="http")  # http | https | scgi
        host = Required(str, 255)
        port = Required(int)
        username = Optional(str, 255, nullable=True)
        password = Optional(str, nullable=True)  # Fernet token, never the clear password
        rpc_path = Optional(str, 255, nullable=True)
        enabled = Required(bool, default=True)
        created_at = Required(datetime, default=utcnow)
        # The poller's and tests' record of the last talk: written without Pony's optimistic
        # check, so a poll never fails an edit made at the same moment, nor an edit a poll.
        # connected | error | unknown
        last_status = Required(str, 16, default="unknown", optimistic=False)
        last_error = Optional(str, nullable=True, optimistic=False)
        last_checked_at = Optional(datetime, optimistic=False)
        # What the daemon reported at the last successful connection: its capabilities.
        version = Optional(str, 200, nullable=True, optimistic=False)
        color = Optional(str, 16, nullable=True)  # "#rrggbb", chosen once when added
        torrents = Set("Torrent", cascade_delete=True)
        events = Set("TorrentEvent", cascade_delete=True)
        user_torrents = Set("UserTorrent", cascade_delete=True)
        statuses = Set("Status", cascade_delete=True)
        speed_memory = Optional("SpeedMemory", cascade_delete=True)
        actions = Set("Action")  # the audit log outlives the server: set to null on delete

    class Torrent(db.Entity):
        """The last known list of each server."""

        server = Required(TorrentServer)
        info_hash = Required(str, 40)
        name = Required(str)
        size = Required(int, size=64)
        added_at = Optional(datetime)
        last_seen_at = Required(datetime, default=utcnow)
        composite_key(server, info_hash)
        composite_index(info_hash, server)  # "which server holds this hash?"

    class UserTorrent(db.Entity):
        """Who added which torrent where."""

        user = Required(User)
        server = Required(TorrentServer)
        info_hash = Required(str, 40)
        added_at = Required(datetime, default=utcnow)
        composite_index(server, info_hash)

    class Status(db.Entity):
        """Speed history samples, kept 24 h."""

        server = Required(TorrentServer)
        at = Required(datetime, default=utcnow)
        download_rate = Required(int, size=64)
        upload_rate = Required(int, size=64)
        torrent_count = Required(int)
        active_count = Required(int)
        reachable = Required(bool)
        composite_index(server, at)

    class SpeedMemory(db.Entity):
        """A server's normal and alternative ("slow mode") global limits in bytes/s (null:
        unlimited), where the daemon has one pair only (rTorrent): torrentdesk remembers both
        and sets the daemon's limits to the pair that applies."""

        server = PrimaryKey(TorrentServer)
        download = Optional(int, size=64, nullable=True)
        upload = Optional(int, size=64, nullable=True)
        alt_download = Optional(int, size=64, nullable=True)
        alt_upload = Optional(int, size=64, nullable=True)
        alt_enabled = Required(bool, default=False)

    class AdminSetting(db.Entity):
        """One admin setting (SPEC §14; services/settings.py): a missing row is its default."""

        key = PrimaryKey(str, 64)
        value = Required(str, 200)  # JSON

    class Action(db.Entity):
        """The audit log of every change."""

        user = Required(User)
        server = Optional(TorrentServer)
        info_hash = Optional(str, 40, nullable=True)
        action = Required(str, 32)
        at = Required(datetime, default=utcnow, index=True)
        ok = Required(bool)
        detail = Optional(str, nullable=True)

    class Metainfo(db.Entity):
        """The .torrent bytes of every torrent added through the app, per user (SPEC §11): no
        daemon hands them back, and a transfer to another server needs them."""

        user = Required(User)
        info_hash = Required(str, 40)
        name = Required(str)
        data = Required(bytes, lazy=True)
        stored_at = Required(datetime, default=utcnow)
        composite_key(user, info_hash)

    class AddRules(db.Entity):
        """A user's ordered add rules, as one checked JSON list (SPEC §11)."""

        user = Required(User, unique=True)
        rules = Required(Json)

    class Transfer(db.Entity):
        """A copy or move of a torrent to another server: a job that survives restarts."""

        id = PrimaryKey(str, 36, default=new_server_id)
        user = Required(User)
        # Plain ids, not relations: a job outlives a deleted server and then fails saying so.
        source_id = Required(str, 36)
        target_id = Required(str, 36)
        info_hash = Required(str, 40)
        mode = Required(str, 8)  # copy | move
        same_storage = Required(bool)
        allow_magnet = Required(bool, default=False)
        download_dir = Optional(str, 4096, nullable=True)
        state = Required(str, 16, default="queued")  # queued running done failed cancelled
        step = Required(str, 16, default="preflight")
        error = Optional(str, nullable=True)
        plan = Required(Json, default={})  # what preflight learned: name, labels, dirs, files
        created_at = Required(datetime, default=utcnow)
        updated_at = Required(datetime, default=utcnow)
        composite_index(state, updated_at)

    class TorrentEvent(db.Entity):
        """What happened to a torrent while the app watched its server: finished, failed,
        added or removed — the "while you were away" summary's source. Kept 30 days."""

        server = Required(TorrentServer)
        info_hash = Required(str, 40)
        name = Required(str)
        kind = Required(str, 16)  # finished | failed | added | removed
        detail = Optional(str, nullable=True)  # a failure's message
        at = Required(datetime, default=utcnow, index=True)

    class Visit(db.Entity):
        """When the user last saw the app (a page closed, or the summary dismissed)."""

        user = Required(User, unique=True)
        seen_at = Required(datetime, default=utcnow)


    class SavedView(db.Entity):
        """A user's named view of the table: filters, search, sort and columns (JSON text)."""

        user = Required(User)
        name = Required(str, 64)
        state = Required(str)  # JSON, checked by services/views.py
        updated_at = Required(datetime, default=utcnow)
        last_used_at = Optional(datetime)  # the latest one is restored on open
        composite_key(user, name)
