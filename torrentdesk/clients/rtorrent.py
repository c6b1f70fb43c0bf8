"""rTorrent over XML-RPC, by SCGI or by HTTP(S) through a web server.

Anyone who can send XML-RPC to rTorrent can run shell commands (`execute.*`), so every call goes
through `_call`, which refuses any method (and any sub-command inside a `d.`/`f.`/`t.`/`p.`
multicall, and any command attached to a `load.*`) that is not in `ALLOWED_METHODS`. Method names
are never taken from users.

Verified against Debian's rTorrent 0.9.8 / libtorrent 0.13.8:
- `d.load_date` is reset on every daemon restart, so `added_at` comes from `d.custom=addtime`
  (what ruTorrent sets, and what we set on every add), falling back to `d.load_date`.
- A paused torrent (`d.state` 1, `d.is_active` 0) only runs again after `d.resume`:
  `d.start` alone leaves it paused.
- `d.base_path` and `f.frozen_path` are empty for a torrent that was never opened and for every
  closed torrent after a restart; a file's path is always `d.directory` + `/` + `f.path` (for a
  single file `d.directory` is the folder it sits in).
- `execute.nothrow` answers the raw wait status (256 for exit code 1) instead of a fault.
- Loading a magnet link that has no tracker (`tr=`) while DHT is disabled is silently dropped.
- A magnet still fetching its metadata is a "meta" download (`d.is_meta` 1) named `HASH.meta`
  with size 1; when the metadata arrives a new download replaces it, keeping only what was
  set by the commands of the original `load.*`.
- Tracker replies land in `d.message` as `Tracker: [...]` (they survive a stop, not a
  restart); storage errors leave it empty; a failed hash check sets `d.hashing_failed`.
"""

from __future__ import annotations

import posixpath
import re
import time
import xmlrpc.client
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import quote, unquote

from ..torrent_input import MagnetLink, TorrentMetainfo, is_info_hash
from . import errors, sanitize, xmlrpc_reply
from .base import (
    DEFAULT_TIMEOUT,
    NO_OPTIONS,
    AddedTorrent,
    AddOptions,
    BaseTorrentClient,
    Failures,
    FileChange,
    FilePriority,
    FreeSpace,
    PeerInfo,
    SessionInfo,
    SpeedLimits,
    TorrentFile,
    TorrentInfo,
    TrackerInfo,
    TrackerResult,
    TrackerStatus,
    magnet_link,
    tracker_host,
)
from .sanitize import (
    MAX_ADDRESS_CHARS,
    MAX_CLIENT_CHARS,
    MAX_PEERS,
    MAX_TRACKERS,
    MAX_URL_CHARS,
    flag,
    fraction,
    known_count,
    port,
    rate,
    shown_text,
    timestamp,
)
from .scgi import HttpTransport, ScgiTransport
from .units import RTORRENT_UNIT, reported_count, to_units

# rTorrent's fault for a download it does not have: "Could not find info-hash."
_FAULT_NOT_FOUND = -501

# The custom field holding a magnet's display name (dn) while its metadata is pending.
_NAME_KEY = "tdname"

# What one torrent's row is made of: (method, extra arguments). The order is the order of the
# values in `_to_info`. As `d.multicall2` sub-commands they read "d.hash=", "d.custom=addtime".
_TORRENT_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("d.hash", ()),
    ("d.name", ()),
    ("d.state", ()),
    ("d.is_active", ()),
    ("d.hashing", ()),
    ("d.complete", ()),
    ("d.size_bytes", ()),
    ("d.completed_bytes", ()),
    ("d.up.total", ()),
    ("d.down.rate", ()),
    ("d.up.rate", ()),
    ("d.ratio", ()),
    ("d.peers_connected", ()),
    ("d.peers_complete", ()),
    ("d.custom", ("addtime",)),
    ("d.load_date", ()),
    ("d.directory", ()),
    ("d.is_multi_file", ()),
    ("d.custom1", ()),
    ("d.message", ()),
    ("d.is_open", ()),
    ("d.is_meta", ()),
    ("d.hashing_failed", ()),
    ("d.custom", (_NAME_KEY,)),
    # Wanted chunks not done yet, and their size: what is left of the files switched on.
    ("d.wanted_chunks", ()),
    ("d.chunk_size", ()),
)
_FILE_FIELDS = ("f.path", "f.size_bytes", "f.completed_chunks", "f.size_chunks", "f.priority")

# A torrent's trackers (t.multicall) and peers (p.multicall), in the order `_to_tracker` and
# `_to_peer` read them.
_TRACKER_FIELDS = (
    "t.url",
    "t.group",
    "t.is_enabled",
    "t.is_busy",
    "t.success_counter",
    "t.failed_counter",
    "t.success_time_last",
    "t.failed_time_last",
    "t.scrape_time_last",
    "t.scrape_complete",
    "t.scrape_incomplete",
)
_PEER_FIELDS = (
    "p.address",
    "p.port",
    "p.client_version",
    "p.completed_percent",
    "p.down_rate",
    "p.up_rate",
    "p.is_encrypted",
    "p.is_incoming",
)

_MULTICALL_FIELDS = tuple(f"{name}={','.join(args)}" for name, args in _TORRENT_FIELDS)
_MULTICALL_FILE_FIELDS = tuple(f"{name}=" for name in _FILE_FIELDS)
_MULTICALL_TRACKER_FIELDS = tuple(f"{name}=" for name in _TRACKER_FIELDS)
_MULTICALL_PEER_FIELDS = tuple(f"{name}=" for name in _PEER_FIELDS)

# The free space an open torrent's files see (0 for a closed one), and where it sits: the
# only free-space figure rTorrent has (no command takes a path).
_FREE_SPACE_FIELDS = ("d.free_diskspace", "d.directory")

# The whole server's figures (global commands, target ""), in SessionInfo's order.
_SESSION_CALLS = (
    "throttle.global_down.rate",
    "throttle.global_up.rate",
    "throttle.global_down.total",
    "throttle.global_up.total",
    "throttle.global_down.max_rate",
    "throttle.global_up.max_rate",
    "directory.default",
)
_LIMIT_SETTERS = ("throttle.global_down.max_rate.set", "throttle.global_up.max_rate.set")

# Sub-commands allowed inside a multicall ("d.name=", "f.path="): only the fields we read.
_MULTICALL_COMMANDS: frozenset[str] = frozenset(
    {name for name, _ in _TORRENT_FIELDS} | set(_FILE_FIELDS) | set(_FREE_SPACE_FIELDS)
)
# Each multicall method and the sub-commands it may carry.
_MULTICALL_ALLOWED: dict[str, frozenset[str]] = {
    "d.multicall2": _MULTICALL_COMMANDS,
    "f.multicall": _MULTICALL_COMMANDS,
    "t.multicall": frozenset(_TRACKER_FIELDS),
    "p.multicall": frozenset(_PEER_FIELDS),
}
# Commands allowed as extra arguments of load.*: stamping the add time, and keeping a magnet's
# name in the one shape _NAME_COMMAND allows.
_LOAD_COMMANDS: frozenset[str] = frozenset({"d.custom.set"})
_LOAD_METHODS = frozenset({"load.raw", "load.raw_start", "load.normal", "load.start"})

