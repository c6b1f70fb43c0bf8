""""While you were away" (SPEC §11): what finished, failed, was added or removed on each of a
user's servers since their last visit. The pollers record events as they see them (they keep
polling, slower, while no page is open); a page shows the summary once and can dismiss it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pony.orm import Database, db_session, desc

from ..db import as_utc, utcnow

EVENT_KINDS = ("finished", "failed", "added", "removed")
KEEP_EVENTS = timedelta(days=30)
MAX_SHOWN = 200  # events per summary; the rest are counted


@dataclass(frozen=True, slots=True)
class TorrentEventView:
    info_hash: str
    name: str
    kind: str
    detail: str | None
    at: datetime


@dataclass(slots=True)
class ServerAway:
    server_id: str
    server_name: str
    events: list[TorrentEventView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AwaySummary:
    since: datetime | None  # None: the user's first visit (nothing to tell)
    servers: list[ServerAway]
    more: int  # events left out beyond MAX_SHOWN

    @property
    def empty(self) -> bool:
        return not self.servers


class AwayLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, server_id: str, events: list[tuple[str, str, str, str | None]]) -> None:
        """(kind, info_hash, name, detail) seen on one server just now."""
        if not events:
            return
        with db_session:
            server = self._db.TorrentServer.get(id=server_id)
            if server is None:
                return
            for kind, info_hash, name, detail in events:
                self._db.TorrentEvent(
                    server=server,
                    info_hash=info_hash,
                    name=name[:1000],
                    kind=kind,
                    detail=None if detail is None else detail[:1000],
                )

    def summary(self, user_id: int) -> AwaySummary:
        with db_session:
            visit = self._db.Visit.get(user=user_id)
            if visit is None:
                return AwaySummary(None, [], 0)
            since = visit.seen_at
            query = self._db.TorrentEvent.select(
                lambda e: e.server.user.id == user_id and e.at > since
            ).order_by(desc(self._db.TorrentEvent.at))
            total = query.count()
            servers: dict[str, ServerAway] = {}
            for e in query[:MAX_SHOWN]:
                part = servers.setdefault(e.server.id, ServerAway(e.server.id, e.server.name))
                part.events.append(
                    TorrentEventView(e.info_hash, e.name, e.kind, e.detail, as_utc(e.at))
                )
        return AwaySummary(as_utc(since), list(servers.values()), max(0, total - MAX_SHOWN))

    def seen(self, user_id: int) -> None:
        """The user has seen everything up to now (a page closed, or they dismissed it)."""
        with db_session:
            visit = self._db.Visit.get(user=user_id)
            if visit is None:
                self._db.Visit(user=user_id)
            else:
                visit.seen_at = utcnow()

    def first_visit(self, user_id: int) -> None:
        """Start counting from now for a user never seen before."""
        with db_session:
            if self._db.Visit.get(user=user_id) is None:
                self._db.Visit(user=user_id)

    def prune(self) -> None:
        cutoff = utcnow() - KEEP_EVENTS
        with db_session:
            self._db.TorrentEvent.select(lambda e: e.at < cutoff).delete(bulk=True)
