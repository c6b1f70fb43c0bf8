"""qBittorrent over its Web API v2 (via qbittorrent-api), normalized to the base types.

Only `torrentdesk.clients.errors` come out of this module: every qbittorrent-api, requests and
JSON failure is translated, and the message names the server. Every public call runs under one
deadline (the client's timeout) however many HTTP requests it takes — the library's own retry
and re-login included.

Listing goes through `sync/maindata` with `rid`: the first call gets every torrent, later ones
only what changed (and the hashes removed). The client keeps, per torrent, only the fields the
table shows, merges each delta into them, and hands out changed torrents (`list_active`) or all
of them (`list_torrents`).

Labels are qBittorrent tags (created when missing). A torrent's category is shown as its first
label but never changed by a label action: under automatic torrent management a category
change moves data, so only an explicit move may do that (SPEC §12) — and torrentdesk's move
sets a location, never a category.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlsplit

import qbittorrentapi
import requests
from qbittorrentapi.exceptions import (
    APIConnectionError,
    APIError,
    Conflict409Error,
    HTTP5XXError,
    HTTPError,
    LoginFailed,
    NotFound404Error,
    Unauthorized401Error,
    UnsupportedMediaType415Error,
)

from ..torrent_input import (
    InvalidTorrentInput,
    MagnetLink,
    TorrentMetainfo,
    is_info_hash,
    parse_torrent_file,
)
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
    QueueMove,
    SessionInfo,
    SpeedLimits,
    TorrentFile,
    TorrentInfo,
    TorrentLimits,
    TorrentState,
    TrackerInfo,
    TrackerResult,
    TrackerStatus,
    tracker_host,
)
from .errors import (
    AuthError,
    ClientError,
    ConnectError,
    ProtocolError,
    TimeoutError,
)

# The HTTP failure helpers are the Transmission client's: both talk HTTP through requests.
from .transmission import _causes, _describe, _is_protocol_failure, _snippet

# qBittorrent's torrent states (4.x, and 5.x's stopped* names for paused*) -> ours. The torrent's
# own failures (error, missingFiles) are "stopped" with the reason in `error`.
STATES: dict[str, TorrentState] = {
    "downloading": "downloading",
    "stalledDL": "downloading",  # started, nobody to download from right now
    "forcedDL": "downloading",  # started past the queue
    "uploading": "seeding",
    "stalledUP": "seeding",
    "forcedUP": "seeding",
    "queuedDL": "queued",
    "queuedUP": "queued",
    "checkingDL": "checking",
    "checkingUP": "checking",
    "checkingResumeData": "checking",  # at daemon start
    "allocating": "checking",  # disk work before the download
    "moving": "checking",  # its data is being moved: busy with the disk, not transferring
    "metaDL": "metadata",
    "forcedMetaDL": "metadata",
    "pausedDL": "stopped",
    "pausedUP": "stopped",
    "stoppedDL": "stopped",
    "stoppedUP": "stopped",
    "error": "stopped",
    "missingFiles": "stopped",
}
_ERRORS = {
    "error": "qBittorrent reports an I/O error for this torrent — check its disk and "
    "permissions, then start it again",
    "missingFiles": "its files are missing — put them back (or move the torrent to where they "
    "are), then recheck",
}
# Exactly what TorrentInfo needs of a torrent; the rest of what maindata sends is dropped.
LIST_FIELDS = (
    "name",
    "state",
    "progress",
    "size",  # bytes of the wanted files
    "total_size",  # -1 while a magnet has no metadata
    "completed",
    "uploaded",
    "dlspeed",
    "upspeed",
    "ratio",
    "eta",
    "num_seeds",
    "num_leechs",
    "added_on",
    "save_path",
    "category",
    "tags",
    "priority",  # queue position, 1-based (0 or -1: not queued)
    "magnet_uri",  # only its first tracker is kept (as "tracker_host")
    "tracker",  # the tracker currently working, when the magnet link names none
)
_ETA_UNKNOWN = 8_640_000  # qBittorrent's "infinity" (100 days)
# File priorities: 0 do not download, 1 normal, 6 high, 7 maximal.
_PRIORITY_CODES: dict[FilePriority, int] = {"normal": 1, "high": 6}
# Tracker status codes (torrents/trackers).
_TRACKER_STATUS: dict[int, TrackerStatus] = {
    0: "disabled",
    1: "not_contacted",
    2: "working",
    3: "updating",
    4: "error",
}
_VERSION = re.compile(r"^v?\d+\.\d+")
_BANNED = "banned"  # in qBittorrent's 403 body once the address is banned


class _DeadlinePassed(APIError):
    """The call's time is up (an APIError, so the library lets it through untouched)."""


class _Library(qbittorrentapi.Client):
    """The library client, with every HTTP request bounded by the current call's deadline.

    The ONLY use of qbittorrent-api internals (checked against 2026.10.1): `Request._request`,
    which every request — the login, the library's retry and re-login included — goes
    through with keyword arguments, merging `requests_args` over REQUESTS_ARGS. Its reply to the
    login is kept, to tell a refused password ("Fails.") from something that is not qBittorrent.
    The Web API version is asked once per connection (public `app_web_api_version`, cached).
    """

    deadline: float | None = None
    login_reply: str | None = None
    api_version: str | None = None

    def app_web_api_version(self, **kwargs: Any) -> str:
        """Asked once per connection: the library asks before every versioned endpoint."""
        if self.api_version is None:
            self.api_version = super().app_web_api_version(**kwargs)
        return self.api_version

    def _request(self, *args: Any, **kwargs: Any) -> Any:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise _DeadlinePassed("the call's time is up")
            given = kwargs.pop("requests_args", None) or kwargs.pop("requests_params", None)
            extra = dict(given or {})
            extra["timeout"] = min(left, extra.get("timeout", left))
            kwargs["requests_args"] = extra
        reply = super()._request(*args, **kwargs)
        if kwargs.get("api_method") == "login" and isinstance(reply, requests.Response):
            self.login_reply = reply.text
        return reply


