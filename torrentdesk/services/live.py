"""Live torrent lists (SPEC §7): one background poll per enabled server, a snapshot per server,
and only the changes pushed to each open page.

Contract for the UI:
- `LiveTorrents.view(user_id)` -> (rows, servers): every current row of the user's enabled
  servers (an unreachable server's last known rows included, with `stale=True`) and a
  `ServerState` per server. Call it once when a page opens.
- `LiveTorrents.subscribe(user_id, callback)` -> `Subscription`: `callback(TorrentChanges)` is
  called on the event loop after each poll that changed something for that user. While a user
  has a subscription, their servers are polled every `fast_interval` (2 s); otherwise every
  `idle_interval` (60 s). Close the subscription when the page goes away.
- `await LiveTorrents.refresh(server_id)`: poll a server now (after adding/starting/removing).
- `LiveTorrents.servers_changed()`: call after a server is added, edited or removed.
- `await LiveTorrents.listing(user_id, server_id=None)` -> [ServerRows]: what `GET /torrents`
  answers: each server's rows from its live snapshot while that is younger than the server's
  current poll interval, else fetched afresh; `fresh_at` says when each was read.

A row is a plain dict: `id` ("server_id:info_hash", the AG Grid row id), `server_id`,
`server_name`, `server_type`, `stale`, and every `TorrentInfo` field but `files`. Rows are never
changed once published: a change is a new dict (pages diff old against new).

`TorrentChanges.notices` carry what to tell the user (services/notices.py): a server going down
or coming back (once per transition, whatever the number of polls), a torrent finishing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from pony.orm import Database, db_session

from ..clients import ClientError, ServerConnection, TorrentInfo
from .away import AwayLog
from .gzip_parts import GzipPart, gzip_part
from .history import HistoryService
from .notices import Notice, server_back, server_down, torrent_finished
from .servers import ServerService
from .torrents import ClientPool, ServerTorrents, TorrentService, torrent_row
from .totals import is_active

log = logging.getLogger(__name__)

FAST_INTERVAL = 2.0  # while the owner has a page open
IDLE_INTERVAL = 60.0  # while nobody looks
MIN_INTERVAL = 1.0  # never faster, whatever is configured
MAX_BACKOFF = 60.0  # a failing server is retried at most this rarely
FULL_FETCH_EVERY = 300.0  # Transmission: a full list every 5 minutes, deltas between
# Transmission's "recently active" covers the last 60 s: after a longer gap only a full
# list is right. Keep a margin for slow polls.
DELTA_MAX_GAP = 30.0
SAMPLE_EVERY = 15.0  # speed history resolution
SNAPSHOT_EVERY = 60.0  # how often a server's list is written to the database at most
SNAPSHOT_SOON = 5.0  # ...but after torrents came or went, as soon as this long after the last
PRUNE_EVERY = 3600.0
STOP_TIMEOUT = 5.0
_VERSIONS = itertools.count(1)  # snapshot versions, unique across pollers


@dataclass(frozen=True, slots=True)
class ServerState:
    id: str
    name: str
    server_type: str
    status: str  # connected | error | unknown
    error: str | None
    count: int
    download_rate: int
    upload_rate: int
    stale: bool
    summary: str | None = None  # the error in a word or two ("unreachable"), for a chip
    detail: str | None = None  # the error without the server's name: what failed, what to do


@dataclass(slots=True)
class TorrentChanges:
    added: list[dict] = field(default_factory=list)
    updated: list[dict] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    servers: list[ServerState] = field(default_factory=list)
    removed_servers: list[str] = field(default_factory=list)
    finished: list[dict] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.added
            or self.updated
            or self.removed
            or self.servers
            or self.removed_servers
            or self.finished
            or self.notices
        )


@dataclass(frozen=True, slots=True)
class ServerRows:
    """One server's part of a listing: its rows or why there are none, and when they were read
    from the server (unix seconds; None if never). Rows from the live snapshot (`version` set)
    are the pages' rows, shared: `api_rows()` gives them as `torrent_row`s."""

    server: ServerConnection
    rows: list[dict]
    error: ClientError | None
    fresh_at: float | None
    version: int | None = None  # the snapshot's, when the rows come from it
    dropped: int = 0  # torrents the server's last listing left out (unreadable)

    @property
    def status(self) -> str:
        return "error" if self.error else "connected"

    def api_rows(self) -> list[dict]:
        if self.version is None:
            return self.rows
        out = []
        for row in self.rows:  # a copy without the pages' keys: ~3x faster than rebuilding
            row = row.copy()
            del row["id"], row["stale"]
            out.append(row)
        return out


