"""A server's session — rates, totals, free space, default directory — and its speed limits,
with slow mode switched on every server of a user at once (SPEC §10).

Limits are bytes/s, None = unlimited; each client converts to its daemon's unit. A server
type whose daemon has a single pair of global limits (rTorrent: the registry's `alt_speed` is
"emulated") gets slow mode from us: torrentdesk remembers both pairs (`SpeedMemory`, per server)
and sets the daemon's limits to the pair that applies. The daemon always holds the pair in
force, so a session shows that pair as the daemon reports it and the other from memory.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Any

from pony.orm import Database, db_session

from ..clients import ServerConnection, SessionInfo, SpeedLimits, TorrentLimits, server_kind
from .actions import Outcome, check_speed_limit, describe_limits
from .audit import AuditService
from .errors import InvalidInput, UserFacingError
from .servers import ServerService
from .torrents import ClientPool

# The session and its limits travel up to the API and the UI as these plain dataclasses.
__all__ = [
    "LIMIT_KEYS",
    "ServerOutcome",
    "SessionInfo",
    "SpeedLimits",
    "SpeedService",
    "TorrentLimits",
]

LIMIT_KEYS = ("download", "upload", "alt_download", "alt_upload", "alt_enabled")
SESSION_MAX_AGE = 3.0  # seconds a session read for the pages is shared between them


@dataclass(frozen=True, slots=True)
class ServerOutcome(Outcome):
    """What switching slow mode did on one server."""

    server_id: str
    server_name: str
    error: Exception | None = None


def check_limit_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Some of LIMIT_KEYS: limits in bytes/s or None (unlimited), `alt_enabled` true or false
    (None: as it is)."""
    unknown = sorted(set(changes) - set(LIMIT_KEYS))
    if unknown:
        raise InvalidInput(f"unknown limits {', '.join(unknown)}: use {', '.join(LIMIT_KEYS)}")
    checked = {}
    for key, value in changes.items():
        if key == "alt_enabled":
            if value is None:  # as it is
                continue
            if not isinstance(value, bool):
                raise InvalidInput(f"alt_enabled is true or false, not {str(value)[:40]!r}")
            checked[key] = value
        else:
            checked[key] = check_speed_limit(value, key)
    return checked


def _capabilities(connection: ServerConnection) -> dict[str, Any]:
    # What the type can do whatever its version: slow mode's kind does not depend on it.
    return server_kind(connection.server_type).capabilities_for(connection.version or "")


def _emulated(connection: ServerConnection) -> bool:
    return _capabilities(connection).get("alt_speed") == "emulated"


def _merged(daemon: SpeedLimits, memory: SpeedLimits | None) -> SpeedLimits:
    """An emulated server's limits: the pair in force from the daemon, the other remembered."""
    if memory is None:
        return SpeedLimits(daemon.download, daemon.upload)
    if memory.alt_enabled:
        return SpeedLimits(memory.download, memory.upload, daemon.download, daemon.upload, True)
    return SpeedLimits(
        daemon.download, daemon.upload, memory.alt_download, memory.alt_upload, False
    )


