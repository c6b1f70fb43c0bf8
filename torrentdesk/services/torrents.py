"""Torrents across all of a user's servers: one list, adding to a chosen server, and actions
on a hash wherever it lives."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
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
from ..clients.base import FileChange, PeerInfo, TrackerInfo, TrackerResult
from ..clients.sanitize import MAX_INT, MAX_NAME
from ..db import utcnow
from ..torrent_input import (
    MagnetLink,
    TorrentMetainfo,
    is_info_hash,
    parse_magnet,
    parse_torrent_file,
    parse_torrent_url,
)
from .actions import (
    ACTIONS,
    MAX_TARGETS,
    Action,
    Target,
    TargetResult,
    check_download_dir,
    check_labels,
    check_tracker_url,
)
from .audit import AuditService
from .errors import (
    InvalidInput,
    NotCapable,
    NotFound,
    ServiceError,
    UserFacingError,
    quoted,
)
from .metainfo import MetainfoStore
from .rules import AddCandidate, RuleChoice, RuleService
from .servers import InvalidField, ServerService
from .url_fetch import fetch_torrent

# ServerConnection and TorrentInfo travel up to the API as what a located torrent is made of.
__all__ = [
    "AddedTorrent",
    "AmbiguousTorrent",
    "FileChange",
    "LocatedTorrent",
    "PeerInfo",
    "ServerConnection",
    "TorrentInfo",
    "TrackerInfo",
    "TrackerResult",
    "torrent_row",
]

MAX_TRACKER_EDITS = 100  # URLs added plus removed in one request
ALL_PRIORITIES = ("low", "normal", "high")

log = logging.getLogger(__name__)

TorrentSource = MagnetLink | TorrentMetainfo

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
    dropped: int = 0  # torrents it listed that were left out (invalid info hash, unreadable)

    @property
    def status(self) -> str:
        return "error" if self.error else "connected"


@dataclass(frozen=True, slots=True)
class AddResult:
    """One server's part of an add to several servers."""

    server_id: str
    info_hash: str | None
    name: str | None
    error: UserFacingError | None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class LocatedTorrent:
    server: ServerConnection
    torrent: TorrentInfo
    trackers: list[TrackerInfo] | None = None  # only when asked for
    peers: list[PeerInfo] | None = None


def server_capabilities(server: ServerConnection) -> dict[str, Any]:
    """What this server can do, from the version it reported last (empty: not known yet)."""
    return server_kind(server.server_type).capabilities(server.version)