# Every method this client may ever send, sub-commands included. Nothing else leaves.
_RESTART_TRIES = 3  # stop + start again after a relocation that left a torrent inactive

ALLOWED_METHODS: frozenset[str] = frozenset(
    {
        "system.multicall",
        "system.client_version",
        "system.library_version",
        "directory.default",
        "d.multicall2",
        "f.multicall",
        "t.multicall",
        "p.multicall",
        "d.open",
        "d.start",
        "d.resume",
        "d.stop",
        "d.close",
        "d.erase",
        "d.check_hash",
        "d.tracker_announce",
        # Plain values as XML-RPC parameters, never evaluated as commands.
        "d.custom1.set",
        "d.directory.set",
        "d.is_multi_file",
        "t.url",  # of one tracker, "HASH:t<i>"
        "d.name",
        "d.is_private",
        "d.tracker_size",
        "f.priority.set",  # "HASH:f<i>", 0 off | 1 normal | 2 high
        "d.update_priorities",
        "d.tracker.insert",  # hash, group, announce URL: plain values
        "t.is_enabled.set",  # "HASH:t<i>", 0 | 1
        # The global limits (bytes/s, 0 = unlimited) and the session's rates and totals.
        *_SESSION_CALLS,
        *_LIMIT_SETTERS,
        # Only `rm -f -- <file>` and `rmdir -- <dir>` of a removed torrent's own files and the
        # folders they leave empty: enforced in `_check_allowed`.
        "execute.nothrow",
    }
    | _MULTICALL_COMMANDS
    | _LOAD_COMMANDS
    | _LOAD_METHODS
)
# A sub-command: a name and plain arguments; no `$`, `{`, `;`, spaces or quotes, which
# rTorrent would evaluate as further commands.
_SUBCOMMAND = re.compile(r"([a-z0-9_.]+)=([A-Za-z0-9_,]*)")
# A magnet's name as a load command: rTorrent parses load commands (an unquoted `,` or space
# splits arguments, `;` starts another command, a leading `$` runs one even inside quotes), so
# the name is percent-encoded down to letters, digits and `_` (see `_name_command`). Nothing
# else passes: `%` only before two upper-case hex digits, no other key.
_NAME_MAX_CHARS = 255
_NAME_PLAIN = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_NAME_COMMAND = re.compile(
    rf"d\.custom\.set={_NAME_KEY},(?:[A-Za-z0-9_]|%[0-9A-F]{{2}}){{1,{_NAME_MAX_CHARS * 4}}}"
)
# An add's options as load commands, each value in double quotes (where `,`, spaces and `;`
# are plain text, measured on 0.9.8) with nothing in it that ends the quotes or escapes: a
# directory has no `"`, `\` or control characters and starts with `/` (so no leading `$`);
# labels are percent-encoded down to letters, digits and `%._-~`, joined by commas.
_DIRECTORY_VALUE = re.compile(r'/[^"\\\x00-\x1f\x7f]*')
_OPTION_COMMANDS = (
    re.compile(rf'd\.directory\.set="{_DIRECTORY_VALUE.pattern}"'),
    re.compile(r'd\.custom1\.set="(?:[A-Za-z0-9._~,-]|%[0-9A-F]{2})*"'),
    _NAME_COMMAND,
)
# What rTorrent writes into d.message for a tracker's reply: a warning, not the torrent's error.
_TRACKER_MESSAGE = "Tracker: ["
_HASH_FAILED = "the hash check failed — check that the data is complete and in place, then recheck"

_PRIORITIES: dict[int, FilePriority] = {1: "normal", 2: "high"}  # 0 = off: not wanted
_PRIORITY_VALUES: dict[str, int] = {"normal": 1, "high": 2}
_NO_LOW = (
    "rTorrent has no low priority (only off, normal and high): choose normal or high for "
    "file {}"
)
# Per-hash calls in one system.multicall when listing files for every torrent; keeps each
# request well under rTorrent's XML-RPC size limit.
_FILES_BATCH = 500
# Torrents acted on in one system.multicall (each a few calls of ~150 bytes): ~0.5 MB requests.
_ACTION_BATCH = 1000
# Deletions in one system.multicall: paths are at most ~4 kB, so a batch stays under ~1 MB.
_DELETE_BATCH = 200
# The only shell commands ever sent, each followed by one checked absolute path: a file is
# unlinked (a symlink as a link, never its target; a folder in its place fails and stays), a
# folder removed only when empty.
_DELETE_FILE = ("rm", "-f", "--")
_DELETE_EMPTY_DIR = ("rmdir", "--")
_LOAD_POLL_START = 0.02
_LOAD_POLL_MAX = 0.2

# Two tiers (rTorrent has no "changed since"): between full lists, only the torrents that can
# change are asked for — those in rTorrent's own "started" and "hashing" views, those that left
# them since the last poll (stopped or erased, found out by hash), and those that changed
# lately or were acted on through us (asked for by hash until they are stopped and the same
# twice running, at most RECENT_FOR seconds). A torrent changed from outside while in none of
# these (added stopped, or a stopped one erased or relabelled) shows at the next full list, at
# most FULL_LIST_EVERY seconds later.
FULL_LIST_EVERY = 30.0
RECENT_FOR = 60.0
_HOT_VIEWS = ("started", "hashing")
# More torrents than this to ask for one by one (e.g. hundreds stopped from outside at once):
# one full list is cheaper.
_MAX_BY_HASH = 200