class SpeedService:
    def __init__(
        self, db: Database, servers: ServerService, audit: AuditService, pool: ClientPool
    ) -> None:
        self._db = db
        self._servers = servers
        self._audit = audit
        self._pool = pool
        # server id -> (monotonic time, session): what the pages were last shown.
        self._recent: dict[str, tuple[float, SessionInfo]] = {}

    async def session(self, user_id: int, server_id: str) -> SessionInfo:
        connection = await asyncio.to_thread(self._servers.connection, user_id, server_id)
        return await self._session(connection)

    async def sessions(
        self, user_id: int, max_age: float = SESSION_MAX_AGE
    ) -> dict[str, SessionInfo | UserFacingError]:
        """Every enabled server's session at once (a failing one gives its error), each read
        at most every `max_age` seconds whatever the number of pages asking."""
        connections = await asyncio.to_thread(self._servers.enabled_connections, user_id)
        now = time.monotonic()

        async def one(connection: ServerConnection) -> SessionInfo | UserFacingError:
            recent = self._recent.get(connection.id)
            if recent is not None and now - recent[0] < max_age:
                return recent[1]
            try:
                return await self._session(connection)
            except UserFacingError as exc:
                return exc

        results = await asyncio.gather(*(one(c) for c in connections))
        return {c.id: r for c, r in zip(connections, results, strict=True)}

    async def torrent_limits(
        self, user_id: int, server_id: str, info_hash: str
    ) -> TorrentLimits | None:
        """One torrent's own limits; None on a server type without them (rTorrent)."""
        connection = await asyncio.to_thread(self._servers.connection, user_id, server_id)
        if _capabilities(connection).get("torrent_limits") is False:
            return None
        return await self._pool.get(connection).torrent_limits(info_hash)

    async def set_limits(
        self, user_id: int, server_id: str, changes: dict[str, Any]
    ) -> SessionInfo:
        """Change some of a server's limits (only the keys given); the session afterwards."""
        changes = check_limit_changes(changes)
        connection = await asyncio.to_thread(self._servers.connection, user_id, server_id)
        try:
            info = await self._change(connection, changes)
        except UserFacingError as exc:
            await self._record(user_id, "server.limits", [(connection, exc, None)])
            raise
        await self._record(user_id, "server.limits", [(connection, None, info.limits)])
        return info

    async def set_alt_speed(self, user_id: int, enabled: bool) -> list[ServerOutcome]:
        """Slow mode on or off on every enabled server of the user, concurrently; a result
        per server (a failing one never stops the others)."""
        if not isinstance(enabled, bool):
            raise InvalidInput(f"enabled is true or false, not {str(enabled)[:40]!r}")
        connections = await asyncio.to_thread(self._servers.enabled_connections, user_id)

        async def switch(connection: ServerConnection):
            try:
                info = await self._change(connection, {"alt_enabled": enabled})
            except UserFacingError as exc:
                return connection, exc, None
            return connection, None, info.limits

        done = await asyncio.gather(*(switch(c) for c in connections))
        await self._record(user_id, "server.alt_speed", done)
        return [ServerOutcome(c.id, c.name, error) for c, error, _ in done]

    # -- internals --

    async def _session(self, connection: ServerConnection) -> SessionInfo:
        info = await self._pool.get(connection).session()
        if _emulated(connection):
            memory = await asyncio.to_thread(self._memory, connection.id)
            info.limits = _merged(info.limits, memory)
        self._recent[connection.id] = (time.monotonic(), info)
        return info

    async def _change(self, connection: ServerConnection, changes: dict[str, Any]) -> SessionInfo:
        client = self._pool.get(connection)
        current = await self._session(connection)
        limits = replace(current.limits, **changes)
        if not _capabilities(connection).get("alt_unlimited", True) and (
            limits.alt_download is None or limits.alt_upload is None
        ):
            raise InvalidInput(
                f"{connection.name}: its alternative (slow mode) limits cannot be unlimited — "
                "give alt_download and alt_upload a number of bytes/s"
            )
        await client.set_speed_limits(limits)
        info = await client.session()
        if _emulated(connection):
            # Remember both pairs as the daemon holds them (rounded): the one in force read
            # back, the other as it will be once switched to.
            held = info.limits
            in_force, waiting = ("download", "upload"), ("alt_download", "alt_upload")
            if limits.alt_enabled:
                in_force, waiting = waiting, in_force
            limits = replace(
                limits,
                **dict(zip(in_force, (held.download, held.upload), strict=True)),
                **{key: client.held_limit(getattr(limits, key)) for key in waiting},
            )
            await asyncio.to_thread(self._remember, connection.id, limits)
            info.limits = limits
        self._recent[connection.id] = (time.monotonic(), info)
        return info

    def _memory(self, server_id: str) -> SpeedLimits | None:
        with db_session:
            server = self._db.TorrentServer.get(id=server_id)
            row = None if server is None else self._db.SpeedMemory.get(server=server)
            if row is None:
                return None
            return SpeedLimits(
                row.download, row.upload, row.alt_download, row.alt_upload, row.alt_enabled
            )

    def _remember(self, server_id: str, limits: SpeedLimits) -> None:
        values = {key: getattr(limits, key) for key in LIMIT_KEYS}
        with db_session:
            server = self._db.TorrentServer.get(id=server_id)
            if server is None:  # removed meanwhile
                return
            row = self._db.SpeedMemory.get(server=server)
            if row is None:
                self._db.SpeedMemory(server=server, **values)
            else:
                row.set(**values)

    async def _record(self, user_id: int, action: str, done) -> None:
        """An audit row per server: (connection, error or None, limits afterwards)."""
        rows = []
        for connection, error, limits in done:
            if error is not None:
                detail = str(error)
            else:
                normal = describe_limits(limits.download, limits.upload)
                slow = describe_limits(limits.alt_download, limits.alt_upload)
                state = "on" if limits.alt_enabled else "off"
                detail = f"limits {normal}; slow mode {state}: {slow}"
            rows.append((action, error is None, connection.id, None, detail))
        if rows:
            await asyncio.to_thread(self._audit.record_many, user_id, rows)