def file_priorities(server: ServerConnection) -> tuple[str, ...]:
    """The priorities a wanted file can have on this server (its `file_priorities` capability
    without "off"); all of them while its capabilities are not known."""
    levels = server_capabilities(server).get("file_priorities")
    if not levels:
        return ALL_PRIORITIES
    return tuple(level for level in ALL_PRIORITIES if level in levels)


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
        self.metainfo = MetainfoStore(db)
        self.rules = RuleService(db)
        # Whether URL adds may fetch from loopback/link-local/private addresses (SPEC §14's
        # admin setting; the services wire it to the settings store).
        self.url_fetch_allows_private: Callable[[], bool] = lambda: False
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
        """Add a magnet link or an http(s) URL of a .torrent (fetched by the app itself) to
        one server, with its labels and directory set before it starts."""
        source = await self.source_of(uri)
        return await self._add(user_id, server_id, source, start, add_options(labels, download_dir))

    async def upload(
        self,
        user_id: int,
        server_id: str,
        data: bytes,
        start: bool = True,
        labels: Sequence[str] = (),
        download_dir: str | None = None,
        unwanted_files: Sequence[int] = (),
    ) -> AddedTorrent:
        """Add a .torrent file's bytes: checked (and parsed) once, before anything reaches
        the server — in a thread: a big file takes a while, and the event loop stays free;
        `unwanted_files` (indices in the .torrent's file list) are never fetched."""
        meta = await asyncio.to_thread(parse_torrent_file, data)
        options = add_options(labels, download_dir, check_file_indices(unwanted_files, meta))
        return await self._add(user_id, server_id, meta, start, options)

    async def add_to_servers(
        self,
        user_id: int,
        server_ids: Sequence[str],
        source: TorrentSource,
        start: bool = True,
        labels: Sequence[str] = (),
        download_dir: str | None = None,
        unwanted_files: Sequence[int] = (),
    ) -> list[AddResult]:
        """One torrent to several servers at once: a result per server, in the order given;
        one server's failure never stops the others."""
        unwanted = (
            check_file_indices(unwanted_files, source)
            if isinstance(source, TorrentMetainfo)
            else ()
        )
        options = add_options(labels, download_dir, unwanted)
        server_ids = list(dict.fromkeys(server_ids))
        if not server_ids:
            raise InvalidInput("name at least one server in server_ids")

        async def add_one(server_id: str) -> AddResult:
            try:
                added = await self._add(user_id, server_id, source, start, options)
            except UserFacingError as exc:
                return AddResult(server_id, source.info_hash, source.name, exc)
            return AddResult(server_id, added.info_hash, added.name, None)

        return list(await asyncio.gather(*(add_one(s) for s in server_ids)))

    async def add_by_rules(
        self,
        user_id: int,
        source: TorrentSource,
        start: bool = True,
        labels: Sequence[str] = (),
        download_dir: str | None = None,
        unwanted_files: Sequence[int] = (),
    ) -> tuple[RuleChoice, list[AddResult]]:
        """An add that names no server: the first matching rule picks the servers, adds its
        labels and, unless the add gives one, its directory. No match is bad input."""
        choice = await self.preview(user_id, source, labels)
        if choice.rule is None:
            raise InvalidField(
                "server_id",
                "no server given and none of your add rules matches this torrent: name a "
                "server (server_id or server_ids) or add a rule that matches it",
            )
        directory = download_dir if download_dir is not None else choice.download_dir
        results = await self.add_to_servers(
            user_id, choice.server_ids, source, start, choice.labels, directory, unwanted_files
        )
        return choice, results

    async def preview(
        self, user_id: int, source: TorrentSource, labels: Sequence[str] = ()
    ) -> RuleChoice:
        """What the add rules would do with this torrent (the add dialog shows it live)."""
        candidate = AddCandidate(
            source.name,
            source.size if isinstance(source, TorrentMetainfo) else None,
            source.trackers,
            tuple(check_labels(list(labels))),
        )
        return await self.rules.choose(
            user_id, candidate, lambda server_id: self.free_space(user_id, server_id)
        )

    async def free_space(self, user_id: int, server_id: str) -> int | None:
        """Free bytes where the server puts new torrents; None when it cannot tell."""
        try:
            connection = await asyncio.to_thread(self._servers.connection, user_id, server_id)
            session = await self.pool.get(connection).session()
        except UserFacingError:
            return None
        return None if session.free_space is None else session.free_space.bytes

    async def source_of(self, uri: str) -> TorrentSource:
        """A magnet link as it is; an http(s) URL fetched and parsed by the app (SPEC §11)."""
        uri = uri.strip()
        if uri.lower().startswith("magnet:"):
            return parse_magnet(uri)
        url = parse_torrent_url(uri)
        return await fetch_torrent(url, await asyncio.to_thread(self.url_fetch_allows_private))

    async def default_download_dir(self, user_id: int, server_id: str) -> str | None:
        """Where the server puts torrents added without a directory; None if it cannot say."""
        try:
            connection = await asyncio.to_thread(self._servers.connection, user_id, server_id)
            return await self.pool.get(connection).default_download_dir()
        except UserFacingError:  # gone meanwhile, or not answering: the form shows no default
            return None

    async def get(
        self,
        user_id: int,
        info_hash: str,
        server_id: str | None = None,
        files: bool = False,
        trackers: bool = False,
        peers: bool = False,
    ) -> LocatedTorrent:
        """One torrent, with its files, trackers and peers when asked for."""
        located = await self._locate(user_id, info_hash.lower(), server_id, files)
        if not trackers and not peers:
            return located
        client = self.pool.get(located.server)
        h = located.torrent.info_hash
        found_trackers = await client.trackers(h) if trackers else None
        found_peers = await client.peers(h) if peers else None
        return LocatedTorrent(located.server, located.torrent, found_trackers, found_peers)

    async def set_files(
        self,
        user_id: int,
        info_hash: str,
        changes: Sequence[FileChange],
        server_id: str | None = None,
    ) -> LocatedTorrent:
        """Wanted and priority of some files; the torrent with its files as they are now.
        Indices are checked against the torrent's files and priorities against the server's
        levels (422) before anything changes."""
        if not changes:
            raise InvalidInput("no file changes given")
        seen: set[int] = set()
        for change in changes:
            if change.index in seen:
                raise InvalidInput(f"file index {change.index} is given twice")
            seen.add(change.index)
        located = await self._locate(user_id, info_hash.lower(), server_id, files=True)
        server, torrent = located.server, located.torrent
        levels = file_priorities(server)
        for change in changes:
            if change.priority is not None and change.priority not in levels:
                raise InvalidInput(
                    f"{server.name} has no {change.priority!r} file priority (file "
                    f"{change.index}); it has {', '.join(levels)}"
                )
        count = len(torrent.files or [])
        wrong = sorted(i for i in seen if not 0 <= i < count)
        if wrong:
            raise InvalidInput(
                f"no file index {', '.join(map(str, wrong))} in torrent {torrent.info_hash}: "
                f"it has {count} file{'s' if count != 1 else ''}"
                + (f" (0 to {count - 1})" if count else "")
            )
        client = self.pool.get(server)
        detail = ", ".join(_file_change_text(c) for c in changes[:20]) + (
            f" and {len(changes) - 20} more" if len(changes) > 20 else ""
        )
        try:
            await client.set_files(torrent.info_hash, list(changes))
        except ClientError as exc:
            await self._record_one(user_id, "torrent.files", False, located, str(exc))
            raise
        await self._record_one(user_id, "torrent.files", True, located, detail)
        self._notify(server.id)
        return LocatedTorrent(server, await client.get_torrent(torrent.info_hash, True))

    async def edit_trackers(
        self,
        user_id: int,
        info_hash: str,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        server_id: str | None = None,
    ) -> list[TrackerResult]:
        """Add and remove trackers of one torrent; a result per URL (where the server cannot
        remove one it is disabled: ok and `disabled`)."""
        if len(add) + len(remove) > MAX_TRACKER_EDITS:
            raise InvalidInput(f"at most {MAX_TRACKER_EDITS} trackers added and removed at once")
        add = list(dict.fromkeys(check_tracker_url(url) for url in add))
        remove = list(dict.fromkeys(check_tracker_url(url) for url in remove))
        if not add and not remove:
            raise InvalidInput("give trackers to add or remove")
        located = await self._locate(user_id, info_hash.lower(), server_id)
        server = located.server
        capabilities = server_capabilities(server)
        if capabilities and not capabilities.get("tracker_edit"):
            raise NotCapable(f"{server.name}: this server cannot edit trackers")
        try:
            results = await self.pool.get(server).edit_trackers(
                located.torrent.info_hash, add, remove
            )
        except ClientError as exc:
            await self._record_one(user_id, "torrent.trackers", False, located, str(exc))
            raise
        # Each refusal says on which server, as a batch action's do.
        results = [
            replace(r, error=f"{server.name}: {r.error}") if r.error else r for r in results
        ]
        detail = "; ".join(
            f"{'added' if r.url in add else 'disabled' if r.disabled else 'removed'} {r.url}"
            if r.ok
            else f"{r.url}: {r.error}"
            for r in results
        )
        ok = all(r.ok for r in results)
        await self._record_one(user_id, "torrent.trackers", ok, located, detail[:1000])
        self._notify(server.id)
        return results

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
            error: Exception | None = NotFound(f"no server with id {quoted(target.server_id)}")
        elif not is_info_hash(target.info_hash):
            error = InvalidInput(
                f"{quoted(target.info_hash)} is not an info hash (40 hex characters)"
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

    async def _record_one(
        self, user_id: int, action: str, ok: bool, located: LocatedTorrent, detail: str
    ) -> None:
        await asyncio.to_thread(
            self._audit.record,
            user_id,
            action,
            ok,
            located.server.id,
            located.torrent.info_hash,
            detail,
        )

    async def list_server(self, connection: ServerConnection) -> ServerTorrents:
        client = self.pool.get(connection)
        try:
            torrents = await client.list_torrents()
        except ClientError as exc:
            self._remembered.pop(connection.id, None)
            await asyncio.to_thread(self._servers.record_status, connection.id, str(exc))
            return ServerTorrents(connection, [], exc)
        # Written at most every REMEMBER_EVERY per server, as the live polls do: comparing
        # 50 000 rows with the stored ones on every listing cost more than the listing.
        now = time.monotonic()
        if now - self._remembered.get(connection.id, -REMEMBER_EVERY) >= REMEMBER_EVERY:
            self._remembered[connection.id] = now
            try:
                await asyncio.to_thread(self.remember_list, connection.id, torrents)
            except Exception:  # one server's snapshot never fails the listing of any server
                log.exception("could not store the torrent list of server %s", connection.id)
        return ServerTorrents(connection, torrents, None, client.client.dropped)

    async def _add(
        self, user_id: int, server_id: str, source: TorrentSource, start: bool, options: AddOptions
    ) -> AddedTorrent:
        connection = await asyncio.to_thread(self._servers.connection, user_id, server_id)
        client = self.pool.get(connection)
        try:
            if isinstance(source, TorrentMetainfo):
                added = await client.add_torrent(source, start, options)
            else:
                added = await client.add_magnet(source, start, options)
        except ClientError as exc:
            await asyncio.to_thread(
                self._audit.record,
                user_id,
                "torrent.add",
                False,
                server_id,
                source.info_hash,
                str(exc),
            )
            raise
        # Our parsed name first: Transmission leaves a magnet's '+' undecoded in `dn`.
        added = AddedTorrent(added.info_hash or source.info_hash, source.name or added.name)
        if isinstance(source, TorrentMetainfo):
            await asyncio.to_thread(self.metainfo.keep, user_id, source)
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
        else changed them). Table names are in lower case: Pony lowercases them on PostgreSQL,
        and SQLite ignores case."""
        db = self._db
        now = _sql_datetime(db, utcnow())
        # A magnet without its metadata has no size yet: stored as 0. The clients checked
        # every value (clients/sanitize.py); cut again here, so nothing can break the write.
        current = {
            t.info_hash: (t.name[:MAX_NAME], min(t.size or 0, MAX_INT), t.added_at)
            for t in torrents
        }
        with self._snapshot_lock:
            try:
                with db_session:
                    cursor = db.get_connection().cursor()  # one write transaction for all
                    p = "?" if db.provider.paramstyle == "qmark" else "%s"
                    cursor.execute(
                        f'UPDATE "torrentserver" SET "last_status" = {p}, "last_error" = NULL, '
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
            cursor.execute(f'SELECT count(*) FROM "torrent" WHERE "server" = {p}', (server_id,))
            if cursor.fetchone()[0] == len(known):
                return known
        cursor.execute(
            f'SELECT "info_hash", "name", "size" FROM "torrent" WHERE "server" = {p}',
            (server_id,),
        )
        return {info_hash: (name, size) for info_hash, name, size in cursor.fetchall()}

    def _write_snapshot(self, cursor, p: str, server_id: str, known, current, now) -> None:
        gone = [(server_id, h) for h in known.keys() - current.keys()]
        if gone:
            cursor.executemany(
                f'DELETE FROM "torrent" WHERE "server" = {p} AND "info_hash" = {p}', gone
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
                'INSERT INTO "torrent" ("server", "info_hash", "name", "size", "added_at", '
                f'"last_seen_at") VALUES ({p}, {p}, {p}, {p}, {p}, {p})',
                new,
            )
        if changed:
            cursor.executemany(
                f'UPDATE "torrent" SET "name" = {p}, "size" = {p} '
                f'WHERE "server" = {p} AND "info_hash" = {p}',
                changed,
            )
        # One statement for the unchanged majority instead of a write per row.
        cursor.execute(
            f'UPDATE "torrent" SET "last_seen_at" = {p} WHERE "server" = {p}', (now, server_id)
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


def add_options(
    labels: Sequence[str], download_dir: str | None, unwanted_files: Sequence[int] = ()
) -> AddOptions:
    return AddOptions(
        tuple(check_labels(list(labels))),
        None if download_dir is None else check_download_dir(download_dir),
        tuple(unwanted_files),
    )


def check_file_indices(indices: Sequence[int], meta: TorrentMetainfo) -> list[int]:
    """File indices of this .torrent, sorted, each once; 422 naming any that is not one."""
    wrong = [i for i in indices if not isinstance(i, int) or not 0 <= i < meta.file_count]
    if wrong:
        shown = ", ".join(map(str, wrong[:10])) + (" …" if len(wrong) > 10 else "")
        raise InvalidInput(
            f"unwanted_files: no file index {shown} in {meta.name!r}: it has "
            f"{meta.file_count} file{'s' if meta.file_count != 1 else ''} "
            f"(0 to {meta.file_count - 1})"
        )
    return sorted(set(indices))


def _file_change_text(change: FileChange) -> str:
    parts = []
    if change.wanted is not None:
        parts.append("wanted" if change.wanted else "skipped")
    if change.priority is not None:
        parts.append(change.priority)
    return f"file {change.index} {' '.join(parts)}"


def _is_stored_id(server_id: str) -> bool:
    """Whether an audit row may reference this id (it may be any string a caller sent)."""
    return len(server_id) <= 36


def _sql_datetime(db: Database, moment: datetime) -> object:
    """A naive UTC datetime as Pony stores it: its text form in SQLite, as is elsewhere."""
    return datetime2timestamp(moment) if db.provider.dialect == "SQLite" else moment


def _from_unix(seconds: int) -> datetime | None:
    """A daemon's unix time as a datetime; None when it has none or one no datetime holds."""
    if not seconds:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError, TypeError):
        return None
