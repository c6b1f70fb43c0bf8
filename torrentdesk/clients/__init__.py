"""Clients for each torrent server type behind one interface, and the factory that picks one."""

from __future__ import annotations

from .async_client import AsyncTorrentClient
from .base import (
    DEFAULT_TIMEOUT,
    AddedTorrent,
    BaseTorrentClient,
    ServerConnection,
    TorrentFile,
    TorrentInfo,
)
from .errors import (
    AuthError,
    ClientError,
    ConnectError,
    DuplicateTorrent,
    ProtocolError,
    TimeoutError,
    TorrentNotFound,
)
from .rtorrent import RTorrentClient
from .transmission import TransmissionClient

__all__ = [
    "DEFAULT_TIMEOUT",
    "AddedTorrent",
    "AsyncTorrentClient",
    "AuthError",
    "BaseTorrentClient",
    "ClientError",
    "ConnectError",
    "DuplicateTorrent",
    "ProtocolError",
    "RTorrentClient",
    "ServerConnection",
    "TimeoutError",
    "TorrentFile",
    "TorrentInfo",
    "TorrentNotFound",
    "TransmissionClient",
    "get_client",
]


def get_client(server: ServerConnection) -> BaseTorrentClient:
    """The blocking client for `server`, by its type."""
    if server.server_type == "rtorrent":
        return RTorrentClient(
            host=server.host,
            port=server.port,
            protocol=server.protocol,
            username=server.username,
            password=server.password,
            rpc_path=server.rpc_path,
            timeout=server.timeout,
            name=server.name,
        )
    if server.server_type == "transmission":
        return TransmissionClient(
            host=server.host,
            port=server.port,
            protocol=server.protocol,
            username=server.username,
            password=server.password,
            rpc_path=server.rpc_path,
            timeout=server.timeout,
            name=server.name,
        )
    raise ValueError(f"unknown server type {server.server_type!r}")
