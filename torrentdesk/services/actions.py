"""What can be done to many torrents on many servers at once (SPEC §9), and what comes back.

Each action is one entry in `ACTIONS`: how to run it on one server's batch of hashes, what the
audit log calls it, and what it needs from a server. `TorrentService.apply` is the one entry
point that runs them; the REST API, the UI's bulk buttons and the single-torrent routes all go
through it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..clients import AsyncTorrentClient, Failures

MAX_TARGETS = 10_000


@dataclass(frozen=True, slots=True)
class Target:
    server_id: str
    info_hash: str


@dataclass(frozen=True, slots=True)
class TargetResult:
    """One target's outcome: `error` is the exception (a ClientError or ServiceError) that
    says why it failed, None when it worked."""

    server_id: str
    info_hash: str
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str | None:
        return None if self.error is None else str(self.error)


@dataclass(frozen=True, slots=True)
class Action:
    audit_name: str
    run: Callable[[AsyncTorrentClient, list[str], dict[str, Any]], Awaitable[Failures]]
    # The torrents are gone afterwards: drop them from the server's snapshot.
    removes: bool = False
    # What the audit row says besides the action, from the action's parameters.
    detail: Callable[[dict[str, Any]], str | None] = field(default=lambda params: None)


ACTIONS: dict[str, Action] = {
    "start": Action("torrent.start", lambda client, hashes, _: client.start(hashes)),
    "stop": Action("torrent.stop", lambda client, hashes, _: client.stop(hashes)),
    "remove": Action(
        "torrent.remove",
        lambda client, hashes, params: client.erase(hashes, bool(params.get("delete_data"))),
        removes=True,
        detail=lambda params: f"delete_data={bool(params.get('delete_data'))}",
    ),
    "recheck": Action("torrent.recheck", lambda client, hashes, _: client.recheck(hashes)),
    "reannounce": Action(
        "torrent.reannounce", lambda client, hashes, _: client.reannounce(hashes)
    ),
}