class RTorrentClient(BaseTorrentClient):
    server_type = "rtorrent"

    def __init__(
        self,
        host: str,
        port: int,
        protocol: str = "scgi",
        username: str | None = None,
        password: str | None = None,
        rpc_path: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        name: str | None = None,
    ) -> None:
        super().__init__(name or f"{host}:{port}", timeout)
        if protocol == "scgi":
            self._transport: ScgiTransport | HttpTransport = ScgiTransport(
                self.name, host, port, timeout
            )
        elif protocol in ("http", "https"):
            self._transport = HttpTransport(
                self.name,
                host,
                port,
                timeout,
                https=protocol == "https",
                username=username,
                password=password,
                rpc_path=rpc_path,
            )
        else:
            raise ValueError(f"unknown rTorrent protocol {protocol!r}: use scgi, http or https")
        # The tiers' state: every torrent as last seen (None before the first full list), the
        # hashes asked for by the last poll that may still change, when each recently changed
        # one stops being asked for by hash, and when the last full list was.
        self._seen: dict[str, TorrentInfo] | None = None
        self._hot: set[str] = set()
        self._recent: dict[str, float] = {}
        self._last_full = 0.0

    # -- the one place that sends ---------------------------------------------------------

    def _call(self, method: str, *params: object) -> object:
        """Send one XML-RPC call after checking it against the allowlist; return its result."""
        self._check_allowed(method, params)
        body = xmlrpc.client.dumps(params, method, allow_none=False).encode("utf-8")
        reply = self._transport.post(body)
        try:
            return xmlrpc_reply.loads(reply)[0]
        except xmlrpc.client.Fault as fault:
            raise self._fault_error(fault.faultCode, fault.faultString, method) from None
        except Exception:  # expat, xmlrpc and conversion errors alike: not XML-RPC
            raise errors.ProtocolError(
                self.name,
                f"{self._transport.where} answered {method} with {xmlrpc_reply.describe(reply)}, "
                "not XML-RPC — check that this address is rTorrent (its SCGI port, or /RPC2 "
                "behind a web server)",
            ) from None

    def _check_allowed(self, method: str, params: Sequence[object], nested: bool = False) -> None:
        if method not in ALLOWED_METHODS or (nested and method == "system.multicall"):
            self._refuse(method)
        if method in _MULTICALL_ALLOWED:
            self._check_commands(method, params[2:], _MULTICALL_ALLOWED[method])
        elif method in _LOAD_METHODS:
            commands = [c for c in params[2:] if not _is_load_option(c)]
            self._check_commands(method, commands, _LOAD_COMMANDS)
        elif method == "execute.nothrow":
            # Deleting a removed torrent's own files on the rTorrent host (which may be remote):
            # nothing else may go through execute.*.
            command, path = tuple(params[1:-1]), params[-1] if params else None
            if (
                not params
                or params[0] != ""
                or command not in (_DELETE_FILE, _DELETE_EMPTY_DIR)
                or not _is_normalized_abs_path(path)
            ):
                self._refuse(f"execute.nothrow {list(params)!r}")
        elif method == "system.multicall":
            calls = params[0] if len(params) == 1 and isinstance(params[0], list) else None
            if calls is None:
                self._refuse("system.multicall without a list of calls")
            for call in calls:
                if not isinstance(call, dict) or not isinstance(call.get("methodName"), str):
                    self._refuse(f"system.multicall entry {call!r}")
                self._check_allowed(call["methodName"], call.get("params", []), nested=True)

    def _check_commands(
        self, method: str, commands: Sequence[object], allowed: frozenset[str]
    ) -> None:
        for command in commands:
            match = _SUBCOMMAND.fullmatch(command) if isinstance(command, str) else None
            if match is None or match[1] not in allowed:
                self._refuse(f"{method} sub-command {command!r}")

    def _refuse(self, what: str) -> NoReturn:
        raise errors.ProtocolError(
            self.name, f"refused to send {what}: not in torrentdesk's rTorrent method allowlist"
        )

    def _fault_error(self, code: int, text: str, method: str) -> errors.ClientError:
        text = sanitize.text(text, 200) or ""  # a fault's own words, cut short
        if code == _FAULT_NOT_FOUND or "info-hash" in text:
            return errors.TorrentNotFound(self.name, f"rTorrent has no such torrent ({text})")
        return errors.ProtocolError(self.name, f"rTorrent fault {code} on {method}: {text}")

    def _multicall(self, calls: list[tuple[str, tuple[object, ...]]]) -> list[object]:
        """Several calls in one round trip; a fault in any of them raises our error."""
        values = self._multicall_each(calls)
        for value in values:
            if isinstance(value, errors.ClientError):
                raise value
        return values

    def _multicall_each(self, calls: list[tuple[str, tuple[object, ...]]]) -> list[object]:
        """Several calls in one round trip: each one's value, or its fault as our error."""
        results = self._call(
            "system.multicall", [{"methodName": m, "params": list(p)} for m, p in calls]
        )
        if not isinstance(results, list) or len(results) != len(calls):
            raise errors.ProtocolError(self.name, "rTorrent's system.multicall reply is malformed")
        values: list[object] = []
        for (method, _), result in zip(calls, results, strict=True):
            if isinstance(result, dict):
                code, text = result.get("faultCode", 0), str(result.get("faultString", ""))
                values.append(self._fault_error(code, text, method))
            elif not isinstance(result, list) or len(result) != 1:
                raise errors.ProtocolError(self.name, f"rTorrent's reply to {method} is malformed")
            else:
                values.append(result[0])
        return values

    def _on_each(
        self, hashes: Sequence[str], calls: Callable[[str], list[tuple[str, tuple[object, ...]]]]
    ) -> tuple[dict[str, list[object]], Failures]:
        """`calls(target)` for every torrent, batched into system.multicall round trips: each
        torrent's values, and the torrents where a call failed (not found, a fault)."""
        failures: Failures = {}
        targets: dict[str, str] = {}
        for info_hash in hashes:
            try:
                targets[info_hash] = self._target(info_hash)
            except errors.TorrentNotFound as exc:
                failures[info_hash] = exc
        values: dict[str, list[object]] = {}
        pending = list(targets.items())
        for start in range(0, len(pending), _ACTION_BATCH):
            batch = [(h, calls(target)) for h, target in pending[start : start + _ACTION_BATCH]]
            results = iter(self._multicall_each([c for _, own in batch for c in own]))
            for info_hash, own in batch:
                mine = [next(results) for _ in own]
                error = next((v for v in mine if isinstance(v, errors.ClientError)), None)
                if isinstance(error, errors.TorrentNotFound):
                    failures[info_hash] = self._not_found(info_hash)
                elif error is not None:
                    failures[info_hash] = error
                else:
                    values[info_hash] = mine
        return values, failures

    # -- listing ----------------------------------------------------------------------------

    def list_torrents(self, info_hash: str | None = None, files: bool = False) -> list[TorrentInfo]:
        if info_hash is not None:
            return [self._one_torrent(info_hash, files)]
        rows = self._call("d.multicall2", "", "main", *_MULTICALL_FIELDS)
        if not isinstance(rows, list):
            raise errors.ProtocolError(self.name, "rTorrent's torrent list is not a list")
        pairs, self.dropped = sanitize.convert_rows(rows, lambda row: (None, _to_info(row)))
        torrents = [info for _, info in pairs]
        if files and torrents:
            self._attach_files(torrents)
        self.attach_trackers(torrents, full_list=True)
        self._seen = {t.info_hash: t for t in torrents}
        self._hot = {t.info_hash for t in torrents if t.state != "stopped"}
        self._recent = {h: d for h, d in self._recent.items() if h in self._seen}
        self._last_full = time.monotonic()
        return torrents

    def list_active(self) -> tuple[list[TorrentInfo], list[str]] | None:
        """The hot tier (see FULL_LIST_EVERY): the torrents that can have changed, and the
        hashes erased since the last poll; None when a full list is due."""
        now = time.monotonic()
        if self._seen is None or now - self._last_full >= FULL_LIST_EVERY:
            return None
        views = self._multicall(
            [("d.multicall2", ("", view, *_MULTICALL_FIELDS)) for view in _HOT_VIEWS]
        )
        if not all(isinstance(rows, list) for rows in views):
            raise errors.ProtocolError(self.name, "rTorrent's torrent list is not a list")
        # Rows that cannot be read are left out, as in a full list (they stay as last seen).
        listed = {t.info_hash: t for rows in views for t in self._converted(rows)}  # type: ignore[arg-type]
        self._recent = {h: until for h, until in self._recent.items() if until > now}
        by_hash = (self._hot | self._recent.keys()) - listed.keys()
        if len(by_hash) > _MAX_BY_HASH:
            return None
        fetched, removed = self._by_hash(sorted(by_hash))
        torrents = [*listed.values(), *fetched]
        self.attach_trackers(torrents)
        seen = self._seen
        for torrent in torrents:
            if seen.get(torrent.info_hash) != torrent:
                self._recent[torrent.info_hash] = now + RECENT_FOR
            elif torrent.state == "stopped":
                # Asked for by hash and still the same while stopped: settled. (Each one
                # asked for by hash costs rTorrent a call per field.)
                self._recent.pop(torrent.info_hash, None)
            seen[torrent.info_hash] = torrent
        for info_hash in removed:
            seen.pop(info_hash, None)
            self._recent.pop(info_hash, None)
        # Left the views but still changing (a stopped torrent being checked): asked again.
        self._hot = listed.keys() | {t.info_hash for t in fetched if t.state != "stopped"}
        return torrents, removed

    def _by_hash(self, hashes: list[str]) -> tuple[list[TorrentInfo], list[str]]:
        """These torrents' rows, one system.multicall for the lot; and those no longer there."""
        values, failures = self._on_each(
            hashes, lambda target: [(name, (target, *args)) for name, args in _TORRENT_FIELDS]
        )
        for failure in failures.values():
            if not isinstance(failure, errors.TorrentNotFound):
                raise failure
        return self._converted(list(values.values())), sorted(failures)

    @staticmethod
    def _converted(rows: list) -> list[TorrentInfo]:
        return [info for _, info in sanitize.convert_rows(rows, lambda r: (None, _to_info(r)))[0]]

    def _touched(self, hashes: Sequence[str]) -> None:
        """Changed through us: asked for by hash at the next polls, whatever their views."""
        until = time.monotonic() + RECENT_FOR
        for info_hash in hashes:
            if isinstance(info_hash, str) and is_info_hash(info_hash):
                self._recent[info_hash.lower()] = until

    def _first_tracker_hosts(self, hashes: list[str]) -> dict[str, str | None]:
        # `t.url` of tracker 0 ("HASH:t0"): scalars, unlike a nested `t.multicall` field.
        hosts: dict[str, str | None] = {}
        for start in range(0, len(hashes), _ACTION_BATCH):
            batch = hashes[start : start + _ACTION_BATCH]
            urls = self._multicall_each([("t.url", (f"{h.upper()}:t0",)) for h in batch])
            for info_hash, url in zip(batch, urls, strict=True):
                hosts[info_hash] = tracker_host(url) if isinstance(url, str) else None
        return hosts

    def _one_torrent(self, info_hash: str, files: bool) -> TorrentInfo:
        """One torrent's fields (and files) by hash, in one system.multicall round trip."""
        target = self._target(info_hash)
        calls: list[tuple[str, tuple[object, ...]]] = [
            (name, (target, *args)) for name, args in _TORRENT_FIELDS
        ]
        if files:
            calls.append(("f.multicall", (target, "", *_MULTICALL_FILE_FIELDS)))
        try:
            values = self._multicall(calls)
        except errors.TorrentNotFound:
            raise self._not_found(info_hash) from None
        try:
            info = _to_info(values[: len(_TORRENT_FIELDS)])
            if files:
                info.files = _files_of(info, values[-1])
            [info], _ = sanitize.checked([info])
        except sanitize.ROW_ERRORS:  # a ValueError too when its hash is not one
            raise errors.ProtocolError(
                self.name,
                f"rTorrent's fields of torrent {info_hash.lower()} have an unexpected shape — "
                "is this rTorrent?",
            ) from None
        self.attach_trackers([info])
        return info

    def _attach_files(self, torrents: list[TorrentInfo]) -> None:
        """Files of every torrent: f.multicall per hash, batched into system.multicall."""
        gone: set[str] = set()
        for start in range(0, len(torrents), _FILES_BATCH):
            batch = torrents[start : start + _FILES_BATCH]
            results = self._call(
                "system.multicall",
                [
                    {
                        "methodName": "f.multicall",
                        "params": [t.info_hash.upper(), "", *_MULTICALL_FILE_FIELDS],
                    }
                    for t in batch
                ],
            )
            if not isinstance(results, list) or len(results) != len(batch):
                raise errors.ProtocolError(self.name, "rTorrent's file listing is malformed")
            try:
                for torrent, result in zip(batch, results, strict=True):
                    if isinstance(result, dict):  # erased between the two calls
                        gone.add(torrent.info_hash)
                    else:
                        torrent.files = _files_of(torrent, result[0])
            except sanitize.ROW_ERRORS:
                raise errors.ProtocolError(
                    self.name, "rTorrent's file listing has an unexpected shape — is this rTorrent?"
                ) from None
        if gone:
            torrents[:] = [t for t in torrents if t.info_hash not in gone]

    # -- adding -----------------------------------------------------------------------------

    def add_torrent(
        self, meta: TorrentMetainfo, start: bool = True, options: AddOptions = NO_OPTIONS
    ) -> AddedTorrent:
        self._ensure_absent(meta.info_hash)
        unwanted = options.unwanted_files
        # With unwanted files it is loaded stopped, its priorities set, then started: nothing
        # of an unwanted file is fetched meanwhile.
        method = "load.raw_start" if start and not unwanted else "load.raw"
        commands = self._load_commands(options)
        self._call(method, "", xmlrpc.client.Binary(meta.data), *commands)
        self._wait_loaded(meta.info_hash, "the .torrent file", "see rTorrent's log")
        if unwanted:
            self.set_files(meta.info_hash, [FileChange(i, wanted=False) for i in unwanted])
            if start:
                failed = self.start([meta.info_hash])
                if failed:
                    raise failed[meta.info_hash]
        self._touched([meta.info_hash])
        return AddedTorrent(meta.info_hash, meta.name)

    def add_magnet(
        self, magnet: MagnetLink, start: bool = True, options: AddOptions = NO_OPTIONS
    ) -> AddedTorrent:
        self._ensure_absent(magnet.info_hash)
        # Only the commands of the original load survive the swap to the real download when
        # the metadata arrives: labels, directory and the name to show all go here.
        commands = self._load_commands(options)
        if magnet.name:  # rTorrent names a magnet HASH.meta until its metadata arrives
            commands.append(_name_command(magnet.name))
        self._call("load.start" if start else "load.normal", "", magnet.uri, *commands)
        name = self._wait_loaded(
            magnet.info_hash,
            "the magnet link",
            "rTorrent drops magnet links without a tracker (tr=) unless DHT is enabled",
        )
        self._touched([magnet.info_hash])
        return AddedTorrent(magnet.info_hash, magnet.name or name)

    def _load_commands(self, options: AddOptions) -> list[str]:
        """The add time, and the options as quoted load commands: labels URL-encoded down to
        letters, digits and `%._-~`; a directory with a `"` or `\\` refused, since rTorrent
        would read it as the end of the quotes or an escape (NOTES: unquoted text is parsed
        as commands)."""
        commands = [_addtime_command()]
        if options.download_dir is not None:
            if not _DIRECTORY_VALUE.fullmatch(options.download_dir):
                raise errors.ProtocolError(
                    self.name,
                    f"rTorrent cannot be given the download directory {options.download_dir!r} "
                    'on add (a " or \\ in it); add the torrent, then move it there',
                )
            commands.append(f'd.directory.set="{options.download_dir}"')
        if options.labels:
            encoded = ",".join(quote(label, safe="") for label in options.labels)
            commands.append(f'd.custom1.set="{encoded}"')
        return commands

    def _ensure_absent(self, info_hash: str) -> None:
        try:
            name = self._call("d.name", info_hash.upper())
        except errors.TorrentNotFound:
            return
        name = sanitize.text(name, sanitize.MAX_NAME)
        raise errors.DuplicateTorrent(
            self.name, f"torrent {info_hash} ({name}) is already on this server", info_hash
        )

    def _wait_loaded(self, info_hash: str, what: str, hint: str) -> str:
        """rTorrent loads asynchronously: poll until the hash shows up; return its name."""
        deadline = time.monotonic() + self.timeout
        delay = _LOAD_POLL_START
        while True:
            try:
                name = self._call("d.name", info_hash.upper())
            except errors.TorrentNotFound:
                pass
            else:
                return sanitize.text(name, sanitize.MAX_NAME) or ""
            if time.monotonic() + delay > deadline:
                raise errors.ProtocolError(
                    self.name,
                    f"rTorrent accepted {what} but did not load torrent {info_hash} "
                    f"within {self.timeout:g} s — {hint}",
                )
            time.sleep(delay)
            delay = min(delay * 2, _LOAD_POLL_MAX)

    # -- actions ----------------------------------------------------------------------------

    def start(self, hashes: Sequence[str]) -> Failures:
        # d.start opens and runs a stopped torrent; d.resume is what un-pauses a paused one.
        # No d.open first: after a d.directory.set it opens the files where they are not, and
        # the torrent stays inactive (measured on 0.9.8).
        return self._each_calling(hashes, ("d.start", "d.resume"))

    def stop(self, hashes: Sequence[str]) -> Failures:
        # Closed as well, so it reads as stopped (d.state 0) and releases its files.
        return self._each_calling(hashes, ("d.stop", "d.close"))

    def recheck(self, hashes: Sequence[str]) -> Failures:
        return self._each_calling(hashes, ("d.check_hash",))

    def reannounce(self, hashes: Sequence[str]) -> Failures:
        return self._each_calling(hashes, ("d.tracker_announce",))

    def labels_of(self, hashes: Sequence[str]) -> tuple[dict[str, list[str]], Failures]:
        values, failures = self._on_each(hashes, lambda target: [("d.custom1", (target,))])
        return {h: decode_labels(str(v[0])) for h, v in values.items()}, failures

    def set_labels_each(self, labels: dict[str, list[str]]) -> Failures:
        wanted = {h.upper(): encode_labels(new) for h, new in labels.items()}
        self._touched(list(labels))
        return self._on_each(
            list(labels), lambda target: [("d.custom1.set", (target, wanted[target]))]
        )[1]

    def magnet_of(self, info_hash: str) -> tuple[str, bool]:
        values, failures = self._on_each(
            [info_hash],
            lambda t: [("d.name", (t,)), ("d.is_private", (t,)), ("d.tracker_size", (t,))],
        )
        for error in failures.values():
            raise error
        name, private, count = values[info_hash]
        target = info_hash.upper()
        urls = self._multicall_each(
            [("t.url", (f"{target}:t{i}",)) for i in range(min(int(count), 200))]
        )
        trackers = [url for url in urls if isinstance(url, str) and url]
        return magnet_link(info_hash.lower(), str(name), trackers), bool(private)

    def move(self, hashes: Sequence[str], download_dir: str, move_data: bool) -> Failures:
        """rTorrent only relocates: no RPC of it moves data. Each torrent is stopped and
        closed, pointed at `download_dir` (a multi-file torrent's folder goes inside it), and
        started again if it was running."""
        if move_data or not _is_normalized_abs_path(download_dir):
            why = (
                "rTorrent cannot move data over RPC: move the files on the server, then move "
                "the torrent without its data"
                if move_data
                else f"{download_dir!r} is not an absolute, normalized path"
            )
            return {h: errors.ProtocolError(self.name, why) for h in hashes}
        self._touched(hashes)
        states, failures = self._on_each(hashes, lambda target: [("d.state", (target,))])
        moved, not_moved = self._on_each(
            list(states),
            lambda target: [
                ("d.stop", (target,)),
                ("d.close", (target,)),
                ("d.directory.set", (target, download_dir)),
            ],
        )
        running = [h for h in moved if states[h] == [1]]
        return failures | not_moved | (self._restart_moved(running) if running else {})

    def _restart_moved(self, hashes: list[str]) -> Failures:
        """Start relocated torrents again. rTorrent 0.9.8 now and then fails the first open
        after a d.directory.set ("Could not create directory …: Resource temporarily
        unavailable" in its log) and leaves the torrent inactive; another stop and start
        opens it (measured; on a loaded machine it took a third try, so up to three)."""
        failures = self.start(hashes)
        for attempt in range(_RESTART_TRIES):
            active, _ = self._on_each(
                [h for h in hashes if h not in failures], lambda t: [("d.is_active", (t,))]
            )
            again = [h for h, (is_active,) in active.items() if not is_active]
            if not again:
                break
            time.sleep(0.2 * attempt)  # the first retry at once, as measured enough mostly
            failures |= self.stop(again)
            failures |= self.start([h for h in again if h not in failures])
        return failures

    def _each_calling(self, hashes: Sequence[str], methods: tuple[str, ...]) -> Failures:
        self._touched(hashes)
        return self._on_each(hashes, lambda target: [(m, (target,)) for m in methods])[1]

    def erase(self, hashes: Sequence[str], delete_data: bool = False) -> Failures:
        self._touched(hashes)
        owned: dict[str, _OwnedData] = {}
        failures: Failures = {}
        if delete_data:
            # Learned before erasing: afterwards rTorrent no longer knows the files.
            owned, failures = self._owned_data(hashes)
            hashes = list(owned)
        erased, not_erased = self._on_each(hashes, lambda target: [("d.erase", (target,))])
        failures |= not_erased
        for info_hash in erased.keys() & owned.keys():
            try:
                self._delete_owned(info_hash, owned[info_hash])
            except errors.ClientError as exc:
                failures[info_hash] = exc
        return failures

    def _owned_data(self, hashes: Sequence[str]) -> tuple[dict[str, _OwnedData], Failures]:
        """Each torrent's own files and the folders they may leave empty; a torrent with any
        path that is not absolute and normalized below its directory is refused whole."""
        values, failures = self._on_each(
            hashes,
            lambda target: [
                ("d.is_multi_file", (target,)),
                ("d.directory", (target,)),
                ("d.name", (target,)),
                ("f.multicall", (target, "", "f.path=")),
            ],
        )
        owned: dict[str, _OwnedData] = {}
        for info_hash, (multi, directory, name, rows) in values.items():
            try:
                paths = [row[0] for row in rows]  # type: ignore[union-attr]
                owned[info_hash] = _owned_data(str(directory), str(name), bool(multi), paths)
            except (TypeError, IndexError, KeyError):
                failures[info_hash] = errors.ProtocolError(
                    self.name, f"rTorrent's file list of torrent {info_hash} is malformed"
                )
            except ValueError as exc:
                failures[info_hash] = errors.ProtocolError(
                    self.name,
                    f"refused to delete the data of torrent {info_hash}: {exc}; torrent and "
                    "data kept — remove it without its data, and delete the files on the server "
                    "by hand",
                )
        return owned, failures

    def _delete_owned(self, info_hash: str, owned: _OwnedData) -> None:
        """Unlink each file, then remove the folders left empty, deepest first."""
        kept: list[str] = []
        try:
            for command, paths in ((_DELETE_FILE, owned.files), (_DELETE_EMPTY_DIR, owned.dirs)):
                for start in range(0, len(paths), _DELETE_BATCH):
                    batch = paths[start : start + _DELETE_BATCH]
                    statuses = self._multicall(
                        [("execute.nothrow", ("", *command, path)) for path in batch]
                    )
                    # A folder that is not empty is not ours to remove: only files count.
                    if command is _DELETE_FILE:
                        kept += [p for p, status in zip(batch, statuses, strict=True) if status]
        except errors.ClientError as exc:
            raise type(exc)(
                self.name,
                f"removed torrent {info_hash} but could not delete all of its data "
                f"({exc.message}); the rest is still on the server",
            ) from None
        if kept:
            shown = ", ".join(kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3 else "")
            raise errors.ProtocolError(
                self.name,
                f"removed torrent {info_hash} but kept {len(kept)} of its paths that are not "
                f"plain files or could not be deleted: {shown} — a folder is in the way, or "
                "rTorrent's user may not delete them; check them on the server",
            )

    # -- inside one torrent -----------------------------------------------------------------

    def set_files(self, info_hash: str, changes: Sequence[FileChange]) -> None:
        """`f.priority.set` (0 off, 1 normal, 2 high) for each file whose value changes, then
        `d.update_priorities`, in one round trip. A file switched off forgets its priority
        (rTorrent keeps none for it): wanted again, it is normal unless told otherwise."""
        if not changes:
            return
        low = sorted({c.index for c in changes if c.priority == "low"})
        if low:
            raise errors.ClientError(self.name, _NO_LOW.format(", ".join(map(str, low))))
        target = self._target(info_hash)
        try:
            rows = self._call("f.multicall", target, "", "f.priority=")
            current = [int(row[0]) for row in rows]  # type: ignore[union-attr]
        except errors.TorrentNotFound:
            raise self._not_found(info_hash) from None
        except (TypeError, ValueError, IndexError, KeyError):
            raise errors.ProtocolError(
                self.name, f"rTorrent's file list of torrent {info_hash} is malformed"
            ) from None
        wrong = sorted({c.index for c in changes if not 0 <= c.index < len(current)})
        if wrong:
            raise errors.ClientError(
                self.name,
                f"torrent {info_hash.lower()} has {len(current)} files: no file index "
                f"{', '.join(map(str, wrong))}",
            )
        values = list(current)
        for change in changes:
            was = values[change.index]
            wanted = change.wanted if change.wanted is not None else was != 0
            level = change.priority or _PRIORITIES.get(was, "normal")
            values[change.index] = _PRIORITY_VALUES[level] if wanted else 0
        calls: list[tuple[str, tuple[object, ...]]] = [
            ("f.priority.set", (f"{target}:f{i}", value))
            for i, (value, was) in enumerate(zip(values, current, strict=True))
            if value != was
        ]
        if calls:
            self._multicall([*calls, ("d.update_priorities", (target,))])

    def trackers(self, info_hash: str) -> list[TrackerInfo]:
        """A tracker's own message is not kept by rTorrent: a failing one shows the
        torrent's last tracker message (d.message, `Tracker: [...]`)."""
        target = self._target(info_hash)
        try:
            message, rows = self._multicall(
                [
                    ("d.message", (target,)),
                    ("t.multicall", (target, "", *_MULTICALL_TRACKER_FIELDS)),
                ]
            )
        except errors.TorrentNotFound:
            raise self._not_found(info_hash) from None
        note = shown_text(message, 500) if str(message).startswith(_TRACKER_MESSAGE) else None
        return [_to_tracker(row, note) for row in _rows(rows, len(_TRACKER_FIELDS), MAX_TRACKERS)]

    def edit_trackers(
        self, info_hash: str, add: Sequence[str], remove: Sequence[str]
    ) -> list[TrackerResult]:
        """Add with `d.tracker.insert` (a new tier after the last), or enable a disabled one
        that is already there; "remove" disables: rTorrent cannot remove a tracker."""
        target = self._target(info_hash)
        trackers = self._tracker_urls(info_hash)
        calls: list[tuple[str, tuple[object, ...]]] = []
        results: list[TrackerResult] = []
        for url in remove:
            indices = [i for i, (u, _, _) in enumerate(trackers) if u == url]
            if not indices:
                results.append(TrackerResult(url, False, "not a tracker of this torrent"))
                continue
            calls += [("t.is_enabled.set", (f"{target}:t{i}", 0)) for i in indices]
            results.append(TrackerResult(url, True, None, disabled=True))
        next_group = max((group for _, group, _ in trackers), default=-1) + 1
        removed = set(remove)
        adds: list[TrackerResult] = []
        for url in add:
            present = [i for i, (u, _, _) in enumerate(trackers) if u == url]
            if present and url not in removed and any(trackers[i][2] for i in present):
                adds.append(TrackerResult(url, False, "already a tracker of this torrent"))
                continue
            if present:
                calls += [("t.is_enabled.set", (f"{target}:t{i}", 1)) for i in present]
            else:
                calls.append(("d.tracker.insert", (target, str(next_group), url)))
                next_group += 1
            adds.append(TrackerResult(url, True))
        if calls:
            self._multicall(calls)
        return adds + results

    def replace_tracker(self, hashes: Sequence[str], old_url: str, new_url: str) -> Failures:
        """On each torrent with `old_url`: the new one inserted into the old one's tier (or
        enabled, if it is there), the old one disabled."""
        listed, failures = self._on_each(
            hashes, lambda t: [("t.multicall", (t, "", "t.url=", "t.group=", "t.is_enabled="))]
        )
        plans: dict[str, list[tuple[str, tuple[object, ...]]]] = {}
        for info_hash, (rows,) in listed.items():
            trackers = _tracker_rows(rows)
            old = [i for i, (u, _, _) in enumerate(trackers) if u == old_url]
            if not old:
                failures[info_hash] = errors.ClientError(
                    self.name,
                    f"this torrent has no tracker {old_url}; left as it is",
                )
                continue
            target = info_hash.upper()
            plan = [("t.is_enabled.set", (f"{target}:t{i}", 0)) for i in old]
            new = [i for i, (u, _, _) in enumerate(trackers) if u == new_url]
            if new:
                plan += [("t.is_enabled.set", (f"{target}:t{i}", 1)) for i in new]
            else:
                plan.append(("d.tracker.insert", (target, str(trackers[old[0]][1]), new_url)))
            plans[info_hash] = plan
        # _on_each hands each call its target: the upper-case hash, as `plan` uses it.
        by_target = {h.upper(): plan for h, plan in plans.items()}
        _, not_done = self._on_each(list(plans), lambda target: by_target[target])
        return failures | not_done

    def peers(self, info_hash: str) -> list[PeerInfo]:
        target = self._target(info_hash)
        try:
            rows = self._call("p.multicall", target, "", *_MULTICALL_PEER_FIELDS)
        except errors.TorrentNotFound:
            raise self._not_found(info_hash) from None
        return [_to_peer(row) for row in _rows(rows, len(_PEER_FIELDS), MAX_PEERS)]

    def _tracker_urls(self, info_hash: str) -> list[tuple[str, int, bool]]:
        """(url, group, enabled) of each tracker, in rTorrent's order (its `t<i>` index)."""
        try:
            rows = self._call(
                "t.multicall", self._target(info_hash), "", "t.url=", "t.group=", "t.is_enabled="
            )
        except errors.TorrentNotFound:
            raise self._not_found(info_hash) from None
        return _tracker_rows(rows)

    def default_download_dir(self) -> str:
        return str(self._call("directory.default", ""))

    # -- the session ------------------------------------------------------------------------

    def session(self) -> SessionInfo:
        """Rates and totals since the daemon started, the default directory and the global
        limits. rTorrent has no alternative limits: the services keep and switch them."""
        values = self._multicall([(method, ("",)) for method in _SESSION_CALLS])
        try:
            down_rate, up_rate, down_total, up_total, down_max, up_max = (
                reported_count(v) for v in values[:6]
            )
        except ValueError:
            raise errors.ProtocolError(
                self.name, "rTorrent's throttle figures are not whole numbers"
            ) from None
        directory = values[6]
        if not isinstance(directory, str):
            raise errors.ProtocolError(self.name, "rTorrent's directory.default is not text")
        return SessionInfo(
            down_rate,
            up_rate,
            down_total,
            up_total,
            self._free_space(directory),
            directory,
            SpeedLimits(down_max or None, up_max or None),
        )

    def _free_space(self, directory: str) -> FreeSpace | None:
        """Approximate: what the started torrents inside the default directory see on their
        filesystem (rTorrent asks the filesystem of each open torrent's files; no command
        takes a path, and a shell command is never sent). None when none is open there."""
        root = directory.rstrip("/") or "/"
        if not _is_normalized_abs_path(root):
            return None
        rows = self._call(
            "d.multicall2", "", "started", *(f"{field}=" for field in _FREE_SPACE_FIELDS)
        )
        seen = [
            row[0]
            for row in (rows if isinstance(rows, list) else [])
            if isinstance(row, list)
            and len(row) == 2
            and isinstance(row[0], int)
            and not isinstance(row[0], bool)
            and row[0] > 0
            and isinstance(row[1], str)
            and (row[1] == root or row[1].startswith(root + "/"))
        ]
        return FreeSpace(root, max(seen)) if seen else None

    def held_limit(self, limit: int | None) -> int | None:
        return None if limit is None else to_units(limit, RTORRENT_UNIT) * RTORRENT_UNIT

    def set_speed_limits(self, limits: SpeedLimits) -> None:
        """The global limits rTorrent should apply now: the alternative pair while slow mode
        is on (emulated: rTorrent has one pair), else the normal one."""
        if limits.alt_enabled:
            pair = (limits.alt_download, limits.alt_upload)
        else:
            pair = (limits.download, limits.upload)
        rates = [self.held_limit(v) or 0 for v in pair]  # 0: unlimited
        self._multicall([(s, ("", rate)) for s, rate in zip(_LIMIT_SETTERS, rates, strict=True)])

    def version(self) -> str:
        client, library = self._multicall(
            [("system.client_version", ()), ("system.library_version", ())]
        )
        return f"rTorrent {client} / libtorrent {library}"

    def close(self) -> None:
        if isinstance(self._transport, HttpTransport):
            self._transport.close()

    # -- helpers ----------------------------------------------------------------------------

    def _target(self, info_hash: str) -> str:
        """The hash as rTorrent's call target; anything that is not a hash is not found."""
        if not isinstance(info_hash, str) or not is_info_hash(info_hash):
            raise errors.TorrentNotFound(
                self.name, f"no torrent with info hash {info_hash!r} (not a 40-hex-digit hash)"
            )
        return info_hash.upper()

    def _not_found(self, info_hash: str) -> errors.TorrentNotFound:
        return errors.TorrentNotFound(
            self.name, f"no torrent with info hash {info_hash.lower()} on this server"
        )


