"""Clients for each torrent server type behind one interface, and the factory that picks one."""

from __future__ import annotations

from .async_client import AsyncTorrentClient
from .base import (
    DEFAULT_TIMEOUT,
    NO_OPTIONS,
    AddedTorrent,
    AddOptions,
    BaseTorrentClient,
    Failures,
    ServerConnection,
    SessionInfo,
    SpeedLimits,
    TorrentFile,
    TorrentInfo,
    TorrentLimits,
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
from .qbittorrent import QBittorrentClient
from .registry import SERVER_KINDS, Capabilities, ServerKind, server_kind, server_type_labels
from .rtorrent import RTorrentClient
from .transmission import TransmissionClient
from .units import MAX_SPEED_LIMIT

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_SPEED_LIMIT",
    "NO_OPTIONS",
    "SERVER_KINDS",
    "AddOptions",
    "AddedTorrent",
    "AsyncTorrentClient",
    "AuthError",
    "BaseTorrentClient",
    "Capabilities",
    "ClientError",
    "ConnectError",
    "DuplicateTorrent",
    "Failures",
    "ProtocolError",
    "QBittorrentClient",
    "RTorrentClient",
    "ServerConnection",
    "ServerKind",
    "SessionInfo",
    "SpeedLimits",
    "TimeoutError",
    "TorrentFile",
    "TorrentInfo",
    "TorrentLimits",
    "TorrentNotFound",
    "TransmissionClient",
    "get_client",
    "server_kind",
    "server_type_labels",
]


def get_client(server: ServerConnection) -> BaseTorrentClient:
    """The blocking client for `server`, by its type (ValueError for an unknown one)."""
    return server_kind(server.server_type).client_class(
        host=server.host,
        port=server.port,
        protocol=server.protocol,
        username=server.username,
        password=server.password,
        rpc_path=server.rpc_path,
        timeout=server.timeout,
        name=server.name,
    )
