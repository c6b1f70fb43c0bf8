"""Torrents across all of a user's servers: one list, adding to a chosen server, and actions
on a hash wherever it lives."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pony.orm import Database, db_session
from pony.utils import datetime2timestamp

from ..clients import (
    AddedTorrent,
    AddOptions,
    AsyncTorrentClient,
    ClientError,
    Failures,
    ServerConnection,
    TorrentInfo,
    TorrentNotFound,
    get_client,
    server_kind,
)
from ..db import utcnow
from ..torrent_input import is_info_hash, parse_magnet, parse_torrent_file, parse_torrent_url
from .actions import (
    ACTIONS,
    MAX_TARGETS,
    Action,
    Target,
    TargetResult,
    check_download_dir,
    check_labels,
)
from .audit import AuditService
from .errors import InvalidInput, NotCapable, NotFound, ServiceError, UserFacingError
from .servers import ServerService

# ServerConnection and TorrentInfo travel up to the API as what a located torrent is made of.
__all__ = ["AmbiguousTorrent", "LocatedTorrent", "ServerConnection", "TorrentInfo", "torrent_row"]

REMEMBER_EVERY = 60.0  # seconds between two writes of one server's list by listings
ROW_FIELDS = tuple(name for name in TorrentInfo.__slots__ if name != "files")


def torrent_row(server: ServerConnection, torrent: TorrentInfo) -> dict:
    """A torrent as the API and the pages show it: its fields (no files) and its server."""
    row = {name: getattr(torrent, name) for name in ROW_FIELDS}
    row["label"] = torrent.labels[0] if torrent.labels else None
    row["server_id"] = server.id
    row["server_name"] = server.name
    row["server_type"] = server.server_type
    return row


class AmbiguousTorrent(ServiceError):
    """The hash is on several of the user's servers; the caller must pick one."""

    def __init__(self, info_hash: str, server_ids: list[str]) -> None:
        super().__init__(
            f"torrent {info_hash} is on {len(server_ids)} of your servers; say which with server_id"
        )
        self.server_ids = server_ids


@dataclass(frozen=True, slots=True)
class ServerTorrents:
    """One server's part of a listing: its torrents, or why there are none."""

    server: ServerConnection
    torrents: list[TorrentInfo]
    error: ClientError | None

    @property
    def status(self) -> str:
        return "error" if self.error else "connected"


@dataclass(frozen=True, slots=True)
class LocatedTorrent:
    server: ServerConnection
    torrent: TorrentInfo


class ClientPool:
    """One async client per server, rebuilt when the server's connection settings change."""

    def __init__(self) -> None:
        self._clients: dict[str, tuple[ServerConnection, AsyncTorrentClient]] = {}

    def get(self, connection: ServerConnection) -> AsyncTorrentClient:
        entry = self._clients.get(connection.id)
        if entry is not None and entry[0] == connection:
            return entry[1]
        if entry is not None:
            entry[1].close()
        client = AsyncTorrentClient(get_client(connection))
        self._clients[connection.id] = (connection, client)
        return client

    def discard(self, server_id: str) -> None:
        entry = self._clients.pop(server_id, None)
        if entry is not None:
            entry[1].close()

    def close(self) -> None:
        entries, self._clients = list(self._clients.values()), {}
        for _, client in entries:
            client.close()