def _addtime_command() -> str:
    """Stamp the add time as ruTorrent does, since d.load_date resets on every restart."""
    return f"d.custom.set=addtime,{int(time.time())}"


def _name_command(name: str) -> str:
    """Keep a magnet's name in a custom field, percent-encoded so that rTorrent's command
    parser sees only letters, digits, `_` and `%`; read back by `_to_info`."""
    data = name[:_NAME_MAX_CHARS].encode("utf-8", "replace")
    encoded = "".join(chr(b) if b in _NAME_PLAIN else f"%{b:02X}" for b in data)
    return f"d.custom.set={_NAME_KEY},{encoded}"


def _is_load_option(command: object) -> bool:
    return isinstance(command, str) and any(p.fullmatch(command) for p in _OPTION_COMMANDS)


# encodeURIComponent's unreserved characters, as Flood writes its tags; ruTorrent's rawurlencode
# of its one label decodes the same way.
_LABEL_SAFE = "-_.!~*'()"


def encode_labels(labels: list[str]) -> str:
    """Labels as `d.custom1` keeps them: each URL-encoded, joined by commas (Flood's tags; a
    single one is ruTorrent's label)."""
    return ",".join(quote(label, safe=_LABEL_SAFE) for label in labels)


def decode_labels(text: str) -> list[str]:
    labels = []
    for part in text.split(","):
        label = unquote(part.strip())
        if label and label not in labels:
            labels.append(label)
    return labels


