"""The async face of a client: every call bounded by a timeout, one call at a time per server.

Each server gets its own single worker thread, so calls to one server are serialized (even
after a timed-out call that is still stuck in its socket) while different servers run
concurrently. The event loop never blocks.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..torrent_input import MagnetLink, TorrentMetainfo
from .base import (
    NO_OPTIONS,
    AddedTorrent,
    AddOptions,
    BaseTorrentClient,
    Failures,
    FileChange,
    PeerInfo,
    QueueMove,
    SessionInfo,
    SpeedLimits,
    TorrentFile,
    TorrentInfo,
    TorrentLimits,
    TrackerInfo,
    TrackerResult,
)
from .errors import ClientError, TimeoutError


class AsyncTorrentClient:
    def __init__(self, client: BaseTorrentClient, timeout: float | None = None) -> None:
        self.client = client
        self.name = client.name
        self.timeout = client.timeout if timeout is None else timeout
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="torrent-server")

    def held_limit(self, limit: int | None) -> int | None:
        """A limit as the daemon would hold it once set (no call: its unit is known)."""
        return self.client.held_limit(limit)

    async def list_torrents(
        self, info_hash: str | None = None, files: bool = False
    ) -> list[TorrentInfo]:
        return await self._call(self.client.list_torrents, info_hash, files)

    async def list_active(self) -> tuple[list[TorrentInfo], list[str]] | None:
        return await self._call(self.client.list_active)

    async def get_torrent(self, info_hash: str, files: bool = False) -> TorrentInfo:
        return await self._call(self.client.get_torrent, info_hash, files)

    async def add_torrent(
        self, meta: TorrentMetainfo, start: bool = True, options: AddOptions = NO_OPTIONS
    ) -> AddedTorrent:
        return await self._call(self.client.add_torrent, meta, start, options)

    async def add_magnet(
        self, magnet: MagnetLink, start: bool = True, options: AddOptions = NO_OPTIONS
    ) -> AddedTorrent:
        return await self._call(self.client.add_magnet, magnet, start, options)

    async def start(self, hashes: Sequence[str]) -> Failures:
        return await self._call(self.client.start, hashes)

    async def stop(self, hashes: Sequence[str]) -> Failures:
        return await self._call(self.client.stop, hashes)

    async def erase(self, hashes: Sequence[str], delete_data: bool = False) -> Failures:
        return await self._call(self.client.erase, hashes, delete_data)

    async def recheck(self, hashes: Sequence[str]) -> Failures:
        return await self._call(self.client.recheck, hashes)

    async def reannounce(self, hashes: Sequence[str]) -> Failures:
        return await self._call(self.client.reannounce, hashes)

    async def set_labels(self, hashes: Sequence[str], labels: list[str]) -> Failures:
        return await self._call(self.client.set_labels, hashes, labels)

    async def add_labels(self, hashes: Sequence[str], labels: list[str]) -> Failures:
        return await self._call(self.client.add_labels, hashes, labels)

    async def remove_labels(self, hashes: Sequence[str], labels: list[str]) -> Failures:
        return await self._call(self.client.remove_labels, hashes, labels)

    async def move(self, hashes: Sequence[str], download_dir: str, move_data: bool) -> Failures:
        return await self._call(self.client.move, hashes, download_dir, move_data)

    async def queue_move(self, hashes: Sequence[str], where: QueueMove) -> Failures:
        return await self._call(self.client.queue_move, hashes, where)

    async def set_torrent_limits(
        self, hashes: Sequence[str], download: int | None, upload: int | None
    ) -> Failures:
        return await self._call(self.client.set_torrent_limits, hashes, download, upload)

    async def torrent_limits(self, info_hash: str) -> TorrentLimits:
        return await self._call(self.client.torrent_limits, info_hash)

    async def metainfo_of(self, info_hash: str) -> bytes | None:
        return await self._call(self.client.metainfo_of, info_hash)

    async def magnet_of(self, info_hash: str) -> tuple[str, bool]:
        return await self._call(self.client.magnet_of, info_hash)

    async def session(self) -> SessionInfo:
        return await self._call(self.client.session)

    async def set_speed_limits(self, limits: SpeedLimits) -> None:
        return await self._call(self.client.set_speed_limits, limits)

    async def files(self, info_hash: str) -> list[TorrentFile]:
        return await self._call(self.client.files, info_hash)

    async def set_files(self, info_hash: str, changes: Sequence[FileChange]) -> None:
        return await self._call(self.client.set_files, info_hash, changes)

    async def trackers(self, info_hash: str) -> list[TrackerInfo]:
        return await self._call(self.client.trackers, info_hash)

    async def edit_trackers(
        self, info_hash: str, add: Sequence[str], remove: Sequence[str]
    ) -> list[TrackerResult]:
        return await self._call(self.client.edit_trackers, info_hash, add, remove)

    async def replace_tracker(self, hashes: Sequence[str], old_url: str, new_url: str) -> Failures:
        return await self._call(self.client.replace_tracker, hashes, old_url, new_url)

    async def peers(self, info_hash: str) -> list[PeerInfo]:
        return await self._call(self.client.peers, info_hash)

    async def default_download_dir(self) -> str:
        return await self._call(self.client.default_download_dir)

    async def version(self) -> str:
        return await self._call(self.client.version)

    async def check_connection(self) -> bool:
        try:
            await self.version()
        except ClientError:
            return False
        return True

    def close(self) -> None:
        """Close after the calls already queued; never blocks, callable from any thread."""
        self._worker.submit(self.client.close)
        self._worker.shutdown(wait=False)

    async def _call(self, method, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._worker, functools.partial(method, *args))
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the caller's
            # cancellation when the call finishes at that moment.
            async with asyncio.timeout(self.timeout):
                return await future
        except builtins.TimeoutError:
            raise TimeoutError(
                self.name,
                f"no answer within {self.timeout:g} s; check that the server is running and "
                "reachable, or raise its timeout",
            ) from None
