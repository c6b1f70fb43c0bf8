"""Clients for each torrent server type behind one interface, and the factory that picks one."""

from __future__ import annotations

from .async_client import AsyncTorrentClient
from .base import (
    DEFAULT_TIMEOUT,
    AddedTorrent,
    BaseTorrentClient,
    Failures,
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
    "Failures",
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


_CLIENT_TYPES: dict[str, type[RTorrentClient] | type[TransmissionClient]] = {
    "rtorrent": RTorrentClient,
    "transmission": TransmissionClient,
}


def get_client(server: ServerConnection) -> BaseTorrentClient:
    """The blocking client for `server`, by its type."""
    client_type = _CLIENT_TYPES.get(server.server_type)
    if client_type is None:
        raise ValueError(f"unknown server type {server.server_type!r}")
    return client_type(
        host=server.host,
        port=server.port,
        protocol=server.protocol,
        username=server.username,
        password=server.password,
        rpc_path=server.rpc_path,
        timeout=server.timeout,
        name=server.name,
    )
