"""What can be done to many torrents on many servers at once (SPEC §9), and what comes back.

Each action is one entry in `ACTIONS`: how to run it on one server's batch of hashes, what the
audit log calls it, and what it needs from a server. `TorrentService.apply` is the one entry
point that runs them; the REST API, the UI's bulk buttons and the single-torrent routes all go
through it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..clients import MAX_SPEED_LIMIT, AsyncTorrentClient, Capabilities, Failures
from .errors import InvalidInput

MAX_TARGETS = 10_000
MAX_LABEL_LENGTH = 64
MAX_PATH_LENGTH = 4096
MAX_TRACKER_URL_LENGTH = 2048
TRACKER_SCHEMES = ("http", "https", "udp")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_labels(labels: list[str]) -> list[str]:
    """1 to 64 characters each, no commas (Transmission and qBittorrent cannot store one), no
    control characters; duplicates dropped, order kept."""
    checked: list[str] = []
    for label in labels:
        if not isinstance(label, str) or not 1 <= len(label) <= MAX_LABEL_LENGTH:
            raise InvalidInput(f"a label has 1 to {MAX_LABEL_LENGTH} characters: {label!r}")
        if "," in label or _CONTROL.search(label):
            raise InvalidInput(f"a label may not contain commas or control characters: {label!r}")
        if label not in checked:
            checked.append(label)
    return checked


def check_speed_limit(value: object, name: str) -> int | None:
    """A speed limit in bytes/s: a whole number from 1 to 1 GiB/s, or None for unlimited (0
    is refused: daemons read it as "unlimited" or as "stop", so it says nothing clear)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SPEED_LIMIT:
        raise InvalidInput(
            f"{name} is a speed in bytes/s from 1 to {MAX_SPEED_LIMIT} (1 GiB/s), or null for "
            f"unlimited, not {str(value)[:40]!r}"
        )
    return value


def describe_limits(download: int | None, upload: int | None) -> str:
    """A pair of limits as the audit log writes them: "down 512000 B/s, up unlimited"."""
    shown = [f"{v} B/s" if v is not None else "unlimited" for v in (download, upload)]
    return f"down {shown[0]}, up {shown[1]}"


def check_download_dir(path: str) -> str:
    """An absolute, normalized directory on the server (it may not exist yet)."""
    path = path.rstrip("/") or "/"
    if (
        not path.startswith("/")
        or posixpath.normpath(path) != path
        or len(path) > MAX_PATH_LENGTH
        or _CONTROL.search(path)
    ):
        raise InvalidInput(
            f"the download directory must be an absolute path on the server, without '..', "
            f"'//' or control characters: {path!r}"
        )
    return path


def check_tracker_url(url: str) -> str:
    """An http(s) or udp announce URL with a host, at most 2048 characters, no whitespace."""
    value = url.strip() if isinstance(url, str) else ""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if (
        parts is None
        or not host
        or parts.scheme.lower() not in TRACKER_SCHEMES
        or len(value) > MAX_TRACKER_URL_LENGTH
        or _CONTROL.search(value)
        or any(c.isspace() for c in value)
    ):
        shown = value if len(value) <= 80 else value[:80] + "…"
        raise InvalidInput(
            f"a tracker is an http, https or udp announce URL with a host, at most "
            f"{MAX_TRACKER_URL_LENGTH} characters: {shown!r}"
        )
    return value


@dataclass(frozen=True, slots=True)
class Target:
    server_id: str
    info_hash: str


class Outcome:
    """What came of one thing done: `error` is the exception (a ClientError or ServiceError)
    that says why it failed, None when it worked."""

    __slots__ = ()
    error: Exception | None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str | None:
        return None if self.error is None else str(self.error)


@dataclass(frozen=True, slots=True)
class TargetResult(Outcome):
    """One target's outcome."""

    server_id: str
    info_hash: str
    error: Exception | None = None


@dataclass(frozen=True, slots=True)
class Action:
    audit_name: str
    run: Callable[[AsyncTorrentClient, list[str], dict[str, Any]], Awaitable[Failures]]
    # The torrents are gone afterwards: drop them from the server's snapshot.
    removes: bool = False
    # What the audit row says besides the action, from the action's parameters.
    detail: Callable[[dict[str, Any]], str | None] = field(default=lambda params: None)
    # Why a server with these capabilities cannot do it (None: it can), asked before any call.
    # A server whose capabilities are not known yet is simply asked; it says no itself.
    unable: Callable[[Capabilities, dict[str, Any]], str | None] = field(
        default=lambda capabilities, params: None
    )
    # The parameters it needs, checked once for the whole request.
    check: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda params: params)


