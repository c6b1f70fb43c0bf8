"""Speed history per server: `Status` samples for the chart, kept 24 hours."""

from __future__ import annotations

from datetime import UTC, timedelta

from pony.orm import Database, db_session, delete, select

from ..db import utcnow

KEEP = timedelta(hours=24)


class HistoryService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(
        self,
        server_id: str,
        download_rate: int,
        upload_rate: int,
        torrent_count: int,
        active_count: int,
        reachable: bool,
    ) -> None:
        with db_session:
            server = self._db.TorrentServer.get(id=server_id)
            if server is not None:
                self._db.Status(
                    server=server,
                    download_rate=download_rate,
                    upload_rate=upload_rate,
                    torrent_count=torrent_count,
                    active_count=active_count,
                    reachable=reachable,
                )

    def prune(self) -> int:
        """Drop samples older than KEEP; returns how many."""
        cutoff = utcnow() - KEEP
        with db_session:
            return delete(s for s in self._db.Status if s.at < cutoff)

    def samples(
        self, user_id: int, server_id: str, hours: float = 24
    ) -> list[tuple[float, int, int]]:
        """(unix time, download B/s, upload B/s), oldest first; empty for another user's server."""
        since = utcnow() - timedelta(hours=min(hours, KEEP.total_seconds() / 3600))
        with db_session:
            rows = select(
                (s.at, s.download_rate, s.upload_rate)
                for s in self._db.Status
                if s.server.id == server_id and s.server.user.id == user_id and s.at >= since
            ).order_by(1)[:]
        return [(at.replace(tzinfo=UTC).timestamp(), down, up) for at, down, up in rows]