class Subscription:
    def __init__(self, hub: LiveTorrents, user_id: int, callback) -> None:
        self._hub = hub
        self.user_id = user_id
        self.callback = callback

    def close(self) -> None:
        self._hub._unsubscribe(self)


class ServerPoller:
    """Polls one server in its own task; keeps its last list and turns each poll into changes."""

    def __init__(self, hub: LiveTorrents, user_id: int, connection: ServerConnection) -> None:
        self.hub = hub
        self.user_id = user_id
        self.connection = connection
        self.torrents: dict[str, TorrentInfo] = {}
        self.rows: dict[str, dict] = {}  # info_hash -> row, as sent to pages
        self.status = "unknown"
        self.error: str | None = None
        self.failure: ClientError | None = None
        self.stale = False
        self.failures = 0
        self.last_poll = 0.0
        self.last_read_at: float | None = None  # unix seconds of the last successful poll
        self.last_full = 0.0
        self.version = next(_VERSIONS)  # a new one whenever `rows` changes
        self.last_sample = 0.0
        self.last_snapshot = 0.0
        # What happened to torrents, for "while you were away": (kind, hash, name, detail).
        self.events: list[tuple[str, str, str, str | None]] = []
        self.listed_once = False
        self.membership_changed = False
        self.wake = asyncio.Event()
        self.lock = asyncio.Lock()  # never two polls of one server at once
        self.task: asyncio.Task | None = None

    @property
    def id(self) -> str:
        return self.connection.id

    def state(self) -> ServerState:
        down = up = 0
        if not self.stale:
            for torrent in self.torrents.values():
                down += torrent.download_rate
                up += torrent.upload_rate
        return ServerState(
            self.id,
            self.connection.name,
            self.connection.server_type,
            self.status,
            self.error,
            len(self.rows),
            down,
            up,
            self.stale,
            self.failure.summary if self.failure else None,
            self.failure.message if self.failure else None,
        )

    async def run(self) -> None:
        while True:
            self.wake.clear()  # before polling: a wake-up during the poll is not lost
            try:
                async with self.lock:
                    await self.poll()
            except Exception:  # a bug must not end polling of this server for good
                log.warning("polling %s failed unexpectedly", self.connection.name, exc_info=True)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            # that races the wake-up, and stop() would then wait for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.hub.interval_for(self)):
                    await self.wake.wait()

    async def poll(self) -> None:
        client = self.hub.pool.get(self.connection)
        now = time.monotonic()
        full = (
            not self.torrents
            or now - self.last_full >= FULL_FETCH_EVERY
            or now - self.last_poll > DELTA_MAX_GAP
            or self.stale
        )
        try:
            delta = None if full else await client.list_active()
            if delta is None:
                torrents, removed, full = await client.list_torrents(), None, True
            else:
                torrents, removed = delta
        except ClientError as exc:
            self.last_poll = now
            await self._failed(exc)
            return
        self.last_poll = now
        self.last_read_at = time.time()
        if full:
            self.last_full = now
        if not self.listed_once:
            await self._note_changes_since_last_run(torrents)
        changes = self._apply(torrents, removed)
        self.listed_once = True
        self.membership_changed |= bool(changes.added or changes.removed)
        if self.events:
            events, self.events = self.events, []
            await asyncio.to_thread(self.hub.away.record, self.id, events)
        back = self.status == "error"
        recovered = self.status != "connected"
        self.status, self.error, self.failure, self.failures = "connected", None, None, 0
        if back:
            changes.notices.append(server_back(self.id, self.connection.name))
        if recovered:
            # Once per (re)connection: what the daemon is now tells what it can do.
            try:
                version = await client.version()
            except ClientError:
                version = None
            await asyncio.to_thread(self.hub.servers.record_status, self.id, None, version)
        if changes or recovered:
            changes.servers.append(self.state())
            self.hub.publish(self.user_id, changes)
        await self._persist(now, full)

    def _apply(self, torrents: list[TorrentInfo], removed: list[str] | None) -> TorrentChanges:
        """Diff against the last list. `removed` None means `torrents` is the full list."""
        changes = TorrentChanges()
        known = self.torrents
        self._listed_before = set(known)
        was_stale, self.stale = self.stale, False
        seen: set[str] = set()
        for torrent in torrents:
            info_hash = torrent.info_hash
            seen.add(info_hash)
            old = known.get(info_hash)
            if old is not None and old == torrent and not was_stale:
                continue
            known[info_hash] = torrent
            on_pages = info_hash in self.rows  # also rows shown stale from the database
            row = self._row(torrent)
            self.rows[info_hash] = row
            if not on_pages:
                changes.added.append(row)
                continue
            changes.updated.append(row)
            if old is not None and old.progress < 1.0 <= torrent.progress:
                changes.finished.append(row)
                changes.notices.append(torrent_finished(row))
                self.events.append(("finished", info_hash, torrent.name, None))
            if old is not None and old.error is None and torrent.error is not None:
                self.events.append(("failed", info_hash, torrent.name, torrent.error))
        if self.listed_once:
            new = [known[h] for h in seen if h not in self._listed_before]
            self.events += [("added", t.info_hash, t.name, None) for t in new]
        gone = (known.keys() - seen) if removed is None else known.keys() & set(removed)
        for info_hash in gone:
            self.events.append(("removed", info_hash, known[info_hash].name, None))
            del known[info_hash]
            self.rows.pop(info_hash, None)
            changes.removed.append(self._row_id(info_hash))
        if was_stale and removed is None:
            # Rows known only from the database (not in `known`) and now absent are gone too.
            for info_hash in self.rows.keys() - known.keys():
                del self.rows[info_hash]
                changes.removed.append(self._row_id(info_hash))
        if changes.added or changes.updated or changes.removed:
            self.version = next(_VERSIONS)
        return changes

    async def _note_changes_since_last_run(self, torrents: list[TorrentInfo]) -> None:
        """The first listing after a start: what was added or removed while torrentdesk was
        not running, against the list it last stored (none stored: nothing to tell)."""
        stored = {t.info_hash: t for t in await asyncio.to_thread(self.hub.known_torrents, self.id)}
        if not stored:
            return
        listed = {t.info_hash: t for t in torrents}
        self.events += [("added", h, t.name, None) for h, t in listed.items() if h not in stored]
        self.events += [("removed", h, t.name, None) for h, t in stored.items() if h not in listed]

    async def _failed(self, exc: ClientError) -> None:
        error = str(exc)
        self.failures += 1
        went_down = self.status != "error"
        changed = went_down or self.error != error
        self.status, self.error, self.failure = "error", error, exc
        changes = TorrentChanges()
        if went_down:
            changes.notices.append(
                server_down(self.id, self.connection.name, exc.summary, exc.message)
            )
        if not self.stale:
            self.stale = True
            if not self.rows:
                await self._load_known_rows()
            # Every row of the server, on screen or not, turns stale in one update.
            self.rows = {h: {**row, "stale": True} for h, row in self.rows.items()}
            self.version = next(_VERSIONS)
            changes.updated = list(self.rows.values())
        if changed or changes.updated:
            await asyncio.to_thread(self.hub.servers.record_status, self.id, error)
            changes.servers.append(self.state())
            self.hub.publish(self.user_id, changes)
        now = time.monotonic()
        if now - self.last_sample >= SAMPLE_EVERY:
            self.last_sample = now
            await asyncio.to_thread(
                self.hub.history.record, self.id, 0, 0, len(self.rows), 0, False
            )

    async def _load_known_rows(self) -> None:
        """After a restart with the server down: its last known list from the database."""
        for torrent in await asyncio.to_thread(self.hub.known_torrents, self.id):
            self.rows[torrent.info_hash] = self._row(torrent)
        self.version = next(_VERSIONS)

    async def _persist(self, now: float, full: bool) -> None:
        if now - self.last_sample >= SAMPLE_EVERY:
            self.last_sample = now
            state = self.state()
            active = sum(1 for row in self.rows.values() if is_active(row))
            await asyncio.to_thread(
                self.hub.history.record,
                self.id,
                state.download_rate,
                state.upload_rate,
                len(self.torrents),
                active,
                True,
            )
        # The whole list is known after every poll (deltas update it); it is written once a
        # minute, and soon after torrents come or go (a restart then starts from the right
        # list: stale rows, what happened while torrentdesk was not running).
        since = now - self.last_snapshot
        if self.membership_changed and since < SNAPSHOT_SOON:
            # Too soon after the last write: poll (and write) again once it is time.
            asyncio.get_running_loop().call_later(SNAPSHOT_SOON - since, self.wake.set)
        elif (full and since >= SNAPSHOT_EVERY) or self.membership_changed:
            self.last_snapshot = now
            self.membership_changed = False
            await asyncio.to_thread(
                self.hub.torrents.remember_list, self.id, list(self.torrents.values())
            )

    def _row_id(self, info_hash: str) -> str:
        return f"{self.id}:{info_hash}"

    def _row(self, torrent: TorrentInfo) -> dict:
        row = torrent_row(self.connection, torrent)
        row["id"] = self._row_id(torrent.info_hash)
        row["stale"] = self.stale
        return row