def _is_normalized_abs_path(path: object) -> bool:
    """An absolute path other than `/`, already normalized (no `..`, `.`, `//` or trailing `/`)."""
    return (
        isinstance(path, str)
        and path.startswith("/")
        and path != "/"
        and posixpath.normpath(path) == path
        and "\x00" not in path
    )


@dataclass(frozen=True, slots=True)
class _OwnedData:
    files: list[str]  # absolute paths of the torrent's files
    dirs: list[str]  # folders those files may leave empty, deepest first


def _owned_data(directory: str, name: str, multi_file: bool, file_paths: list[str]) -> _OwnedData:
    """What removing a torrent with its data may delete, as ruTorrent's erasedata does: each
    file at `d.directory/f.path`, and the folders between them and the torrent's own folder —
    which is `d.directory` only for a multi-file torrent whose folder bears its name (not one
    loaded with `d.directory_base.set` into a shared folder). Raises ValueError on any path
    that is not absolute and normalized, or not below `d.directory`."""
    root = directory.rstrip("/") if directory != "/" else directory
    if not _is_normalized_abs_path(root):
        raise ValueError(f"its directory {directory!r} is not an absolute, normalized path")
    files = []
    for relative in file_paths:
        path = f"{root}/{relative}"
        if not isinstance(relative, str) or not relative or not _is_normalized_abs_path(path):
            raise ValueError(f"its file path {path!r} is not an absolute, normalized path")
        files.append(path)
    own_folder = multi_file and name != "" and posixpath.basename(root) == name
    dirs: set[str] = set()
    for path in files:
        folder = posixpath.dirname(path)
        while folder != root and folder.startswith(root + "/"):
            dirs.add(folder)
            folder = posixpath.dirname(folder)
    if own_folder:
        dirs.add(root)
    return _OwnedData(files, sorted(dirs, key=lambda d: (-d.count("/"), d)))


