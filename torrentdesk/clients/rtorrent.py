"""Placeholder: replaced by the rTorrent client."""

from .base import BaseTorrentClient


class RTorrentClient(BaseTorrentClient):  # type: ignore[abstract]
    server_type = "rtorrent"