class QBittorrentClient(BaseTorrentClient):
    server_type = "qbittorrent"

    def __init__(
        self,
        host: str,
        port: int,
        protocol: str = "http",
        username: str | None = None,
        password: str | None = None,
        rpc_path: str | None = None,  # unused: the Web API sits at /api/v2
        timeout: float = DEFAULT_TIMEOUT,
        name: str | None = None,
    ) -> None:
        if protocol not in ("http", "https"):
            raise ValueError(
                f"qBittorrent is reached over http or https, not {protocol!r}"
                + (" (SCGI is rTorrent's protocol)" if protocol == "scgi" else "")
            )
        super().__init__(name or f"{host}:{port}", timeout)
        self.host = host
        self.port = int(port)
        self.protocol = protocol
        self.username = username
        self._password = password
        self._lib: _Library | None = None
        self._lock = threading.RLock()
        # The sync/maindata chain: the last rid, each torrent's kept fields, the server state,
        # and what changed since the last list_active / list_torrents.
        self._rid: int | None = None
        self._rows: dict[str, dict[str, Any]] = {}
        self._server_state: dict[str, Any] = {}
        self._changed: set[str] = set()
        self._removed: set[str] = set()

    def __repr__(self) -> str:
        return f"QBittorrentClient({self.name!r}, {self._url()})"

    def _url(self) -> str:
        return f"{self.protocol}://{self.host}:{self.port}"

    # -- reading ------------------------------------------------------------------------------

    def list_torrents(self, info_hash: str | None = None, files: bool = False) -> list[TorrentInfo]:
        if info_hash is None and not files:
            with self._lock:
                self._sync()
                self._changed.clear()
                self._removed.clear()
                return self._infos(self._rows)
        if info_hash is None:
            rows = self._call(lambda lib: lib.torrents_info())
        else:
            info_hash = self._check_hash(info_hash)
            rows = self._call(lambda lib: lib.torrents_info(torrent_hashes=info_hash))
            rows = [r for r in _rows(rows) if r.get("hash") == info_hash]
            if not rows:
                raise self._not_found(info_hash)
        try:
            kept = {_hash_of(r): _kept(r) for r in _rows(rows)}
        except (KeyError, TypeError, ValueError, AttributeError):
            raise self._bad_torrent_data() from None
        torrents = self._infos(kept)
        if files:
            for torrent in torrents:
                torrent.files = self._files(torrent.info_hash, torrent.name)
        return torrents

    def list_active(self) -> tuple[list[TorrentInfo], list[str]] | None:
        """The torrents changed and the hashes removed since the last listing, through the
        maindata chain; None before the first listing (only a full one is right then)."""
        with self._lock:
            if self._rid is None:
                return None
            self._sync()
            changed = {h: self._rows[h] for h in self._changed if h in self._rows}
            removed = sorted(self._removed)
            self._changed.clear()
            self._removed.clear()
            return self._infos(changed), removed

    def _sync(self) -> None:
        """One sync/maindata call from the last rid (0 at first: everything), merged into the
        kept rows; a full update replaces them (the daemon restarted, or forgot our rid)."""
        rid = self._rid or 0
        reply = self._call(lambda lib: lib.sync_maindata(rid=rid))
        try:
            new_rid, full, torrents, removed, state = _maindata(reply)
        except (KeyError, TypeError, ValueError, AttributeError):
            self._rid = None  # a full update next time
            raise self._bad_torrent_data() from None
        if full or rid == 0:
            gone = self._rows.keys() - torrents.keys()
            self._rows, self._server_state = {}, {}
            self._removed |= gone
        self._server_state.update(state)
        try:
            for info_hash, fields in torrents.items():
                old = self._rows.get(info_hash)
                row = {**(old or {}), **_kept(fields)}
                if row == old:
                    continue  # only fields we do not keep changed
                _converted(info_hash, row)  # every field present and readable
                self._rows[info_hash] = row
                self._changed.add(info_hash)
                self._removed.discard(info_hash)
        except (KeyError, TypeError, ValueError, AttributeError):
            self._rid = None
            raise self._bad_torrent_data() from None
        for info_hash in removed:
            if self._rows.pop(info_hash, None) is not None:
                self._removed.add(info_hash)
            self._changed.discard(info_hash)
        self._rid = new_rid

    def _infos(self, rows: dict[str, dict[str, Any]]) -> list[TorrentInfo]:
        queueing = bool(self._server_state.get("queueing", True))
        try:
            return [_converted(h, row, queueing) for h, row in rows.items()]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise self._bad_torrent_data() from None

    def _files(self, info_hash: str, name: str) -> list[TorrentFile]:
        rows = self._call(lambda lib: lib.torrents_files(torrent_hash=info_hash))
        try:
            return _torrent_files(rows, name)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise self._bad_torrent_data() from None

    def _bad_torrent_data(self) -> ProtocolError:
        return ProtocolError(
            self.name,
            f"unexpected torrent data in the reply: fields torrentdesk cannot read — check "
            f"that {self._url()} is qBittorrent's Web UI",
        )

    def default_download_dir(self) -> str:
        path = self._call(lambda lib: lib.app_default_save_path())
        if not isinstance(path, str) or not path:
            raise ProtocolError(self.name, "qBittorrent sent no default save path")
        return path.rstrip("/") or "/"

    def version(self) -> str:
        """"qBittorrent v4.5.2 (Web API 2.8.19)"."""

        def ask(lib: _Library) -> tuple[Any, Any]:
            return lib.app_version(), lib.app_web_api_version()

        app, api = self._call(ask)
        for value in (app, api):
            if not isinstance(value, str) or not _VERSION.match(value.strip()):
                raise ProtocolError(
                    self.name,
                    "the version reply is not qBittorrent's — "
                    f"check that {self._url()} is qBittorrent's Web UI",
                )
        return f"qBittorrent {app.strip()} (Web API {api.strip()})"

    # -- adding -------------------------------------------------------------------------------

    def add_torrent(
        self, meta: TorrentMetainfo, start: bool = True, options: AddOptions = NO_OPTIONS
    ) -> AddedTorrent:
        added = AddedTorrent(meta.info_hash, meta.name)
        return self._add(added, start, options, torrent_files={"upload.torrent": meta.data})

    def add_magnet(
        self, magnet: MagnetLink, start: bool = True, options: AddOptions = NO_OPTIONS
    ) -> AddedTorrent:
        return self._add(
            AddedTorrent(magnet.info_hash, magnet.name), start, options, urls=magnet.uri
        )

    def _add(self, added: AddedTorrent, start: bool, options: AddOptions, **source) -> AddedTorrent:
        """Add paused when files must be left out first, so nothing unwanted is fetched."""
        info_hash = added.info_hash
        unwanted = bool(options.unwanted_files)
        with self._lock, self._deadline():
            if self._hashes([info_hash]):
                raise self._duplicate(info_hash, added.name)
            args = _add_args(start and not unwanted, options)
            reply = self._call(lambda lib: lib.torrents_add(**source, **args))
            if reply == "Fails." and self._hashes([info_hash]):
                raise self._duplicate(info_hash, added.name)  # added by someone meanwhile
            self._refused(reply, added.name or info_hash)
            # The add is asynchronous: the torrent shows up a moment later.
            self._wait(lambda: self._hashes([info_hash]))
            if unwanted:
                self._call(
                    lambda lib: lib.torrents_file_priority(
                        torrent_hash=info_hash,
                        file_ids=list(options.unwanted_files),
                        priority=0,
                    )
                )
                if start:
                    self._call(lambda lib: lib.torrents_resume(torrent_hashes=[info_hash]))
        return added

    def _refused(self, reply: Any, what: str | None) -> None:
        if reply != "Ok.":
            raise ProtocolError(
                self.name,
                f"qBittorrent refused to add {what!r} — check its log for why",
            )

    def _wait(self, found: Callable[[], Any]) -> Any:
        """Poll `found()` until it returns something, within the call's deadline."""
        while True:
            value = found()
            if value:
                return value
            left = (self._lib.deadline if self._lib else time.monotonic()) - time.monotonic()
            if left < 0.15:
                raise TimeoutError(
                    self.name,
                    f"qBittorrent took the torrent but did not list it within "
                    f"{self.timeout:g} s — check its log; it may still show up",
                )
            time.sleep(0.1)

    # -- changing -----------------------------------------------------------------------------

    def start(self, hashes: Sequence[str]) -> Failures:
        return self._on_existing(hashes, lambda lib, ids: lib.torrents_resume(torrent_hashes=ids))

    def stop(self, hashes: Sequence[str]) -> Failures:
        return self._on_existing(hashes, lambda lib, ids: lib.torrents_pause(torrent_hashes=ids))

    def erase(self, hashes: Sequence[str], delete_data: bool = False) -> Failures:
        # qBittorrent deletes the torrent's own files and the folders they leave empty; a file
        # it does not own in the torrent's folder stays (and so does the folder).
        return self._on_existing(
            hashes,
            lambda lib, ids: lib.torrents_delete(delete_files=delete_data, torrent_hashes=ids),
        )

    def recheck(self, hashes: Sequence[str]) -> Failures:
        return self._on_existing(hashes, lambda lib, ids: lib.torrents_recheck(torrent_hashes=ids))

    def reannounce(self, hashes: Sequence[str]) -> Failures:
        return self._on_existing(
            hashes, lambda lib, ids: lib.torrents_reannounce(torrent_hashes=ids)
        )

    def labels_of(self, hashes: Sequence[str]) -> tuple[dict[str, list[str]], Failures]:
        rows, failures = self._present_rows(hashes)
        return {h: _labels(row) for h, row in rows.items()}, failures

    def set_labels_each(self, labels: dict[str, list[str]]) -> Failures:
        """Tags added and removed so each torrent has its list; tags are created when missing.
        A category left out of the list stays (a torrent whose category is not in its new
        list reports so): only a move changes it."""
        rows, failures = self._present_rows(list(labels))
        groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
        for info_hash, row in rows.items():
            wanted = labels[info_hash]
            category = _text(row.get("category"))
            old = _tags(row.get("tags"))
            new = [x for x in dict.fromkeys(wanted) if x != category]
            add = tuple(x for x in new if x not in old)
            remove = tuple(x for x in old if x not in new)
            if add or remove:
                groups.setdefault((add, remove), []).append(info_hash)
            if category and category not in wanted:
                failures[info_hash] = ClientError(
                    self.name,
                    f"tags set, but {category!r} stays: it is this torrent's qBittorrent "
                    "category, which only a move in qBittorrent itself changes (under "
                    "automatic torrent management a new category moves the data)",
                )
        with self._lock:
            for (add, remove), ids in groups.items():
                if remove:
                    self._call(lambda lib, r=remove, i=ids: lib.torrents_remove_tags(r, i))
                if add:
                    self._call(lambda lib, a=add, i=ids: lib.torrents_add_tags(a, i))
        return failures

    def move(self, hashes: Sequence[str], download_dir: str, move_data: bool) -> Failures:
        # qBittorrent always moves the data with a new location; files already at the target
        # (moved there by hand: move_data false) are kept and used.
        return self._on_existing(
            hashes,
            lambda lib, ids: lib.torrents_set_location(location=download_dir, torrent_hashes=ids),
        )

    def queue_move(self, hashes: Sequence[str], where: QueueMove) -> Failures:
        verbs = {
            "top": "torrents_top_priority",
            "up": "torrents_increase_priority",
            "down": "torrents_decrease_priority",
            "bottom": "torrents_bottom_priority",
        }
        try:
            return self._on_existing(
                hashes, lambda lib, ids: getattr(lib, verbs[where])(torrent_hashes=ids)
            )
        except ProtocolError as exc:
            if "HTTP 409" not in str(exc):
                raise
            # qBittorrent answers 409 to a queue move while its queueing is off.
            raise ProtocolError(
                self.name,
                "torrent queueing must be enabled in qBittorrent's options (Downloads → "
                "Torrent queueing) to move torrents in its queue",
            ) from None

    # -- inside one torrent -------------------------------------------------------------------

    def files(self, info_hash: str) -> list[TorrentFile]:
        files = self.get_torrent(info_hash, files=True).files
        return files if files is not None else []

    def set_files(self, info_hash: str, changes: Sequence[FileChange]) -> None:
        if not changes:
            return
        for change in changes:
            if change.priority is not None and change.priority not in _PRIORITY_CODES:
                raise ClientError(
                    self.name,
                    f"qBittorrent has no {change.priority!r} file priority: use normal or high",
                )
        with self._lock, self._deadline():
            torrent = self.get_torrent(info_hash)
            current = {f.index: f for f in self._files(torrent.info_hash, torrent.name)}
            by_code: dict[int, list[int]] = {}
            for change in changes:
                file = current.get(change.index)
                if file is None:
                    raise ClientError(
                        self.name,
                        f"torrent {torrent.info_hash} has no file number {change.index}",
                    )
                wanted = file.wanted if change.wanted is None else change.wanted
                if not wanted:
                    code = 0
                else:
                    # An unwanted file has no priority of its own in qBittorrent: "normal".
                    priority = change.priority or (file.priority if file.wanted else "normal")
                    code = _PRIORITY_CODES.get(priority, 1)
                by_code.setdefault(code, []).append(change.index)
            for code, indices in by_code.items():
                self._call(
                    lambda lib, c=code, i=indices: lib.torrents_file_priority(
                        torrent_hash=torrent.info_hash, file_ids=i, priority=c
                    )
                )

    def trackers(self, info_hash: str) -> list[TrackerInfo]:
        info_hash = self._check_hash(info_hash)
        rows = self._on_one(info_hash, lambda lib: lib.torrents_trackers(torrent_hash=info_hash))
        try:
            return [_tracker(row) for row in rows if not _pseudo_tracker(row)]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise self._bad_torrent_data() from None

    def edit_trackers(
        self, info_hash: str, add: Sequence[str], remove: Sequence[str]
    ) -> list[TrackerResult]:
        info_hash = self._check_hash(info_hash)
        with self._lock, self._deadline():
            before = {t.url for t in self.trackers(info_hash)}
            adding = [url for url in dict.fromkeys(add) if url not in before]
            removing = [url for url in dict.fromkeys(remove) if url in before]
            if adding:
                self._call(
                    lambda lib: lib.torrents_add_trackers(torrent_hash=info_hash, urls=adding)
                )
            if removing:
                self._call(
                    lambda lib: lib.torrents_remove_trackers(torrent_hash=info_hash, urls=removing)
                )
            after = {t.url for t in self.trackers(info_hash)}
        results = []
        for url in dict.fromkeys(add):
            ok = url in after and url not in before
            error = None if ok else "already a tracker of this torrent" if url in before else (
                "qBittorrent did not take this announce URL"
            )
            results.append(TrackerResult(url, ok, error))
        for url in dict.fromkeys(remove):
            ok = url in before and url not in after
            error = None if ok else "not a tracker of this torrent" if url not in before else (
                "qBittorrent kept this tracker"
            )
            results.append(TrackerResult(url, ok, error))
        return results

    def replace_tracker(self, hashes: Sequence[str], old_url: str, new_url: str) -> Failures:
        rows, failures = self._present_rows(hashes)
        with self._lock, self._deadline():
            for info_hash in rows:
                try:
                    self._call(
                        lambda lib, h=info_hash: lib.torrents_edit_tracker(
                            torrent_hash=h, original_url=old_url, new_url=new_url
                        )
                    )
                except ProtocolError as exc:
                    # 409: the old URL is not there, or the new one already is.
                    urls = {t.url for t in self.trackers(info_hash)}
                    failures[info_hash] = (
                        exc
                        if old_url in urls
                        else ClientError(
                            self.name, f"this torrent has no tracker {old_url}; left as it is"
                        )
                    )
        return failures

    def peers(self, info_hash: str) -> list[PeerInfo]:
        info_hash = self._check_hash(info_hash)
        reply = self._on_one(info_hash, lambda lib: lib.sync_torrent_peers(info_hash, rid=0))
        try:
            peers = reply.get("peers") or {}
            return [_peer(row) for row in peers.values()]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise self._bad_torrent_data() from None

    def set_torrent_limits(
        self, hashes: Sequence[str], download: int | None, upload: int | None
    ) -> Failures:
        def limit(lib: _Library, ids: list[str]) -> None:
            lib.torrents_set_download_limit(limit=_limit_out(download), torrent_hashes=ids)
            lib.torrents_set_upload_limit(limit=_limit_out(upload), torrent_hashes=ids)

        return self._on_existing(hashes, limit)

    def torrent_limits(self, info_hash: str) -> TorrentLimits:
        rows, failures = self._present_rows([info_hash])
        if failures:
            raise next(iter(failures.values()))
        (row,) = rows.values()
        try:  # bytes/s, 0 or -1 for none
            return TorrentLimits(_limit_in(row["dl_limit"]), _limit_in(row["up_limit"]))
        except (KeyError, TypeError):
            raise self._bad_torrent_data() from None

    def session(self) -> SessionInfo:
        """Free space is maindata's `free_space_on_disk`: the default save path's disk only."""
        with self._lock, self._deadline():
            self._sync()  # what it changed is reported by the next list_active
            transfer = self._call(lambda lib: lib.transfer_info())
            prefs = self._call(lambda lib: lib.app_preferences())
            try:
                directory = _text(prefs["save_path"]).rstrip("/") or "/"
                free = _count(self._server_state.get("free_space_on_disk"), -1)
                return SessionInfo(
                    download_rate=_count(transfer["dl_info_speed"]),
                    upload_rate=_count(transfer["up_info_speed"]),
                    downloaded_total=_count(transfer["dl_info_data"]),
                    uploaded_total=_count(transfer["up_info_data"]),
                    free_space=FreeSpace(directory, free) if free >= 0 else None,
                    download_dir=directory,
                    limits=_limits(prefs, bool(self._server_state.get("use_alt_speed_limits"))),
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                raise self._bad_torrent_data() from None

    def set_speed_limits(self, limits: SpeedLimits) -> None:
        """qBittorrent's own alternative speed limits (slow mode) and its global ones."""
        with self._lock, self._deadline():
            self._call(
                lambda lib: lib.app_set_preferences(
                    {
                        "dl_limit": _global_limit_out(limits.download),
                        "up_limit": _global_limit_out(limits.upload),
                        "alt_dl_limit": _global_limit_out(limits.alt_download),
                        "alt_up_limit": _global_limit_out(limits.alt_upload),
                    }
                )
            )
            mode = self._call(lambda lib: lib.transfer_speed_limits_mode())
            if (str(mode) == "1") != limits.alt_enabled:
                self._call(lambda lib: lib.transfer_toggle_speed_limits_mode())

    # -- plumbing -----------------------------------------------------------------------------

    def metainfo_of(self, info_hash: str) -> bytes | None:
        """The .torrent as qBittorrent keeps it (`torrents/export`, Web API 2.8.14+)."""
        valid = self._check_hash(info_hash)
        data = self._on_one(valid, lambda lib: lib.torrents_export(torrent_hash=valid))
        return bytes(data) if isinstance(data, (bytes, bytearray)) else None

    def magnet_of(self, info_hash: str) -> tuple[str, bool]:
        valid = self._check_hash(info_hash)
        rows = self._call(lambda lib: lib.torrents_info(torrent_hashes=[valid]))
        row = next((r for r in _rows(rows) if _hash_of(r) == valid), None)
        if row is None:
            raise self._not_found(valid)
        data = self.metainfo_of(valid)
        private = True  # unknown without the .torrent: treated as private (the safe side)
        if data is not None:
            with suppress(InvalidTorrentInput):
                private = parse_torrent_file(data).private
        return _text(row.get("magnet_uri")), private

    def _on_existing(
        self, hashes: Sequence[str], call: Callable[[_Library, list[str]], Any]
    ) -> Failures:
        """One `call` for every torrent the daemon has; qBittorrent ignores unknown hashes, so
        ask first (one torrents/info) and report those as not found."""
        with self._lock, self._deadline():
            rows, failures = self._present_rows(hashes)
            ids = list(rows)
            if ids:
                self._call(lambda lib: call(lib, ids))
        return failures

    def _on_one(self, info_hash: str, call: Callable[[_Library], Any]) -> Any:
        """`call` about one torrent; qBittorrent's 404 is our TorrentNotFound."""
        return self._call(call, not_found=info_hash)

    def _present_rows(self, hashes: Sequence[str]) -> tuple[dict[str, dict], Failures]:
        """The daemon's rows (kept fields) of the valid hashes it has, and a failure for each
        other one."""
        valid, failures = self._checked_hashes(hashes)
        valid = list(dict.fromkeys(valid))
        if not valid:
            return {}, failures
        rows = self._call(lambda lib: lib.torrents_info(torrent_hashes=valid))
        try:
            found = {_hash_of(r): r for r in _rows(rows)}
        except (KeyError, TypeError, ValueError, AttributeError):
            raise self._bad_torrent_data() from None
        failures |= {h: self._not_found(h) for h in valid if h not in found}
        return {h: found[h] for h in valid if h in found}, failures

    def _hashes(self, hashes: list[str] | None = None) -> set[str]:
        """Which of these hashes the daemon has (all of its hashes when None)."""
        if hashes is None:
            rows = self._call(lambda lib: lib.torrents_info())
        else:
            rows = self._call(lambda lib: lib.torrents_info(torrent_hashes=hashes))
        try:
            return {_hash_of(r) for r in _rows(rows)}
        except (KeyError, TypeError, ValueError, AttributeError):
            raise self._bad_torrent_data() from None

    def close(self) -> None:
        # No lock: closing must not wait for a call stuck in its socket.
        lib, self._lib = self._lib, None
        if lib is not None:
            with suppress(Exception):
                lib._trigger_session_initialization()  # closes its HTTP session

    def _client(self) -> _Library:
        if self._lib is None:
            self._lib = _Library(
                host=self._url(),
                username=self.username or "",
                password=self._password or "",
                # Exactly the scheme the server was saved with: never a silent fall-back
                # from https to http.
                FORCE_SCHEME_FROM_HOST=True,
                # Plain dicts and lists: no attribute wrappers around big listings.
                SIMPLE_RESPONSES=True,
                RAISE_NOTIMPLEMENTEDERROR_FOR_UNIMPLEMENTED_API_ENDPOINTS=True,
                REQUESTS_ARGS={"timeout": self.timeout},
                # The library retries a failed request itself (once, after a fresh
                # connection); no second layer of retries in urllib3.
                HTTPADAPTER_ARGS={"max_retries": 0},
                DISABLE_LOGGING_DEBUG_OUTPUT=True,
            )
        return self._lib

    def _drop_lib(self) -> None:
        """Forget the connection (and the login); the maindata chain starts over too."""
        self._rid = None
        self.close()

    @contextmanager
    def _deadline(self) -> Iterator[None]:
        """One deadline for everything inside (the outermost one wins)."""
        lib = self._client()
        if lib.deadline is not None:
            yield
            return
        lib.deadline = time.monotonic() + self.timeout
        try:
            yield
        finally:
            lib.deadline = None

    def _call(self, fn: Callable[[_Library], Any], not_found: str | None = None) -> Any:
        """Run `fn(lib)` logged in, under the call's deadline, translating every failure."""
        with self._lock, self._deadline(), self._translate(not_found):
            lib = self._client()
            if lib.login_reply is None:
                lib.auth_log_in()
            return fn(lib)

    @contextmanager
    def _translate(self, not_found: str | None = None) -> Iterator[None]:
        try:
            yield
        except ClientError:
            raise
        except _DeadlinePassed:
            self._drop_lib()  # a request may still be stuck on the old connection
            raise self._timeout_error() from None
        except LoginFailed:
            reply = self._lib.login_reply if self._lib else None
            self._drop_lib()
            if reply == "Fails.":
                raise AuthError(
                    self.name, "wrong username or password — check the server's credentials"
                ) from None
            raise ProtocolError(
                self.name,
                f"the login reply is not qBittorrent's — check that {self._url()} is "
                "qBittorrent's Web UI",
            ) from None
        except NotFound404Error as exc:
            if not_found is not None:
                raise self._not_found(not_found) from None
            self._raise_http(exc)
        except HTTPError as exc:
            self._raise_http(exc)
        except APIConnectionError as exc:
            self._drop_lib()
            self._raise_connection(exc)
        except NotImplementedError as exc:
            raise ClientError(
                self.name, f"this qBittorrent version cannot do that ({_snippet(str(exc), 160)})"
            ) from None
        except APIError:
            # The library could not parse the reply as the JSON it expected.
            self._drop_lib()
            raise ProtocolError(
                self.name,
                f"the reply is not qBittorrent Web API JSON — check that {self._url()} is "
                "qBittorrent's Web UI",
            ) from None
        except requests.exceptions.RequestException as exc:
            self._drop_lib()
            self._raise_connection(exc)
        except OSError as exc:
            self._drop_lib()
            raise self._connect_error(exc) from None
        except (KeyError, TypeError, ValueError, AttributeError):
            self._drop_lib()
            raise ProtocolError(
                self.name,
                f"unexpected reply from {self._url()}, not qBittorrent's Web API — check the "
                "host, port and protocol",
            ) from None

    def _raise_http(self, exc: HTTPError) -> NoReturn:
        status = getattr(exc, "http_status_code", None) or getattr(
            getattr(exc, "response", None), "status_code", "?"
        )
        # The body is read only to recognise the ban, never shown: a server may say anything.
        body = str(getattr(getattr(exc, "response", None), "text", "") or "")[:4096]
        if status == 403:
            self._drop_lib()
            if _BANNED in body.lower():
                raise AuthError(
                    self.name,
                    "qBittorrent has banned this address after too many failed logins — fix "
                    "the username or password here, then wait for the ban to end (WebUI ban "
                    "duration, an hour by default) or restart qBittorrent",
                ) from None
            raise AuthError(
                self.name, "access refused (HTTP 403) — check the server's credentials"
            ) from None
        if isinstance(exc, Unauthorized401Error):
            raise AuthError(
                self.name,
                "refused (HTTP 401) — check qBittorrent's Web UI host header validation and "
                "the address used here",
            ) from None
        if isinstance(exc, Conflict409Error):
            raise ProtocolError(
                self.name, "qBittorrent refused (HTTP 409): the torrent is not in a state for that"
            )
        if isinstance(exc, UnsupportedMediaType415Error):
            raise ProtocolError(
                self.name, "qBittorrent refused the torrent (HTTP 415): not a torrent it accepts"
            ) from None
        if isinstance(exc, HTTP5XXError):
            self._drop_lib()
        raise ProtocolError(
            self.name,
            f"qBittorrent answered HTTP {status} — check that {self._url()} is qBittorrent's "
            "Web UI",
        ) from None

    def _raise_connection(self, exc: BaseException) -> NoReturn:
        causes = list(_causes(exc))
        if any(isinstance(e, requests.exceptions.Timeout) for e in causes):
            raise self._timeout_error() from None
        if any(isinstance(e, requests.exceptions.SSLError) for e in causes):
            raise self._connect_error(exc) from None
        if _is_protocol_failure(exc):
            raise ProtocolError(
                self.name,
                f"the reply is not valid HTTP ({_describe(exc)}) — check the host, port and "
                "protocol point at qBittorrent's Web UI",
            ) from None
        raise self._connect_error(exc) from None

    def _timeout_error(self) -> TimeoutError:
        # qBittorrent's plain-HTTP Web UI never answers a TLS hello: https to it times out.
        https = ", that its Web UI has HTTPS on" if self.protocol == "https" else ""
        return TimeoutError(
            self.name,
            f"no answer within {self.timeout:g} s from {self._url()} — check that the server is "
            f"running and reachable{https}, or raise its timeout",
        )

    def _connect_error(self, exc: BaseException) -> ConnectError:
        return ConnectError(
            self.name,
            f"cannot connect to {self._url()} ({_describe(exc)}) — check that qBittorrent is "
            "running with its Web UI on, and the host, port and protocol are right",
        )


# -- reading replies ------------------------------------------------------------------------


def _rows(reply: Any) -> list[dict[str, Any]]:
    if not isinstance(reply, list) or not all(isinstance(r, dict) for r in reply):
        raise ValueError("torrents/info is not a list of objects")
    return reply


def _hash_of(row: dict[str, Any]) -> str:
    value = row["hash"]
    if not isinstance(value, str) or not is_info_hash(value):
        raise ValueError(f"not an info hash: {value!r}")
    return value.lower()


def _maindata(reply: Any) -> tuple[int, bool, dict[str, dict], list[str], dict[str, Any]]:
    """(rid, full_update, torrents by hash, removed hashes, server_state) of a maindata reply,
    checked."""
    if not isinstance(reply, dict) or type(reply.get("rid")) is not int:
        raise ValueError("maindata without a rid")
    torrents = reply.get("torrents") or {}
    removed = reply.get("torrents_removed") or []
    state = reply.get("server_state") or {}
    if not isinstance(torrents, dict) or not isinstance(removed, list):
        raise ValueError("maindata torrents are not an object, or removed not a list")
    if not isinstance(state, dict):
        raise ValueError("maindata server_state is not an object")
    by_hash: dict[str, dict] = {}
    for key, fields in torrents.items():
        if not isinstance(key, str) or not is_info_hash(key) or not isinstance(fields, dict):
            raise ValueError(f"maindata torrent {key!r} is not a hash with fields")
        by_hash[key.lower()] = fields
    gone = []
    for key in removed:
        if not isinstance(key, str) or not is_info_hash(key):
            raise ValueError(f"removed {key!r} is not an info hash")
        gone.append(key.lower())
    return reply["rid"], bool(reply.get("full_update")), by_hash, gone, state


def _kept(fields: dict[str, Any]) -> dict[str, Any]:
    """Only the fields TorrentInfo needs; the magnet link boiled down to its first tracker."""
    kept = {name: fields[name] for name in LIST_FIELDS if name in fields}
    if "magnet_uri" in kept:
        kept["tracker_host"] = _magnet_tracker_host(kept.pop("magnet_uri"))
    if "tracker" in kept:
        url = kept.pop("tracker")
        kept["current_tracker_host"] = tracker_host(url) if isinstance(url, str) and url else None
    return kept


def _magnet_tracker_host(uri: Any) -> str | None:
    if not isinstance(uri, str):
        return None
    for key, value in parse_qsl(urlsplit(uri).query):
        if key == "tr":
            return tracker_host(value)
    return None


def _count(value: Any, default: int = 0) -> int:
    """A non-negative integer (bytes, rates, counts); anything unreadable or negative is
    `default`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"not a number: {value!r}")
    return int(value) if value >= 0 else default


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"not a number: {value!r}")
    return min(max(float(value), 0.0), 1.0)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _tags(value: Any) -> list[str]:
    """qBittorrent's tags: one ", "-joined string (tags hold no commas), sorted by it."""
    return [tag.strip() for tag in _text(value).split(",") if tag.strip()]


def _labels(row: dict[str, Any]) -> list[str]:
    """The category first, then the tags."""
    category = _text(row.get("category"))
    return ([category] if category else []) + [t for t in _tags(row.get("tags")) if t != category]


def _converted(info_hash: str, f: dict[str, Any], queueing: bool = True) -> TorrentInfo:
    state_name = f["state"]
    if not isinstance(state_name, str):
        raise TypeError("state is not text")
    state = STATES.get(state_name, "stopped")
    name = f["name"]
    if not isinstance(name, str):
        raise TypeError("name is not text")
    has_metadata = f["total_size"] >= 0 and state != "metadata"
    eta = f["eta"]
    downloading = state == "downloading"
    seeds = _count(f["num_seeds"])
    position = f["priority"]
    ratio = f["ratio"]
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)):
        raise TypeError("ratio is not a number")
    return TorrentInfo(
        info_hash=info_hash,
        name=name,
        state=state,
        progress=_fraction(f["progress"]),
        size=_count(f["size"]) if has_metadata else None,
        downloaded=_count(f["completed"]),
        uploaded=_count(f["uploaded"]),
        download_rate=_count(f["dlspeed"]),
        upload_rate=_count(f["upspeed"]),
        ratio=float(ratio) if ratio > 0 else 0.0,
        eta=_count(eta) if downloading and 0 <= eta < _ETA_UNKNOWN else None,
        peers=seeds + _count(f["num_leechs"]),
        seeds=seeds,
        added_at=_count(f["added_on"]),
        download_dir=_text(f["save_path"]).rstrip("/") or "/",
        labels=_labels(f),
        error=_ERRORS.get(state_name),
        warning=None,
        tracker=f.get("tracker_host") or f.get("current_tracker_host"),
        queue_position=(
            position - 1 if queueing and isinstance(position, int) and position > 0 else None
        ),
    )