def _to_info(row: Sequence) -> TorrentInfo:
    (
        info_hash,
        name,
        state,
        active,
        hashing,
        complete,
        size,
        done,
        uploaded,
        down_rate,
        up_rate,
        ratio,
        peers,
        seeds,
        addtime,
        load_date,
        directory,
        multi_file,
        label,
        message,
        is_open,
        is_meta,
        hashing_failed,
        kept_name,
        wanted_chunks,
        chunk_size,
    ) = row
    # Files switched off: the size is what is done plus what is left of the wanted chunks
    # (as Transmission's sizeWhenDone), so a torrent whose wanted files are done is complete.
    # d.complete and d.left_bytes count every chunk, wanted or not.
    wanted_left = wanted_chunks * chunk_size
    if 0 <= wanted_left < size - done:
        size = done + wanted_left
        complete = complete or not wanted_chunks
    # As ruTorrent reads them: started = open, d.state 1 and active; paused (state 1, inactive)
    # and closed read as stopped.
    eta = None
    if hashing:
        status = "checking"
    elif not (is_open and state and active):
        status = "stopped"
    elif is_meta:
        status = "metadata"
    elif complete:
        status = "seeding"
    else:
        status = "downloading"
        if down_rate > 0 and size:
            eta = (size - done) // down_rate
    if is_meta:  # HASH.meta, size 1: show the magnet's name, size unknown
        name = unquote(kept_name, errors="replace") if kept_name else name
        size, done = None, 0
    warning = message if message.startswith(_TRACKER_MESSAGE) else None
    error = None if warning else message or None
    if hashing_failed and error is None:
        error = _HASH_FAILED
    return TorrentInfo(
        info_hash.lower(),
        name,
        status,
        done / size if size else 0.0,
        size,
        done,
        uploaded,
        down_rate,
        up_rate,
        ratio / 1000,
        eta,
        peers,
        seeds,
        int(addtime) if addtime.isdigit() else load_date,
        # A multi-file torrent's d.directory is its own folder; report the parent it lives
        # in, as Transmission's downloadDir does.
        posixpath.dirname(directory) if multi_file else directory,
        decode_labels(label),
        error,
        warning,
    )


