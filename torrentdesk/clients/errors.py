"""One error hierarchy for every torrent server; each message names the server."""

from __future__ import annotations

from ..errors import UserFacingError


class ClientError(UserFacingError):
    """A torrent server call failed. `server` is the display name of the server."""

    def __init__(self, server: str, message: str) -> None:
        self.server = server
        self.message = message
        super().__init__(f"{server}: {message}")


class ConnectError(ClientError):
    """The server could not be reached (refused, DNS, TLS, reset)."""


class AuthError(ClientError):
    """The server refused our credentials."""


class TimeoutError(ClientError):
    """The server did not answer within the timeout."""


class TorrentNotFound(ClientError):
    """No torrent with that info hash on the server."""


class DuplicateTorrent(ClientError):
    """The torrent is already on the server."""

    def __init__(self, server: str, message: str, info_hash: str | None = None) -> None:
        super().__init__(server, message)
        self.info_hash = info_hash


class ProtocolError(ClientError):
    """The server answered with something we could not understand, or a fault."""