def _torrent_files(rows: Any, name: str) -> list[TorrentFile]:
    """Paths relative to the torrent's root (a multi-file torrent's top folder left out)."""
    if not isinstance(rows, list):
        raise TypeError("torrents/files is not a list")
    prefix = name + "/"
    files = []
    for position, row in enumerate(rows):
        path = row["name"]
        if not isinstance(path, str):
            raise TypeError("a file name is not text")
        if path.startswith(prefix):
            path = path[len(prefix) :]
        index = row.get("index", position)
        code = row["priority"]
        if isinstance(code, bool) or not isinstance(code, int) or not isinstance(index, int):
            raise TypeError("a file's index or priority is not a number")
        priority: FilePriority = "high" if code >= 6 else "normal"
        size, progress = _count(row["size"]), _fraction(row["progress"])
        files.append(TorrentFile(index, path, size, progress, code > 0, priority))
    return files


def _pseudo_tracker(row: Any) -> bool:
    """qBittorrent lists DHT, PeX and LSD as "** [DHT] **" and so on."""
    return isinstance(row, dict) and _text(row.get("url")).startswith("** [")


def _tracker(row: dict[str, Any]) -> TrackerInfo:
    url = row["url"]
    if not isinstance(url, str):
        raise TypeError("a tracker URL is not text")
    seeds, leeches = row.get("num_seeds", -1), row.get("num_leeches", -1)
    return TrackerInfo(
        url=url,
        tier=max(int(row.get("tier", 0)), 0),
        status=_TRACKER_STATUS.get(row.get("status"), "not_contacted"),
        message=_text(row.get("msg")) or None,
        seeders=_count(seeds) if isinstance(seeds, int) and seeds >= 0 else None,
        leechers=_count(leeches) if isinstance(leeches, int) and leeches >= 0 else None,
        last_announce=None,  # the Web API does not tell
    )


