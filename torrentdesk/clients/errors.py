"""One error hierarchy for every torrent server; each message names the server."""

from __future__ import annotations

from ..errors import UserFacingError


class ClientError(UserFacingError):
    """A torrent server call failed. `server` is the display name of the server, `message`
    what failed and what to do (without the name); `summary` says it in a word or two, for
    places with little room (a server's status chip)."""

    summary = "request failed"

    def __init__(self, server: str, message: str) -> None:
        self.server = server
        self.message = message
        super().__init__(f"{server}: {message}")


class ConnectError(ClientError):
    """The server could not be reached (refused, DNS, TLS, reset)."""

    summary = "unreachable"


class AuthError(ClientError):
    """The server refused our credentials."""

    summary = "login refused"


class TimeoutError(ClientError):
    """The server did not answer within the timeout."""

    summary = "not answering"


class TorrentNotFound(ClientError):
    """No torrent with that info hash on the server."""

    summary = "no such torrent"


class DuplicateTorrent(ClientError):
    """The torrent is already on the server."""

    summary = "already there"

    def __init__(self, server: str, message: str, info_hash: str | None = None) -> None:
        super().__init__(server, message)
        self.info_hash = info_hash


class ProtocolError(ClientError):
    """The server answered with something we could not understand, or a fault."""

    summary = "unexpected answer"
