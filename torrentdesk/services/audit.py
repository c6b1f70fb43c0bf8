"""The audit log: every change, who made it, on which server, and whether it worked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pony.orm import Database, db_session, desc

from ..db import as_utc, write_retrying

MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class ActionView:
    id: int
    at: datetime
    action: str
    ok: bool
    server_id: str | None
    info_hash: str | None
    detail: str | None


class AuditService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(
        self,
        user_id: int,
        action: str,
        ok: bool,
        server_id: str | None = None,
        info_hash: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.record_many(user_id, [(action, ok, server_id, info_hash, detail)])

    def record_many(
        self,
        user_id: int,
        rows: list[tuple[str, bool, str | None, str | None, str | None]],
    ) -> None:
        """Several rows (action, ok, server_id, info_hash, detail) in one transaction: a batch
        action over thousands of torrents writes one row per target. A server deleted while
        the rows are written is looked up again (write_retrying): its rows keep no server."""

        def write() -> None:
            user = self._db.User[user_id]
            servers = {
                server_id: self._db.TorrentServer.get(id=server_id)
                for server_id in {row[2] for row in rows if row[2]}
            }
            for action, ok, server_id, info_hash, detail in rows:
                self._db.Action(
                    user=user,
                    server=servers.get(server_id) if server_id else None,
                    info_hash=info_hash,
                    action=action,
                    ok=ok,
                    detail=detail,
                )

        write_retrying(write)

    def latest(self, user_id: int, limit: int = 100) -> list[ActionView]:
        with db_session:
            rows = (
                self._db.Action.select(lambda a: a.user.id == user_id)
                .order_by(lambda a: (desc(a.at), desc(a.id)))
                .limit(min(limit, MAX_LIMIT))
            )
            return [
                ActionView(
                    a.id,
                    as_utc(a.at),
                    a.action,
                    a.ok,
                    a.server.id if a.server else None,
                    a.info_hash,
                    a.detail,
                )
                for a in rows
            ]
