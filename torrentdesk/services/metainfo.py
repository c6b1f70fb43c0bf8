"""The .torrent bytes of every torrent added through the app, per user (SPEC §11). No daemon
hands them back over RPC, and a transfer to another server is exact only with them."""

from __future__ import annotations

from pony.orm import Database, TransactionIntegrityError, db_session

from ..torrent_input import InvalidTorrentInput, TorrentMetainfo, parse_torrent_file


class MetainfoStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def keep(self, user_id: int, meta: TorrentMetainfo) -> None:
        try:
            with db_session:
                row = self._db.Metainfo.get(user=user_id, info_hash=meta.info_hash)
                if row is None:
                    self._db.Metainfo(
                        user=user_id, info_hash=meta.info_hash, name=meta.name, data=meta.data
                    )
        except TransactionIntegrityError:
            # An add to several servers at once keeps it from each: on PostgreSQL (SQLite runs
            # one writer at a time) another one stored it between our look and our insert.
            pass

    def find(self, user_id: int, info_hash: str) -> TorrentMetainfo | None:
        with db_session:
            row = self._db.Metainfo.get(user=user_id, info_hash=info_hash)
            data = None if row is None else row.data
        if data is None:
            return None
        try:
            return parse_torrent_file(data)
        except InvalidTorrentInput:  # stored by an older, laxer parser: as good as absent
            return None
