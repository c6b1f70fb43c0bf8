"""Errors the services raise; the API, UI and CLI turn them into their own shapes."""

from __future__ import annotations

# A torrent server's failures, for the API's status mapping and the UI's messages.
from ..clients.errors import ClientError, DuplicateTorrent, TimeoutError, TorrentNotFound
from ..errors import UserFacingError

__all__ = [
    "AlreadyExists",
    "ClientError",
    "Conflict",
    "DuplicateTorrent",
    "Forbidden",
    "InvalidInput",
    "NotCapable",
    "NotFound",
    "ServiceError",
    "TimeoutError",
    "TorrentNotFound",
    "UserFacingError",
]


class ServiceError(UserFacingError):
    """Base for expected failures whose message is fit to show a user."""


class InvalidInput(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class AlreadyExists(ServiceError):
    pass


class Forbidden(ServiceError):
    """Only an admin may do that."""


class Conflict(ServiceError):
    """Others changed the same thing at the same moment, every time it was tried: try again."""


class NotCapable(ServiceError):
    """The server cannot do that (its capabilities say so); the message names it."""


def quoted(value: str, limit: int = 64) -> str:
    """A caller's value quoted in a message, cut short: a reply never echoes megabytes."""
    return repr(value if len(value) <= limit else value[:limit] + "…")