class TorrentService:
    def __init__(
        self, db: Database, servers: ServerService, audit: AuditService, pool: ClientPool
    ) -> None:
        self._db = db
        self._servers = servers
        self._audit = audit
        self.pool = pool
        # Each server's snapshot rows as this process last wrote them (see remember_list).
        self._snapshots: dict[str, dict[str, tuple[str, int]]] = {}
        self._snapshot_lock = threading.Lock()
        self._remembered: dict[str, float] = {}  # server id -> when a listing last wrote it
        # Called with the server id after a torrent there was added, started, stopped or
        # removed, so the live view polls it at once.
        self.listeners: list[Callable[[str], None]] = []

    async def list(self, user_id: int, server_id: str | None = None) -> list[ServerTorrents]:
        """Every enabled server (or the one asked for) at once; a failing server is reported,
        never raised, and waits no longer than its timeout."""
        connections = await self.connections_to_list(user_id, server_id)
        return list(await asyncio.gather(*(self.list_server(c) for c in connections)))

    async def connections_to_list(
        self, user_id: int, server_id: str | None = None
    ) -> list[ServerConnection]:
        """The user's enabled servers by name, or the one asked for (NotFound if not theirs)."""
        if server_id is None:
            return await asyncio.to_thread(self._servers.enabled_connections, user_id)
        return [await asyncio.to_thread(self._servers.connection, user_id, server_id)]

    async def add(
        self,
        user_id: int,
        server_id: str,
        uri: str,
        start: bool = True,
        labels: Sequence[str] = (),
        download_dir: str | None = None,
    ) -> AddedTorrent:
        """Add a magnet link or an http(s) URL of a .torrent, with its labels and directory
        set before it starts."""
        options = add_options(labels, download_dir)
        uri = uri.strip()
        if uri.lower().startswith("magnet:"):
            magnet = parse_magnet(uri)
            return await self._add(
                user_id,
                server_id,
                magnet.info_hash,
                magnet.name,
                lambda client: client.add_magnet(magnet, start, options),
            )
        url = parse_torrent_url(uri)
        return await self._add(
            user_id,
            server_id,
            None,
            None,
            lambda client: client.add_torrent_url(url, start, options),
        )

    async def upload(
        self,
        user_id: int,
        server_id: str,
        data: bytes,
        start: bool = True,
        labels: Sequence[str] = (),
        download_dir: str | None = None,
    ) -> AddedTorrent:
        """Add a .torrent file's bytes: checked (and parsed) once, before anything reaches
        the server."""
        options = add_options(labels, download_dir)
        meta = parse_torrent_file(data)
        return await self._add(
            user_id,
            server_id,
            meta.info_hash,
            meta.name,
            lambda client: client.add_torrent(meta, start, options),
        )

    async def default_download_dir(self, user_id: int, server_id: str) -> str | None:
        """Where the server puts torrents added without a directory; None if it cannot say."""
        try:
            connection = await asyncio.to_thread(self._servers.connection, user_id, server_id)
            return await self.pool.get(connection).default_download_dir()
        except UserFacingError:  # gone meanwhile, or not answering: the form shows no default
            return None

    async def get(
        self, user_id: int, info_hash: str, server_id: str | None = None, files: bool = False
    ) -> LocatedTorrent:
        return await self._locate(user_id, info_hash.lower(), server_id, files)

    async def start(
        self, user_id: int, info_hash: str, server_id: str | None = None
    ) -> LocatedTorrent:
        return await self._act_on_one(user_id, info_hash, server_id, "start")

    async def stop(
        self, user_id: int, info_hash: str, server_id: str | None = None
    ) -> LocatedTorrent:
        return await self._act_on_one(user_id, info_hash, server_id, "stop")

    async def remove(
        self, user_id: int, info_hash: str, server_id: str | None = None, delete_data: bool = False
    ) -> LocatedTorrent:
        return await self._act_on_one(
            user_id, info_hash, server_id, "remove", {"delete_data": delete_data}, refresh=False
        )

    async def apply(
        self,
        user_id: int,
        action: str,
        targets: Sequence[Target],
        params: dict[str, Any] | None = None,
    ) -> list[TargetResult]:
        """Apply `action` to torrents on many servers: one client call per server (each batched
        by the client into as few daemon calls as it can), servers concurrently; a result per
        target, in the order given; one audit row per target; each server's poller woken once.
        A failing server fails its own targets only."""
        spec = ACTIONS.get(action)
        if spec is None:
            raise InvalidInput(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
        if len(targets) > MAX_TARGETS:
            raise InvalidInput(f"at most {MAX_TARGETS} targets per action, not {len(targets)}")
        params = spec.check(params or {})
        by_server: dict[str, list[str]] = {}
        for target in targets:
            hashes = by_server.setdefault(target.server_id, [])
            if is_info_hash(target.info_hash):
                hashes.append(target.info_hash.lower())
        connections = await asyncio.to_thread(self._servers.connections, user_id, set(by_server))
        outcomes = await asyncio.gather(
            *(
                self._apply_on_server(spec, connections[server_id], hashes, params)
                for server_id, hashes in by_server.items()
                if server_id in connections and hashes
            )
        )
        failures = {server_id: errors for server_id, errors in outcomes}
        results = [self._result(t, connections, failures) for t in targets]
        await asyncio.to_thread(self._record_results, user_id, spec, params, results)
        for server_id in failures:
            self._notify(server_id)
        return results

    async def _apply_on_server(
        self, spec: Action, connection: ServerConnection, hashes: list[str], params: dict
    ) -> tuple[str, Failures | UserFacingError]:
        hashes = list(dict.fromkeys(hashes))
        kind = server_kind(connection.server_type)
        unable = spec.unable(kind.capabilities(connection.version), params)
        if unable is not None:
            return connection.id, NotCapable(f"{connection.name}: {unable}")
        try:
            failed = await spec.run(self.pool.get(connection), hashes, params)
        except ClientError as exc:
            return connection.id, exc
        if spec.removes:
            done = [h for h in hashes if h not in failed]
            await asyncio.to_thread(self._forget, connection.id, done)
        return connection.id, failed

    @staticmethod
    def _result(
        target: Target,
        connections: dict[str, ServerConnection],
        failures: dict[str, Failures | UserFacingError],
    ) -> TargetResult:
        if target.server_id not in connections:
            error: Exception | None = NotFound(f"no server with id {_shown(target.server_id)}")
        elif not is_info_hash(target.info_hash):
            error = InvalidInput(
                f"{_shown(target.info_hash)} is not an info hash (40 hex characters)"
            )
        else:
            failed = failures[target.server_id]
            error = failed if isinstance(failed, UserFacingError) else failed.get(
                target.info_hash.lower()
            )
        return TargetResult(target.server_id, target.info_hash.lower(), error)

    def _record_results(
        self, user_id: int, spec: Action, params: dict, results: list[TargetResult]
    ) -> None:
        detail = spec.detail(params)
        self._audit.record_many(
            user_id,
            [
                (
                    spec.audit_name,
                    r.ok,
                    r.server_id if _is_stored_id(r.server_id) else None,
                    r.info_hash if is_info_hash(r.info_hash) else None,
                    detail if r.ok else r.message,
                )
                for r in results
            ],
        )

    # -- internals --

    async def list_server(self, connection: ServerConnection) -> ServerTorrents:
        try:
            torrents = await self.pool.get(connection).list_torrents()
        except ClientError as exc:
            self._remembered.pop(connection.id, None)
            await asyncio.to_thread(self._servers.record_status, connection.id, str(exc))
            return ServerTorrents(connection, [], exc)
        # Written at most every REMEMBER_EVERY per server, as the live polls do: comparing
        # 50 000 rows with the stored ones on every listing cost more than the listing.
        now = time.monotonic()
        if now - self._remembered.get(connection.id, -REMEMBER_EVERY) >= REMEMBER_EVERY:
            self._remembered[connection.id] = now
            await asyncio.to_thread(self.remember_list, connection.id, torrents)
        return ServerTorrents(connection, torrents, None)

    async def _add(self, user_id, server_id, info_hash, name, call) -> AddedTorrent:
        connection = await asyncio.to_thread(self._servers.connection, user_id, server_id)
        try:
            added = await call(self.pool.get(connection))
        except ClientError as exc:
            await asyncio.to_thread(
                self._audit.record, user_id, "torrent.add", False, server_id, info_hash, str(exc)
            )
            raise
        # Our parsed name first: Transmission leaves a magnet's '+' undecoded in `dn`.
        added = AddedTorrent(added.info_hash or info_hash, name or added.name)
        await asyncio.to_thread(self._remember_added, user_id, server_id, added)
        self._notify(server_id)
        return added

    async def _act_on_one(
        self, user_id, info_hash, server_id, action, params=None, refresh=True
    ) -> LocatedTorrent:
        """A single-torrent route: find the torrent, apply the action to it alone, raise its
        failure as the route's error."""
        located = await self._locate(user_id, info_hash.lower(), server_id)
        target = Target(located.server.id, located.torrent.info_hash)
        (result,) = await self.apply(user_id, action, [target], params)
        if result.error is not None:
            raise result.error
        if refresh:
            torrent = await self.pool.get(located.server).get_torrent(target.info_hash)
            located = LocatedTorrent(located.server, torrent)
        return located

    def _notify(self, server_id: str) -> None:
        for listener in self.listeners:
            listener(server_id)

    async def _locate(self, user_id, info_hash, server_id, files=False) -> LocatedTorrent:
        """The torrent on the named server, or on the one server of the user's that has it."""
        if server_id is not None:
            connection = await asyncio.to_thread(self._servers.connection, user_id, server_id)
            torrent = await self.pool.get(connection).get_torrent(info_hash, files)
            return LocatedTorrent(connection, torrent)
        connections = await asyncio.to_thread(self._servers.enabled_connections, user_id)
        outcomes = await asyncio.gather(
            *(self.pool.get(c).get_torrent(info_hash, files) for c in connections),
            return_exceptions=True,
        )
        found = [
            LocatedTorrent(c, t)
            for c, t in zip(connections, outcomes, strict=True)
            if isinstance(t, TorrentInfo)
        ]
        if len(found) > 1:
            raise AmbiguousTorrent(info_hash, [f.server.id for f in found])
        if found:
            return found[0]
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, ClientError):
                raise outcome
        failures = [
            o for o in outcomes if isinstance(o, ClientError) and not isinstance(o, TorrentNotFound)
        ]
        if failures:
            # It may be on a server we could not ask: say so rather than "not found".
            raise failures[0]
        raise NotFound(f"no torrent {info_hash} on any of your enabled servers")

    # Snapshot of each server's list (short synchronous sessions, run in a thread).

    def remember_list(self, server_id: str, torrents: list[TorrentInfo]) -> None:
        """Store a server's list as its snapshot: rows added, renamed/resized and removed.

        Runs on every listing, 2 000+ rows per server, so it is plain SQL on what changed,
        never an entity per row: ~3 ms for 2 000 unchanged rows, where loading them as Pony
        entities (with their datetimes) took ~80 ms while holding SQLite's write lock. The rows
        as last written are kept in memory and trusted while the server's row count in the
        database still matches them; else they are read back (the first time, or after someone
        else changed them)."""
        db = self._db
        now = _sql_datetime(db, utcnow())
        # A magnet without its metadata has no size yet: stored as 0.
        current = {t.info_hash: (t.name, t.size or 0, t.added_at) for t in torrents}
        with self._snapshot_lock:
            try:
                with db_session:
                    cursor = db.get_connection().cursor()  # one write transaction for all
                    p = "?" if db.provider.paramstyle == "qmark" else "%s"
                    cursor.execute(
                        f'UPDATE "TorrentServer" SET "last_status" = {p}, "last_error" = NULL, '
                        f'"last_checked_at" = {p} WHERE "id" = {p}',
                        ("connected", now, server_id),
                    )
                    if cursor.rowcount == 0:  # removed while we were listing
                        self._snapshots.pop(server_id, None)
                        return
                    known = self._stored_snapshot(cursor, p, server_id)
                    self._write_snapshot(cursor, p, server_id, known, current, now)
                    self._snapshots[server_id] = {h: (n, s) for h, (n, s, _) in current.items()}
            except BaseException:
                self._snapshots.pop(server_id, None)  # the transaction may not have happened
                raise

    def _stored_snapshot(self, cursor, p: str, server_id: str) -> dict[str, tuple[str, int]]:
        known = self._snapshots.get(server_id)
        if known is not None:
            cursor.execute(f'SELECT count(*) FROM "Torrent" WHERE "server" = {p}', (server_id,))
            if cursor.fetchone()[0] == len(known):
                return known
        cursor.execute(
            f'SELECT "info_hash", "name", "size" FROM "Torrent" WHERE "server" = {p}',
            (server_id,),
        )
        return {info_hash: (name, size) for info_hash, name, size in cursor.fetchall()}

    def _write_snapshot(self, cursor, p: str, server_id: str, known, current, now) -> None:
        gone = [(server_id, h) for h in known.keys() - current.keys()]
        if gone:
            cursor.executemany(
                f'DELETE FROM "Torrent" WHERE "server" = {p} AND "info_hash" = {p}', gone
            )
        new, changed = [], []
        for info_hash, (name, size, added_at) in current.items():
            old = known.get(info_hash)
            if old is None:
                moment = _from_unix(added_at)
                added = None if moment is None else _sql_datetime(self._db, moment)
                new.append((server_id, info_hash, name, size, added, now))
            elif old[0] != name or old[1] != size:
                changed.append((name, size, server_id, info_hash))
        if new:
            cursor.executemany(
                'INSERT INTO "Torrent" ("server", "info_hash", "name", "size", "added_at", '
                f'"last_seen_at") VALUES ({p}, {p}, {p}, {p}, {p}, {p})',
                new,
            )
        if changed:
            cursor.executemany(
                f'UPDATE "Torrent" SET "name" = {p}, "size" = {p} '
                f'WHERE "server" = {p} AND "info_hash" = {p}',
                changed,
            )
        # One statement for the unchanged majority instead of a write per row.
        cursor.execute(
            f'UPDATE "Torrent" SET "last_seen_at" = {p} WHERE "server" = {p}', (now, server_id)
        )

    def _remember_added(self, user_id: int, server_id: str, added: AddedTorrent) -> None:
        with db_session:
            server = self._db.TorrentServer[server_id]
            if added.info_hash:
                self._db.UserTorrent(
                    user=self._db.User[user_id], server=server, info_hash=added.info_hash
                )
        detail = added.name if added.info_hash else f"{added.name or 'URL'} (hash not known yet)"
        self._audit.record(user_id, "torrent.add", True, server_id, added.info_hash, detail)

    def _forget(self, server_id: str, hashes: list[str]) -> None:
        if not hashes:
            return
        with self._snapshot_lock:
            self._snapshots.pop(server_id, None)
        with db_session:
            for info_hash in hashes:
                row = self._db.Torrent.get(server=server_id, info_hash=info_hash)
                if row is not None:
                    row.delete()


def add_options(labels: Sequence[str], download_dir: str | None) -> AddOptions:
    return AddOptions(
        tuple(check_labels(list(labels))),
        None if download_dir is None else check_download_dir(download_dir),
    )


def _shown(value: str, limit: int = 64) -> str:
    """A caller's value quoted in a message, cut short: a reply never echoes megabytes."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _is_stored_id(server_id: str) -> bool:
    """Whether an audit row may reference this id (it may be any string a caller sent)."""
    return len(server_id) <= 36


def _sql_datetime(db: Database, moment: datetime) -> object:
    """A naive UTC datetime as Pony stores it: its text form in SQLite, as is elsewhere."""
    return datetime2timestamp(moment) if db.provider.dialect == "SQLite" else moment


def _from_unix(seconds: int) -> datetime | None:
    if not seconds:
        return None
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