def _labels_params(params: dict[str, Any]) -> dict[str, Any]:
    return {**params, "labels": check_labels(list(params.get("labels") or []))}


def _move_params(params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("download_dir"):
        raise InvalidInput("a move needs download_dir: where the torrents go on the server")
    return {
        **params,
        "download_dir": check_download_dir(params["download_dir"]),
        "move_data": bool(params.get("move_data", True)),
    }


def _limits_params(params: dict[str, Any]) -> dict[str, Any]:
    """Both limits of set_limits; one left out is unlimited, like null."""
    return {
        **params,
        "download_limit": check_speed_limit(params.get("download_limit"), "download_limit"),
        "upload_limit": check_speed_limit(params.get("upload_limit"), "upload_limit"),
    }


def _without_torrent_limits(capabilities: Capabilities, _: dict[str, Any]) -> str | None:
    if capabilities.get("torrent_limits") is False:
        return (
            "this server has no limits for single torrents (rTorrent limits the whole "
            "server): set the server's limits in Servers instead"
        )
    return None


def _replace_tracker_params(params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("old_url") or not params.get("new_url"):
        raise InvalidInput("replace_tracker needs old_url and new_url")
    old, new = check_tracker_url(params["old_url"]), check_tracker_url(params["new_url"])
    if old == new:
        raise InvalidInput("replace_tracker: old_url and new_url are the same")
    return {**params, "old_url": old, "new_url": new}


def _without_tracker_edit(capabilities: Capabilities, _: dict[str, Any]) -> str | None:
    if capabilities and not capabilities.get("tracker_edit"):
        return "this server cannot edit trackers"
    return None


def _without_labels(capabilities: Capabilities, _: dict[str, Any]) -> str | None:
    if capabilities.get("labels") == "none":
        return "this server's version has no labels (Transmission 3.00 or newer has them)"
    return None


def _cannot_move_data(capabilities: Capabilities, params: dict[str, Any]) -> str | None:
    if params.get("move_data") and capabilities.get("move_data") is False:
        return (
            "this server cannot move data over RPC: move the files on the server, then move "
            "the torrent with move_data false to point it there"
        )
    return None


def _without_queue(capabilities: Capabilities, _: dict[str, Any]) -> str | None:
    return "this server has no queue" if capabilities.get("queue") is False else None


def _labels_action(name: str, verb: str) -> Action:
    return Action(
        f"torrent.{name}",
        lambda client, hashes, params: getattr(client, name)(hashes, params["labels"]),
        detail=lambda params: f"{verb} {', '.join(params['labels'])}",
        unable=_without_labels,
        check=_labels_params,
    )


def _queue_action(where: str) -> Action:
    return Action(
        f"torrent.queue_{where}",
        lambda client, hashes, _: client.queue_move(hashes, where),
        unable=_without_queue,
    )


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
    "set_labels": _labels_action("set_labels", "labels:"),
    "add_labels": _labels_action("add_labels", "added"),
    "remove_labels": _labels_action("remove_labels", "removed"),
    "move": Action(
        "torrent.move",
        lambda client, hashes, params: client.move(
            hashes, params["download_dir"], params["move_data"]
        ),
        detail=lambda params: f"to {params['download_dir']} (move_data={params['move_data']})",
        unable=_cannot_move_data,
        check=_move_params,
    ),
    "set_limits": Action(
        "torrent.set_limits",
        lambda client, hashes, params: client.set_torrent_limits(
            hashes, params["download_limit"], params["upload_limit"]
        ),
        detail=lambda params: describe_limits(params["download_limit"], params["upload_limit"]),
        unable=_without_torrent_limits,
        check=_limits_params,
    ),
    **{f"queue_{where}": _queue_action(where) for where in ("top", "up", "down", "bottom")},
    "replace_tracker": Action(
        "torrent.replace_tracker",
        lambda client, hashes, params: client.replace_tracker(
            hashes, params["old_url"], params["new_url"]
        ),
        detail=lambda params: f"{params['old_url']} -> {params['new_url']}",
        unable=_without_tracker_edit,
        check=_replace_tracker_params,
    ),
}