def _tracker_rows(rows: object) -> list[tuple[str, int, bool]]:
    """(url, group, enabled) of each row of a `t.url=, t.group=, t.is_enabled=` t.multicall."""
    return [
        (shown_text(url, MAX_URL_CHARS), known_count(group) or 0, flag(enabled))
        for url, group, enabled in _rows(rows, 3)
    ]


def _rows(value: object, width: int, limit: int = MAX_TRACKERS) -> list[list]:
    """A multicall's rows of `width` values; anything else is left out."""
    if not isinstance(value, list):
        return []
    return [row for row in value[:limit] if isinstance(row, list) and len(row) == width]


def _to_tracker(row: list, note: str | None) -> TrackerInfo:
    (
        url,
        group,
        enabled,
        busy,
        successes,
        failures,
        success_last,
        failed_last,
        scrape_last,
        complete,
        incomplete,
    ) = row
    succeeded, failed = known_count(successes) or 0, known_count(failures) or 0
    last_success, last_failure = timestamp(success_last) or 0, timestamp(failed_last) or 0
    status: TrackerStatus
    if not flag(enabled):
        status = "disabled"
    elif flag(busy):
        status = "updating"
    elif succeeded and last_success >= last_failure:
        status = "working"
    elif failed:
        status = "error"
    else:
        status = "not_contacted"
    scraped = bool(succeeded or timestamp(scrape_last))
    return TrackerInfo(
        url=shown_text(url, MAX_URL_CHARS),
        tier=known_count(group, 10_000) or 0,
        status=status,
        message=(note or "the last announce failed") if status == "error" else None,
        seeders=known_count(complete) if scraped else None,
        leechers=known_count(incomplete) if scraped else None,
        last_announce=max(last_success, last_failure) or None,
    )


def _to_peer(row: list) -> PeerInfo:
    address, peer_port, client, percent, down, up, encrypted, incoming = row
    return PeerInfo(
        address=shown_text(address, MAX_ADDRESS_CHARS),
        port=port(peer_port),
        client=shown_text(client, MAX_CLIENT_CHARS),
        progress=fraction(percent / 100 if isinstance(percent, int | float) else None),
        download_rate=rate(down),
        upload_rate=rate(up),
        encrypted=flag(encrypted),
        incoming=flag(incoming),
    )


def _files_of(torrent: TorrentInfo, rows: object) -> list[TorrentFile]:
    """A torrent's f.multicall rows as files; none while a magnet fetches its metadata (its
    one "file" is rTorrent's HASH.meta placeholder, as Transmission and qBittorrent list none)."""
    if torrent.size is None:
        return []
    return [_to_file(i, row) for i, row in enumerate(rows)]  # type: ignore[arg-type]


def _to_file(index: int, row: Sequence) -> TorrentFile:
    path, size, done_chunks, chunks, priority = row
    return TorrentFile(
        index,
        path,
        size,
        done_chunks / chunks if chunks else 1.0,
        priority != 0,
        _PRIORITIES.get(priority, "normal"),
    )