def _peer(row: dict[str, Any]) -> PeerInfo:
    flags = _text(row.get("flags"))
    return PeerInfo(
        address=_text(row["ip"]),
        port=_count(row["port"]),
        client=_text(row.get("client")),
        progress=_fraction(row.get("progress", 0)),
        download_rate=_count(row.get("dl_speed", 0)),
        upload_rate=_count(row.get("up_speed", 0)),
        encrypted="E" in flags or "e" in flags,
        incoming="I" in flags,
    )


def _limit_out(value: int | None) -> int:
    """Bytes/s for qBittorrent, where 0 means unlimited."""
    return 0 if value is None else max(int(value), 1)


def _global_limit_out(value: int | None) -> int:
    """qBittorrent keeps its global limits in whole KiB/s (it would cut 1 000 000 B/s to
    999 424): the nearest KiB, in bytes/s."""
    return 0 if value is None else max(round(int(value) / 1024), 1) * 1024


def _limit_in(value: Any) -> int | None:
    number = _count(value, 0)
    return number or None


def _limits(prefs: dict[str, Any], alt_enabled: bool) -> SpeedLimits:
    """qBittorrent 4.x's preferences hold every limit in bytes/s, 0 (or -1) for none."""
    return SpeedLimits(
        download=_limit_in(prefs["dl_limit"]),
        upload=_limit_in(prefs["up_limit"]),
        alt_download=_limit_in(prefs["alt_dl_limit"]),
        alt_upload=_limit_in(prefs["alt_up_limit"]),
        alt_enabled=alt_enabled,
    )


def _add_args(start: bool, options: AddOptions) -> dict[str, Any]:
    """torrents/add arguments: tags (created when missing) and a save path set before the
    torrent starts; never a category, never skip_checking."""
    args: dict[str, Any] = {"is_paused": not start}
    if options.labels:
        args["tags"] = list(options.labels)
    if options.download_dir:
        # A path of its own: automatic management would put it in the category's path.
        args["save_path"] = options.download_dir
        args["use_auto_torrent_management"] = False
    return args