class LiveTorrents:
    def __init__(
        self,
        db: Database,
        servers: ServerService,
        torrents: TorrentService,
        history: HistoryService,
        away: AwayLog,
        fast_interval: float = FAST_INTERVAL,
        idle_interval: float = IDLE_INTERVAL,
    ) -> None:
        self._db = db
        self.away = away
        self.servers = servers
        self.torrents = torrents
        self.pool: ClientPool = torrents.pool
        self.history = history
        self.fast_interval = max(MIN_INTERVAL, fast_interval)
        self.idle_interval = max(self.fast_interval, idle_interval)
        self._pollers: dict[str, ServerPoller] = {}
        # server id -> (snapshot version, its rows compressed): see rows_gzip
        self._gzip_rows: dict[str, tuple[int, GzipPart]] = {}
        self._subscriptions: dict[int, list[Subscription]] = defaultdict(list)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sync_task: asyncio.Task | None = None
        self._sync_pending = False
        self._prune_task: asyncio.Task | None = None
        servers.listeners.append(self._on_server_changed)
        torrents.listeners.append(self.poke)

    # -- lifecycle --

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._sync_pollers()
        self._prune_task = self._loop.create_task(self._prune_forever())

    async def stop(self) -> None:
        tasks = [p.task for p in self._pollers.values() if p.task]
        tasks += [t for t in (self._prune_task, self._sync_task) if t]
        for task in tasks:
            task.cancel()
        if tasks:
            # A poll stuck in a thread cannot be interrupted; shutting down must not wait on it.
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
        self._pollers.clear()

    # -- what pages use --

    def view(self, user_id: int) -> tuple[list[dict], list[ServerState]]:
        pollers = self._user_pollers(user_id)
        rows = [row for poller in pollers for row in poller.rows.values()]
        return rows, [poller.state() for poller in pollers]

    async def listing(self, user_id: int, server_id: str | None = None) -> list[ServerRows]:
        """Every enabled server of the user (or the one asked for): from its live snapshot
        when that is younger than the server's current poll interval (one per server, shared
        by every page and this), else fetched now, all at once."""
        connections = await self.torrents.connections_to_list(user_id, server_id)
        return list(await asyncio.gather(*(self._server_rows(c) for c in connections)))

    def warm_rows(self, connection: ServerConnection) -> ServerRows | None:
        """The server's snapshot as API rows if it is complete, current and younger than its
        poll interval; None otherwise."""
        poller = self._pollers.get(connection.id)
        if (
            poller is None
            or poller.connection != connection
            or poller.status != "connected"
            or poller.stale
            or poller.last_read_at is None
            or time.monotonic() - poller.last_poll >= self.interval_for(poller)
        ):
            return None
        rows = list(poller.rows.values())
        dropped = self.pool.get(connection).client.dropped
        return ServerRows(connection, rows, None, poller.last_read_at, poller.version, dropped)

    def rows_gzip(self, part: ServerRows) -> GzipPart:
        """The part's rows as JSON (the items of a list, comma-separated), compressed for
        gzip_join: kept per server until its snapshot changes. Blocking (run it in a thread)."""
        key = part.server.id
        if part.version is not None:
            cached = self._gzip_rows.get(key)
            if cached is not None and cached[0] == part.version:
                return cached[1]
        compressed = gzip_part(orjson.dumps(part.api_rows())[1:-1])
        if part.version is not None:
            self._gzip_rows[key] = (part.version, compressed)
        return compressed

    async def _server_rows(self, connection: ServerConnection) -> ServerRows:
        warm = self.warm_rows(connection)
        if warm is not None:
            return warm
        listed: ServerTorrents = await self.torrents.list_server(connection)
        rows = [torrent_row(connection, t) for t in listed.torrents]
        fresh_at = None if listed.error else time.time()
        return ServerRows(connection, rows, listed.error, fresh_at, None, listed.dropped)

    def subscribe(self, user_id: int, callback: Callable[[TorrentChanges], None]) -> Subscription:
        subscription = Subscription(self, user_id, callback)
        first = not self._subscriptions[user_id]
        self._subscriptions[user_id].append(subscription)
        if first:  # idle pollers sleep up to a minute: start the fast rhythm now
            for poller in self._user_pollers(user_id):
                poller.wake.set()
        return subscription

    async def refresh(self, server_id: str) -> None:
        poller = self._pollers.get(server_id)
        if poller is not None:
            async with poller.lock:
                await poller.poll()

    def poke(self, server_id: str) -> None:
        """Poll a server soon; callable from any thread."""
        poller = self._pollers.get(server_id)
        if poller is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(poller.wake.set)

    def servers_changed(self) -> None:
        """Re-read which servers to poll; callable from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._schedule_sync)

    def history_for(
        self, user_id: int, server_id: str, hours: float = 24
    ) -> list[tuple[float, int, int]]:
        return self.history.samples(user_id, server_id, hours)

    # -- internals --

    def interval_for(self, poller: ServerPoller) -> float:
        interval = (
            self.fast_interval if self._subscriptions.get(poller.user_id) else self.idle_interval
        )
        if poller.failures:
            backoff = self.fast_interval * 2 ** min(poller.failures, 8)
            interval = max(interval, min(MAX_BACKOFF, backoff))
        return interval

    def publish(self, user_id: int, changes: TorrentChanges) -> None:
        for subscription in list(self._subscriptions.get(user_id, ())):
            try:
                subscription.callback(changes)
            except Exception:  # one broken page must not stop the others' updates
                log.warning("a live-update subscriber failed", exc_info=True)

    def known_torrents(self, server_id: str) -> list[TorrentInfo]:
        """The last known list of a server from the database (name, size, added) as infos."""
        with db_session:
            rows = self._db.Torrent.select(lambda t: t.server.id == server_id)[:]
            return [
                TorrentInfo(
                    t.info_hash,
                    t.name,
                    "stopped",
                    0.0,
                    t.size,
                    0,
                    0,
                    0,
                    0,
                    0.0,
                    None,
                    0,
                    0,
                    int(t.added_at.timestamp()) if t.added_at else 0,
                    "",
                    [],
                    None,
                )
                for t in rows
            ]

    def _user_pollers(self, user_id: int) -> list[ServerPoller]:
        pollers = [p for p in self._pollers.values() if p.user_id == user_id]
        return sorted(pollers, key=lambda p: p.connection.name.lower())

    def _unsubscribe(self, subscription: Subscription) -> None:
        subscriptions = self._subscriptions.get(subscription.user_id, [])
        if subscription in subscriptions:
            subscriptions.remove(subscription)

    def _on_server_changed(self, _server_id: str) -> None:
        self.servers_changed()

    def _schedule_sync(self) -> None:
        self._sync_pending = True
        if self._sync_task is None or self._sync_task.done():
            self._sync_task = asyncio.get_running_loop().create_task(self._sync_while_pending())

    async def _sync_while_pending(self) -> None:
        # A change that arrives during a sync must not be lost: sync again until none is.
        while self._sync_pending:
            self._sync_pending = False
            await self._sync_pollers()

    async def _sync_pollers(self) -> None:
        """Start, replace or stop pollers to match the enabled servers in the database."""
        wanted = {
            c.id: (user_id, c) for user_id, c in await asyncio.to_thread(self.servers.all_enabled)
        }
        for server_id in list(self._pollers):
            poller = self._pollers[server_id]
            entry = wanted.get(server_id)
            if entry is None or entry[1] != poller.connection:
                self._retire(poller, gone=entry is None or entry[0] != poller.user_id)
        for server_id, (user_id, connection) in wanted.items():
            if server_id not in self._pollers:
                poller = ServerPoller(self, user_id, connection)
                self._pollers[server_id] = poller
                poller.task = asyncio.get_running_loop().create_task(poller.run())
                self.publish(user_id, TorrentChanges(servers=[poller.state()]))

    def _retire(self, poller: ServerPoller, gone: bool) -> None:
        del self._pollers[poller.id]
        self._gzip_rows.pop(poller.id, None)
        if poller.task:
            poller.task.cancel()
        # Its rows leave the pages; a replacement poller (edited server) sends them afresh.
        changes = TorrentChanges(removed=[poller._row_id(h) for h in poller.rows])
        if gone:
            changes.removed_servers.append(poller.id)
        self.publish(poller.user_id, changes)

    async def _prune_forever(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.history.prune)
                await asyncio.to_thread(self.away.prune)
            except Exception:
                log.warning("pruning the speed history or the away log failed", exc_info=True)
            await asyncio.sleep(PRUNE_EVERY)
