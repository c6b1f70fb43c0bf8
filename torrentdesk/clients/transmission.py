"""Transmission over its JSON RPC (via transmission-rpc 7), normalized to the base types.

Only `torrentdesk.clients.errors` come out of this module: every transmission_rpc, requests,
urllib3, socket and JSON failure is translated, and the message names the server.
"""

from __future__ import annotations

import builtins
import http.client
import inspect
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from itertools import islice
from operator import itemgetter
from typing import Any, NoReturn

import orjson
import requests
import transmission_rpc
from transmission_rpc.error import (
    TransmissionAuthError,
    TransmissionConnectError,
    TransmissionError,
    TransmissionTimeoutError,
)

from ..torrent_input import MagnetLink, TorrentMetainfo, is_info_hash
from . import sanitize, transport
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
    magnet_link,
    tracker_host,
)
from .errors import (
    AuthError,
    ClientError,
    ConnectError,
    ProtocolError,
    TimeoutError,
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
    optional_text,
    port,
    rate,
    shown_text,
    timestamp,
)
from .units import TRANSMISSION_UNIT, reported_count, to_units

DEFAULT_RPC_PATH = "/transmission/rpc"

# Transmission's tr_torrent_activity codes.
_STATES: dict[int, TorrentState] = {
    0: "stopped",
    1: "queued",  # check pending
    2: "checking",
    3: "queued",  # download pending
    4: "downloading",
    5: "queued",  # seed pending
    6: "seeding",
}
_DOWNLOADING = 4

# Transmission's tr_stat_errtype: 1 and 2 are a tracker's warning and error (a warning for
# us: the torrent itself is fine), 3 is the torrent's own (local) error.
_TRACKER_PROBLEMS = {1: "tracker warning", 2: "tracker error"}

# Exactly what TorrentInfo needs; asking for less makes torrent-get much faster on big lists.
# (transmission-rpc adds "id" and "hashString" itself.)
LIST_FIELDS = (
    "id",  # maps the ids of recently removed torrents back to hashes
    "hashString",
    "name",
    "status",
    "percentDone",
    "sizeWhenDone",
    "haveValid",
    "uploadedEver",
    "rateDownload",
    "rateUpload",
    "uploadRatio",
    "eta",
    "peersConnected",
    "peersSendingToUs",
    "addedDate",
    "downloadDir",
    "labels",  # absent on daemons older than RPC 16; handled as no label
    "error",
    "errorString",
    "metadataPercentComplete",  # below 1 for a magnet still fetching its metadata
    "queuePosition",
)
FILE_FIELDS = ("files", "fileStats")
_TRACKER_FIELDS = ("hashString", "trackers")
_LIMIT_FIELDS = ("hashString", "downloadLimit", "downloadLimited", "uploadLimit", "uploadLimited")

# torrent-get's `"format": "table"` (RPC 16, Transmission 3.00): `torrents` is a row of field
# names, then one list of values per torrent. Less JSON for the daemon to write and for us to
# parse than one object per torrent. Older daemons ignore the argument (they send objects).
TABLE_RPC_VERSION = 16
_TABLE_COLUMNS = frozenset(LIST_FIELDS)

_RawQuery = Callable[[dict[str, Any], float], str]
_SESSION_HEADER = "X-Transmission-Session-Id"
_SESSION_ID = re.compile(r"[!-~]{1,256}")  # printable ASCII, no spaces: safe to send back

_PRIORITIES: dict[int, FilePriority] = {-1: "low", 0: "normal", 1: "high"}
_DN_PARAM = re.compile(r"([?&]dn=)([^&#]*)")

# transmission-rpc logs handled conditions (a non-JSON reply) with logger.exception; we turn
# them into our own errors, so keep its ERROR records out of the application's logs. Its DEBUG
# records carry credentials (the URL with user:password@, the Authorization header on a 401)
# and whole replies: never emitted, whatever the root logger's level.
_rpc_logger = logging.getLogger(__name__ + ".rpc")
_rpc_logger.setLevel(logging.INFO)
_rpc_logger.addFilter(lambda record: logging.INFO <= record.levelno < logging.ERROR)


class TransmissionClient(BaseTorrentClient):
    server_type = "transmission"

    def __init__(
        self,
        host: str,
        port: int,
        protocol: str = "http",
        username: str | None = None,
        password: str | None = None,
        rpc_path: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        name: str | None = None,
    ) -> None:
        if protocol not in ("http", "https"):
            raise ValueError(
                f"Transmission is reached over http or https, not {protocol!r}"
                + (" (SCGI is rTorrent's protocol)" if protocol == "scgi" else "")
            )
        super().__init__(name or f"{host}:{port}", timeout)
        self.host = host
        self.port = int(port)
        self.protocol = protocol
        self.username = username
        self._password = password
        path = (rpc_path or DEFAULT_RPC_PATH).strip() or DEFAULT_RPC_PATH
        self.rpc_path = path if path.startswith("/") else "/" + path
        self._rpc: transmission_rpc.Client | None = None
        self._lock = threading.RLock()
        # id -> hash, from the last full listing; ids change when the daemon restarts.
        self._hash_by_id: dict[int, str] | None = None
        # The table path, per library client: its raw query (None: use the public API), and
        # whether the daemon does tables (None: not asked yet).
        self._raw_query: _RawQuery | None = None
        self._table: bool | None = None

    def __repr__(self) -> str:
        return f"TransmissionClient({self.name!r}, {self._url()})"

    def _url(self) -> str:
        return f"{self.protocol}://{self.host}:{self.port}{self.rpc_path}"

    # -- reading ------------------------------------------------------------------------------

    def list_torrents(self, info_hash: str | None = None, files: bool = False) -> list[TorrentInfo]:
        if info_hash is None and not files:
            torrents, ids, _ = self._listing(recently_active=False)
            self._hash_by_id = dict(zip(ids, [t.info_hash for t in torrents], strict=True))
            self.attach_trackers(torrents, full_list=True)
            return torrents
        fields = LIST_FIELDS + FILE_FIELDS if files else LIST_FIELDS
        if info_hash is None:
            rows = self._call(lambda rpc: rpc.get_torrents(arguments=fields))
        else:
            info_hash = self._check_hash(info_hash)
            rows = self._call(lambda rpc: rpc.get_torrents(ids=[info_hash], arguments=fields))
            rows = [t for t in rows if str(t.fields.get("hashString")).lower() == info_hash]
        torrents, ids = self._convert(rows, files)
        if info_hash is None:
            self._hash_by_id = dict(zip(ids, [t.info_hash for t in torrents], strict=True))
        elif not torrents:
            raise self._not_found(info_hash)
        self.attach_trackers(torrents, full_list=info_hash is None)
        return torrents

    def _first_tracker_hosts(self, hashes: list[str]) -> dict[str, str | None]:
        rows = self._call(lambda rpc: rpc.get_torrents(ids=hashes, arguments=_TRACKER_FIELDS))
        return {
            str(t.fields.get("hashString")).lower(): _first_tracker_host(t.fields.get("trackers"))
            for t in rows
        }

    def list_active(self) -> tuple[list[TorrentInfo], list[str]] | None:
        """Torrents active in the last minute, and the hashes removed since. None until a full
        listing has mapped ids to hashes: the daemon reports removed torrents by id."""
        if self._hash_by_id is None:
            return None
        torrents, ids, removed_ids = self._listing(recently_active=True)
        known = self._hash_by_id
        for torrent_id, info in zip(ids, torrents, strict=True):
            if known.setdefault(torrent_id, info.info_hash) != info.info_hash:
                # An id now names another torrent: the daemon restarted and renumbered them
                # (every torrent is "recently active" right after a start). Only a full list
                # is right now.
                self._hash_by_id = None
                return None
        # Ids we never mapped were removed before our last full listing: not in it, nothing to do.
        removed = [known.pop(i) for i in removed_ids if i in known]
        self.attach_trackers(torrents)
        return torrents, removed

    def _listing(self, recently_active: bool) -> tuple[list[TorrentInfo], list[int], list[int]]:
        """Every torrent (or the recently active ones) without files: the torrents, their ids,
        and the ids removed recently (recently_active only). Table format when the daemon and
        the library allow it, else the library's get_torrents."""
        fetched = self._call(lambda rpc: self._get_table(rpc, recently_active))
        if fetched is not None:
            table, removed = fetched
            try:
                pairs, self.dropped = _table_infos(table)
            except (LookupError, TypeError, ValueError, AttributeError):
                raise self._bad_torrent_data() from None
            return [info for _, info in pairs], [i for i, _ in pairs], removed
        if recently_active:
            rows, removed = self._call(
                lambda rpc: rpc.get_recently_active_torrents(arguments=LIST_FIELDS)
            )
        else:
            rows, removed = self._call(lambda rpc: rpc.get_torrents(arguments=LIST_FIELDS)), []
        if not isinstance(removed, list) or not all(type(i) is int for i in removed):
            raise self._bad_torrent_data()
        return (*self._convert(rows, False), removed)

    def _get_table(
        self, rpc: transmission_rpc.Client, recently_active: bool
    ) -> tuple[list[Any], list[int]] | None:
        """torrent-get in table format: (the header row + value rows, removed ids); None when
        this daemon or library version calls for the library's own path (nothing sent then,
        or the reply was not a table). Runs inside _call: failures translate as for any call."""
        query = self._raw_query
        if query is None:
            return None
        if self._table is None:
            rpc_version = rpc.get_session().get("rpc-version")
            self._table = isinstance(rpc_version, int) and rpc_version >= TABLE_RPC_VERSION
        if not self._table:
            return None
        arguments: dict[str, Any] = {"fields": list(LIST_FIELDS), "format": "table"}
        if recently_active:
            arguments["ids"] = "recently-active"
        reply = _rpc_result(query({"method": "torrent-get", "arguments": arguments}, self.timeout))
        result = reply["arguments"]
        table = result["torrents"]
        removed = result["removed"] if recently_active else []
        if not isinstance(table, list) or not isinstance(removed, list):
            raise ValueError("'torrents' and 'removed' are not lists")
        if not all(type(i) is int for i in removed):
            raise ValueError("'removed' holds more than torrent ids")
        header = table[0] if table else None
        if isinstance(header, dict) or (
            isinstance(header, list) and not _TABLE_COLUMNS.issubset(header)
        ):
            # Objects (the daemon ignored "format"), or a header without a field we asked
            # for: not the table this path knows; the library's path from now on.
            self._table = False
            return None
        return table, removed

    def _convert(self, rows: list, files: bool) -> tuple[list[TorrentInfo], list[int]]:
        """The library's torrents as ours, checked (see `sanitize`), and their ids."""
        if not isinstance(rows, list):
            raise self._bad_torrent_data()
        pairs, self.dropped = sanitize.convert_rows(
            rows, lambda t: (_torrent_id(t.fields["id"]), _torrent_info(t.fields, files))
        )
        return [info for _, info in pairs], [i for i, _ in pairs]

    def _bad_torrent_data(self) -> ProtocolError:
        return ProtocolError(
            self.name,
            f"unexpected torrent data in the reply: fields torrentdesk cannot read — check "
            f"that {self._url()} is Transmission's RPC",
        )

    def default_download_dir(self) -> str:
        session = self._call(lambda rpc: rpc.get_session())
        directory = session.fields.get("download-dir")
        if not isinstance(directory, str):
            raise ProtocolError(self.name, "the session reply has no 'download-dir'")
        return directory

    def version(self) -> str:
        session = self._call(lambda rpc: rpc.get_session())
        try:
            return f"Transmission {session.version}"
        except KeyError:
            raise ProtocolError(self.name, "the session reply has no 'version'") from None

    # -- adding -------------------------------------------------------------------------------

    def add_torrent(
        self, meta: TorrentMetainfo, start: bool = True, options: AddOptions = NO_OPTIONS
    ) -> AddedTorrent:
        with self._lock:
            if self._exists(meta.info_hash):
                raise self._duplicate(meta.info_hash, meta.name)
            return self._add(meta.data, start, options)

    def add_magnet(
        self, magnet: MagnetLink, start: bool = True, options: AddOptions = NO_OPTIONS
    ) -> AddedTorrent:
        with self._lock:
            if self._exists(magnet.info_hash):
                raise self._duplicate(magnet.info_hash, magnet.name)
            return self._add(_spaces_escaped_in_dn(magnet.uri), start, options)

    def _add(self, torrent: bytes | str, start: bool, options: AddOptions) -> AddedTorrent:
        # Labels on torrent-add need RPC 17; 3.00 ignores them. So a labelled torrent is added
        # paused, labelled, then started: it never runs without its labels.
        paused = not start or bool(options.labels)
        # Unwanted files are part of torrent-add itself: nothing of them is ever fetched. An
        # empty list is never sent (Transmission reads an empty list as every file).
        unwanted = list(options.unwanted_files) or None
        result = self._call(
            lambda rpc: rpc.add_torrent(
                torrent, paused=paused, download_dir=options.download_dir, files_unwanted=unwanted
            )
        )
        fields = result.fields
        info_hash = fields.get("hashString")
        if not isinstance(info_hash, str) or not is_info_hash(info_hash):
            raise ProtocolError(
                self.name, "the add reply has no valid info hash — is this Transmission's RPC?"
            )
        name = fields.get("name")
        added = AddedTorrent(info_hash.lower(), sanitize.text(name, sanitize.MAX_NAME))
        if options.labels:
            self._call(lambda rpc: rpc.change_torrent(added.info_hash, labels=list(options.labels)))
            if start:
                self._call(lambda rpc: rpc.start_torrent(ids=[added.info_hash]))
        return added

    # -- changing -----------------------------------------------------------------------------

    def start(self, hashes: Sequence[str]) -> Failures:
        return self._on_existing(hashes, lambda rpc, ids: rpc.start_torrent(ids=ids))

    def stop(self, hashes: Sequence[str]) -> Failures:
        return self._on_existing(hashes, lambda rpc, ids: rpc.stop_torrent(ids=ids))

    def erase(self, hashes: Sequence[str], delete_data: bool = False) -> Failures:
        # torrent-remove's delete-local-data deletes the torrent's own files and the folders
        # they leave empty (and Thumbs.db/.DS_Store in its own folder), nothing else.
        return self._on_existing(
            hashes, lambda rpc, ids: rpc.remove_torrent(ids=ids, delete_data=delete_data)
        )

    def recheck(self, hashes: Sequence[str]) -> Failures:
        return self._on_existing(hashes, lambda rpc, ids: rpc.verify_torrent(ids=ids))

    def reannounce(self, hashes: Sequence[str]) -> Failures:
        return self._on_existing(hashes, lambda rpc, ids: rpc.reannounce_torrent(ids=ids))

    def labels_of(self, hashes: Sequence[str]) -> tuple[dict[str, list[str]], Failures]:
        valid, failures = self._checked_hashes(hashes)
        fields = ("hashString", "labels")
        rows = self._call(lambda rpc: rpc.get_torrents(ids=valid, arguments=fields))
        found = {
            str(t.fields.get("hashString")).lower(): _labels(t.fields.get("labels"))
            for t in rows
        }
        failures |= {h: self._not_found(h) for h in valid if h not in found}
        return {h: found[h] for h in valid if h in found}, failures

    def set_labels_each(self, labels: dict[str, list[str]]) -> Failures:
        # One torrent-set per distinct list: a bulk "set" is a single call.
        groups: dict[tuple[str, ...], list[str]] = {}
        for info_hash, new in labels.items():
            groups.setdefault(tuple(new), []).append(info_hash)
        failures: Failures = {}
        for new, hashes in groups.items():
            failures |= self._on_existing(
                hashes, lambda rpc, ids, new=new: rpc.change_torrent(ids, labels=list(new))
            )
        return failures

    def move(self, hashes: Sequence[str], download_dir: str, move_data: bool) -> Failures:
        return self._on_existing(
            hashes,
            lambda rpc, ids: rpc.move_torrent_data(ids, download_dir, move=move_data),
        )

    def queue_move(self, hashes: Sequence[str], where: QueueMove) -> Failures:
        return self._on_existing(hashes, lambda rpc, ids: getattr(rpc, f"queue_{where}")(ids))

    # -- limits and the session ---------------------------------------------------------------

    def set_torrent_limits(
        self, hashes: Sequence[str], download: int | None, upload: int | None
    ) -> Failures:
        arguments = {
            "download_limited": download is not None,
            "upload_limited": upload is not None,
        }
        if download is not None:
            arguments["download_limit"] = to_units(download, TRANSMISSION_UNIT)
        if upload is not None:
            arguments["upload_limit"] = to_units(upload, TRANSMISSION_UNIT)
        return self._on_existing(hashes, lambda rpc, ids: rpc.change_torrent(ids, **arguments))

    def torrent_limits(self, info_hash: str) -> TorrentLimits:
        info_hash = self._check_hash(info_hash)
        rows = self._call(lambda rpc: rpc.get_torrents(ids=[info_hash], arguments=_LIMIT_FIELDS))
        fields = next(
            (t.fields for t in rows if str(t.fields.get("hashString")).lower() == info_hash), None
        )
        if fields is None:
            raise self._not_found(info_hash)
        try:
            return TorrentLimits(
                _limit(fields["downloadLimited"], fields["downloadLimit"]),
                _limit(fields["uploadLimited"], fields["uploadLimit"]),
            )
        except (KeyError, ValueError):
            raise self._unexpected("the torrent's limits") from None

    def session(self) -> SessionInfo:
        stats, settings = self._call(lambda rpc: (rpc.session_stats(), rpc.get_session()))
        stats, settings = stats.fields, settings.fields
        try:
            current = stats["current-stats"]  # since the daemon started, as rTorrent's totals
            directory = settings["download-dir"]
            if not isinstance(directory, str):
                raise ValueError("download-dir is not text")
            limits = SpeedLimits(
                _limit(settings["speed-limit-down-enabled"], settings["speed-limit-down"]),
                _limit(settings["speed-limit-up-enabled"], settings["speed-limit-up"]),
                _limit(True, settings["alt-speed-down"]),
                _limit(True, settings["alt-speed-up"]),
                settings["alt-speed-enabled"] is True,
            )
            info = SessionInfo(
                reported_count(stats["downloadSpeed"]),
                reported_count(stats["uploadSpeed"]),
                reported_count(current["downloadedBytes"]),
                reported_count(current["uploadedBytes"]),
                None,
                directory,
                limits,
            )
        except (KeyError, TypeError, ValueError):
            raise self._unexpected("the session") from None
        info.free_space = self._free_space(directory)
        return info

    def _free_space(self, path: str) -> FreeSpace | None:
        """free-space (RPC 15) of the download directory; None where the daemon cannot tell
        (an older daemon, a directory that does not exist yet)."""
        try:
            free = self._call(lambda rpc: rpc.free_space(path))
            return None if free is None else FreeSpace(path, reported_count(free))
        except (ClientError, ValueError):
            return None

    def set_speed_limits(self, limits: SpeedLimits) -> None:
        if limits.alt_download is None or limits.alt_upload is None:
            raise ClientError(
                self.name,
                "Transmission's alternative (slow mode) limits cannot be unlimited: give each "
                "a number",
            )
        arguments: dict[str, Any] = {
            "speed_limit_down_enabled": limits.download is not None,
            "speed_limit_up_enabled": limits.upload is not None,
            "alt_speed_down": to_units(limits.alt_download, TRANSMISSION_UNIT),
            "alt_speed_up": to_units(limits.alt_upload, TRANSMISSION_UNIT),
            "alt_speed_enabled": limits.alt_enabled,
        }
        if limits.download is not None:
            arguments["speed_limit_down"] = to_units(limits.download, TRANSMISSION_UNIT)
        if limits.upload is not None:
            arguments["speed_limit_up"] = to_units(limits.upload, TRANSMISSION_UNIT)
        self._call(lambda rpc: rpc.set_session(**arguments))

    def _unexpected(self, what: str) -> ProtocolError:
        return ProtocolError(
            self.name,
            f"unexpected values in {what} reply — check that {self._url()} is Transmission's RPC",
        )

    def magnet_of(self, info_hash: str) -> tuple[str, bool]:
        fields = ("hashString", "name", "isPrivate", "trackers")
        valid = self._check_hash(info_hash)
        rows = self._call(lambda rpc: rpc.get_torrents(ids=[valid], arguments=fields))
        if not rows:
            raise self._not_found(valid)
        f = rows[0].fields
        trackers = [
            str(t["announce"]) for t in f.get("trackers") or [] if isinstance(t, dict)
        ]
        return magnet_link(valid, str(f.get("name") or ""), trackers), bool(f.get("isPrivate"))

    # -- inside one torrent --------------------------------------------------------------------

    def set_files(self, info_hash: str, changes: Sequence[FileChange]) -> None:
        """One torrent-set with only the lists that have ids: an empty `files-wanted` (or
        `priority-*`) list would mean every file to Transmission."""
        if not changes:
            return
        info_hash = self._check_hash(info_hash)
        lists: dict[str, list[int]] = {}
        for change in changes:
            if change.wanted is not None:
                key = "files_wanted" if change.wanted else "files_unwanted"
                lists.setdefault(key, []).append(change.index)
            if change.priority is not None:
                lists.setdefault(f"priority_{change.priority}", []).append(change.index)
        with self._lock:
            stats = self._torrent_field(info_hash, "fileStats")
            count_ = len(stats) if isinstance(stats, list) else 0
            wrong = sorted({c.index for c in changes if not 0 <= c.index < count_})
            if wrong:
                raise ClientError(
                    self.name,
                    f"torrent {info_hash} has {count_} files: no file index "
                    f"{', '.join(map(str, wrong))}",
                )
            arguments = {key: ids for key, ids in lists.items() if ids}
            if arguments:
                self._call(lambda rpc: rpc.change_torrent(info_hash, **arguments))

    def trackers(self, info_hash: str) -> list[TrackerInfo]:
        info_hash = self._check_hash(info_hash)
        return [_tracker_info(s) for s in self._tracker_stats(info_hash)]

    def edit_trackers(
        self, info_hash: str, add: Sequence[str], remove: Sequence[str]
    ) -> list[TrackerResult]:
        """Removals first, in one torrent-set (tracker ids are positions: they change after a
        removal), then each addition on its own so each URL gets its own answer."""
        info_hash = self._check_hash(info_hash)
        results: dict[tuple[str, str], TrackerResult] = {}
        with self._lock:
            ids = {s.get("announce"): s.get("id") for s in self._tracker_stats(info_hash)}
            removing = [url for url in remove if url in ids]
            for url in remove:
                if url not in ids:
                    results["remove", url] = TrackerResult(
                        url, False, "not a tracker of this torrent"
                    )
            if removing:
                outcome = self._refused(
                    lambda rpc: rpc.change_torrent(
                        info_hash, tracker_remove=[ids[url] for url in removing]
                    )
                )
                for url in removing:
                    results["remove", url] = TrackerResult(url, outcome is None, outcome)
            for url in add:
                if url in ids and url not in removing:
                    error: str | None = "already a tracker of this torrent"
                else:
                    error = self._refused(
                        lambda rpc, url=url: rpc.change_torrent(info_hash, tracker_add=[url])
                    )
                results["add", url] = TrackerResult(url, error is None, error)
        return [results["add", u] for u in add] + [results["remove", u] for u in remove]

    def replace_tracker(self, hashes: Sequence[str], old_url: str, new_url: str) -> Failures:
        """trackerReplace per torrent (its tracker id differs from torrent to torrent); where
        the new URL is already there the old one is only removed."""
        valid, failures = self._checked_hashes(hashes)
        if not valid:
            return failures
        with self._lock:
            rows = self._call(
                lambda rpc: rpc.get_torrents(ids=valid, arguments=("hashString", "trackerStats"))
            )
            stats = {
                str(t.fields.get("hashString")).lower(): _list(t.fields.get("trackerStats"))
                for t in rows
            }
            for info_hash in valid:
                if info_hash not in stats:
                    failures[info_hash] = self._not_found(info_hash)
                    continue
                urls = {s.get("announce"): s.get("id") for s in stats[info_hash]}
                old_id = urls.get(old_url)
                if not isinstance(old_id, int):
                    failures[info_hash] = ClientError(
                        self.name, f"this torrent has no tracker {old_url}; left as it is"
                    )
                    continue
                if new_url in urls:
                    change = {"tracker_remove": [old_id]}
                else:
                    # transmission-rpc 7.0.12 sends tracker_replace as given: a flat list.
                    change = {"tracker_replace": [old_id, new_url]}
                error = self._refused(lambda rpc, h=info_hash, c=change: rpc.change_torrent(h, **c))
                if error is not None:
                    failures[info_hash] = ClientError(self.name, error)
        return failures

    def peers(self, info_hash: str) -> list[PeerInfo]:
        info_hash = self._check_hash(info_hash)
        peers = _list(self._torrent_field(info_hash, "peers"))[:MAX_PEERS]
        return [_peer_info(p) for p in peers if isinstance(p, dict)]

    def _tracker_stats(self, info_hash: str) -> list[dict]:
        stats = _list(self._torrent_field(info_hash, "trackerStats"))[:MAX_TRACKERS]
        return [s for s in stats if isinstance(s, dict)]

    def _torrent_field(self, info_hash: str, field: str) -> object:
        """One field of one torrent (a checked hash); TorrentNotFound when it is not there."""
        rows = self._call(
            lambda rpc: rpc.get_torrents(ids=[info_hash], arguments=("hashString", field))
        )
        for row in rows:
            if str(row.fields.get("hashString")).lower() == info_hash:
                return row.fields.get(field)
        raise self._not_found(info_hash)

    def _refused(self, fn) -> str | None:
        """Run a change; the daemon refusing it is a message (None: done). A server that does
        not answer still raises."""
        try:
            self._call(fn)
        except ProtocolError as exc:
            return exc.message
        return None

    def _on_existing(
        self, hashes: Sequence[str], call: Callable[[transmission_rpc.Client, list[str]], Any]
    ) -> Failures:
        """One `call` for every torrent the daemon has. Transmission silently ignores unknown
        ids, so ask first (one torrent-get) and report those as not found."""
        valid, failures = self._checked_hashes(hashes)
        if not valid:
            return failures
        with self._lock:
            present = self._present(valid)
            failures |= {h: self._not_found(h) for h in valid if h not in present}
            ids = [h for h in valid if h in present]
            if ids:
                self._call(lambda rpc: call(rpc, ids))
        return failures

    def close(self) -> None:
        # No lock: closing must not wait for a call stuck in its socket.
        self._drop_rpc()

    # -- plumbing -----------------------------------------------------------------------------

    def _present(self, hashes: list[str]) -> set[str]:
        """Which of these (normalized) hashes the daemon has, in one torrent-get."""
        rows = self._call(lambda rpc: rpc.get_torrents(ids=hashes, arguments=("hashString",)))
        return {str(t.fields.get("hashString")).lower() for t in rows} & set(hashes)

    def _exists(self, info_hash: str) -> bool:
        return bool(self._present([info_hash]))

    def _client(self) -> transmission_rpc.Client:
        if self._rpc is None:
            # The constructor already calls session-get, so it can fail like any call.
            self._rpc = _RpcClient(self, self._wire())
            self._raw_query = _raw_query(self._rpc)
            self._table = None
        return self._rpc

    def _wire(self) -> transport.HttpConnection:
        wire = transport.HttpConnection(
            self.name, self.host, self.port, self.timeout, self.protocol == "https", self._url()
        )
        wire.on_os_error = self._os_error
        return wire

    def _os_error(self, exc: OSError) -> ClientError:
        if isinstance(exc, builtins.TimeoutError):
            return self._timeout_error()
        return self._connect_error(exc)

    def _drop_rpc(self) -> None:
        self._hash_by_id = None  # the daemon may come back restarted, with new ids
        self._raw_query, self._table = None, None  # it may come back another version, too
        rpc, self._rpc = self._rpc, None
        if rpc is not None:
            # Client's context-manager exit closes its HTTP session; best effort.
            with suppress(Exception):
                rpc.__exit__(None, None, None)

    def _call(self, fn):
        """Run `fn(rpc)` with a live library client, translating every failure."""
        with self._lock, self._translate():
            return fn(self._client())

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except ClientError:
            raise
        except TransmissionError as exc:
            if not _daemon_answered(exc):
                self._drop_rpc()  # a fresh connection and session id on the next call
            self._raise_for_transmission_error(exc)
        except requests.exceptions.RequestException as exc:
            # transmission-rpc lets some requests errors through (e.g. a broken chunked body).
            self._drop_rpc()
            if isinstance(exc, requests.exceptions.Timeout):
                raise self._timeout_error() from None
            if isinstance(exc, requests.exceptions.ConnectionError) and not _is_protocol_failure(
                exc
            ):
                raise self._connect_error(exc) from None
            raise ProtocolError(
                self.name,
                f"the reply is not valid HTTP ({_describe(exc)}) — check the host, port and "
                "protocol point at Transmission's RPC",
            ) from None
        except OSError as exc:
            self._drop_rpc()
            raise self._connect_error(exc) from None
        except (KeyError, TypeError, ValueError, AttributeError):
            # transmission-rpc indexes the JSON reply without checking its shape.
            self._drop_rpc()
            raise ProtocolError(
                self.name,
                f"unexpected reply from {self._url()}, not Transmission's RPC answer — check "
                "the host, port and RPC path",
            ) from None

    def _raise_for_transmission_error(self, exc: TransmissionError) -> NoReturn:
        if isinstance(exc, TransmissionAuthError):
            raise self._auth_error(getattr(exc.original, "status_code", 401)) from None
        if isinstance(exc, TransmissionTimeoutError):
            raise self._timeout_error() from None
        if isinstance(exc, TransmissionConnectError):
            cause = exc.__cause__
            if cause is not None and _is_protocol_failure(cause):
                raise ProtocolError(
                    self.name,
                    f"the reply is not valid HTTP ({_describe(cause)}) — check the host, port "
                    "and protocol point at Transmission's RPC",
                ) from None
            raise self._connect_error(cause or exc) from None
        if isinstance(exc.__cause__, json.JSONDecodeError):
            raise self._not_rpc(200) from None
        response = exc.response if isinstance(exc.response, dict) else None
        if response is not None and isinstance(response.get("result"), str):
            raise ProtocolError(
                self.name, f"Transmission refused the request: {_snippet(response['result'])}"
            ) from None
        raise ProtocolError(
            self.name,
            f"unexpected reply from {self._url()}, not Transmission's RPC answer — check the "
            "host, port and RPC path",
        ) from None

    def _auth_error(self, status: int) -> AuthError:
        if status == 403:
            return AuthError(
                self.name,
                "access refused (HTTP 403) — check the server's rpc-whitelist and credentials",
            )
        return AuthError(self.name, "wrong username or password — check the server's credentials")

    def _not_rpc(self, status: int) -> ProtocolError:
        """What a reply that is not Transmission's RPC is, in words: never its body."""
        answered = (
            "HTTP 200 with something that is not Transmission RPC JSON"
            if status == 200
            else f"HTTP {status} {transport.status_phrase(status)}, not Transmission RPC JSON"
        )
        usual = f"; usually {DEFAULT_RPC_PATH}" if self.rpc_path != DEFAULT_RPC_PATH else ""
        return ProtocolError(
            self.name,
            f"{self._url()} answered {answered} — is this the right port and path "
            f"({self.rpc_path}{usual})?",
        )

    def _timeout_error(self) -> TimeoutError:
        return TimeoutError(
            self.name,
            f"no answer within {self.timeout:g} s — check that the server is running and "
            "reachable, or raise its timeout",
        )

    def _connect_error(self, exc: BaseException) -> ConnectError:
        return ConnectError(
            self.name,
            f"cannot connect to {self.protocol}://{self.host}:{self.port} ({_describe(exc)}) — "
            "check that Transmission is running and the host and port are right",
        )


class _RpcClient(transmission_rpc.Client):
    """transmission-rpc's client over our own wire instead of requests: one deadline per
    call (a server that drips its reply can hold a thread no longer than the timeout), the
    reply cap (`transport.reply_limit`), and errors that never quote the reply. It keeps the
    library's API and its session-id handshake (409 + X-Transmission-Session-Id); replies are
    handed on as bytes (its json.loads and our orjson read them without a decoded copy)."""

    def __init__(self, owner: TransmissionClient, wire: transport.HttpConnection) -> None:
        self._owner = owner
        self._wire = wire
        self._session_id = "0"
        # As the library itself: "/transmission/" is taken for the RPC path under it.
        self._path = DEFAULT_RPC_PATH if owner.rpc_path == "/transmission/" else owner.rpc_path
        self._headers = {
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",  # see _raw_query: never gzip a big listing
            "User-Agent": "torrentdesk",
            **transport.basic_auth(owner.username, owner._password),
        }
        super().__init__(
            protocol=owner.protocol,  # type: ignore[arg-type]
            host=owner.host,
            port=owner.port,
            path=owner.rpc_path,
            timeout=owner.timeout,
            logger=_rpc_logger,
        )

    def _http_query(self, query: dict[str, Any], timeout: Any = None) -> Any:
        body = json.dumps(query).encode()
        owner = self._owner
        for _ in range(3):
            headers = {**self._headers, _SESSION_HEADER: self._session_id}
            try:
                reply = self._wire.post(self._path, body, headers, expect=b"{")
            except transport.NotExpected:
                raise owner._not_rpc(200) from None
            if reply.status == 409:
                session_id = reply.headers.get(_SESSION_HEADER.lower(), "")
                if not _SESSION_ID.fullmatch(session_id):
                    raise owner._not_rpc(409)
                self._session_id = session_id
                continue
            if reply.status in (401, 403):
                raise owner._auth_error(reply.status)
            if reply.status != 200:
                raise owner._not_rpc(reply.status)
            return reply.body
        raise ProtocolError(
            owner.name,
            f"{owner._url()} kept asking for a new session id (HTTP 409) — is this Transmission?",
        )

    def __exit__(self, *args: object) -> None:
        self._wire.close()
        super().__exit__(*args)


def _raw_query(rpc: transmission_rpc.Client) -> _RawQuery | None:
    """`query(json_rpc_request, timeout) -> reply text` through the library client, or None.

    The ONLY use of transmission-rpc internals (checked against 7.0.12), because its public
    API cannot ask for the table format (get_torrents parses with the stdlib json module and
    wraps every torrent in a Torrent object):
    - `Client._http_query(query, timeout)`: the POST every public method uses. It keeps the
      library's session-id handshake (409 + X-Transmission-Session-Id, so a restarted daemon is
      renegotiated), credentials and timeout, and raises the library's usual exceptions.
    - `Client._http_session` (a requests.Session): asked for uncompressed replies, for every
      call. Transmission gzips a reply whenever allowed — for a big listing that costs the
      daemon more CPU (on its one event thread) than building the reply, while the plain body
      is cheap to send on loopback or a LAN.
    When either is missing or has changed shape, None: the caller keeps to the public API.
    """
    http_query = getattr(rpc, "_http_query", None)
    session = getattr(rpc, "_http_session", None)
    if not callable(http_query) or not isinstance(session, requests.Session):
        return None
    try:
        parameters = list(inspect.signature(http_query).parameters)
    except (TypeError, ValueError):
        return None
    if parameters[:2] != ["query", "timeout"]:
        return None
    session.headers["Accept-Encoding"] = "identity"
    return http_query


def _rpc_result(text: str) -> dict[str, Any]:
    """A successful JSON-RPC reply, decoded. Raises what transmission-rpc's `_request` raises
    for the same reply, so _translate words every failure as for the library's own calls."""
    try:
        reply = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            # orjson refuses some JSON the stdlib reads (e.g. a lone surrogate escape in a
            # name): never fail where the library's path would not.
            reply = json.loads(text)
        except json.JSONDecodeError as error:
            raise TransmissionError(
                "failed to parse response as json", raw_response=text
            ) from error
    if "result" not in reply:
        raise TransmissionError(
            "Query failed, response data missing without result.",
            response=reply,
            raw_response=text,
        )
    if reply["result"] != "success":
        raise TransmissionError(
            f'Query failed with result "{reply["result"]}".', response=reply, raw_response=text
        )
    return reply


def _table_infos(table: list[Any]) -> tuple[list[tuple[int, TorrentInfo]], int]:
    """A torrent-get table (header row of field names, then value rows) as (id, TorrentInfo)
    pairs, checked, and how many rows were left out. The same mapping as _torrent_info, one
    tuple unpack per row."""
    if not table:
        return [], 0
    header = table[0]
    if type(header) is not list or not all(type(name) is str for name in header):
        raise ValueError("the table's first row is not a list of field names")
    width = len(header)
    column = {name: i for i, name in enumerate(header)}
    values = itemgetter(*[column[name] for name in LIST_FIELDS])  # KeyError: no such column

    def convert(row: object) -> tuple[int, TorrentInfo]:
        if type(row) is not list or len(row) != width:
            raise ValueError(f"a row is not a list of {width} values")
        (
            torrent_id,
            info_hash,
            name,
            status,
            percent_done,
            size_when_done,
            have_valid,
            uploaded_ever,
            rate_download,
            rate_upload,
            ratio,
            eta,
            peers_connected,
            peers_sending,
            added_date,
            download_dir,
            labels,
            error,
            error_string,
            metadata,
            queue_position,
        ) = values(row)
        # Positional, in TorrentInfo's field order (half the cost of keywords; a test compares
        # every field with _torrent_info's).
        return _torrent_id(torrent_id), TorrentInfo(
            info_hash.lower(),
            name,
            _state(status, metadata),
            float(percent_done),
            size_when_done if metadata >= 1 else None,
            have_valid,
            uploaded_ever,
            rate_download,
            rate_upload,
            float(ratio) if ratio > 0 else 0.0,
            eta if status == _DOWNLOADING and eta >= 0 else None,
            peers_connected,
            peers_sending,
            added_date,
            download_dir,
            _labels(labels),
            *_problems(error, error_string),
            None,  # tracker: attach_trackers sets it
            queue_position,
        )

    return sanitize.convert_rows(islice(table, 1, None), convert)


def _torrent_id(value: object) -> int:
    """The daemon's id of a torrent: an int, or the row is not readable."""
    if type(value) is not int:
        raise TypeError("a torrent id is not an integer")
    return value


def _limit(enabled: object, kilobytes: object) -> int | None:
    """A Transmission limit (whole kB/s, K = 1000) in bytes/s; None when it is off."""
    if not isinstance(enabled, bool):
        raise ValueError(f"a limit's switch is not true or false: {enabled!r}")
    return reported_count(kilobytes) * TRANSMISSION_UNIT if enabled else None


def _labels(value: object) -> list[str]:
    """A torrent's `labels` as the daemon sends them: only strings count."""
    return [label for label in value if isinstance(label, str)] if isinstance(value, list) else []


def _torrent_info(f: dict[str, Any], files: bool) -> TorrentInfo:
    status = f["status"]
    eta = f["eta"]
    ratio = f["uploadRatio"]
    metadata = f["metadataPercentComplete"]
    error, warning = _problems(f["error"], f.get("errorString"))
    return TorrentInfo(
        info_hash=f["hashString"].lower(),
        name=f["name"],
        state=_state(status, metadata),
        progress=float(f["percentDone"]),
        size=f["sizeWhenDone"] if metadata >= 1 else None,
        # Verified bytes we have (haveValid), not downloadedEver, which counts re-downloads
        # and bytes that failed their hash check.
        downloaded=f["haveValid"],
        uploaded=f["uploadedEver"],
        download_rate=f["rateDownload"],
        upload_rate=f["rateUpload"],
        ratio=float(ratio) if ratio > 0 else 0.0,  # -1 not available, -2 infinite
        eta=eta if status == _DOWNLOADING and eta >= 0 else None,  # -1 n/a, -2 unknown
        peers=f["peersConnected"],
        # Peers we are downloading from: the connected seeds that matter to us.
        seeds=f["peersSendingToUs"],
        added_at=f["addedDate"],
        download_dir=f["downloadDir"],
        labels=_labels(f.get("labels")),
        error=error,
        warning=warning,
        tracker=None,  # attach_trackers sets it
        queue_position=f.get("queuePosition"),
        files=_files(f) if files else None,
    )


def _spaces_escaped_in_dn(uri: str) -> str:
    """Transmission 3.00 shows a magnet's dn as its name until the metadata arrives, but
    decodes only %XX in it: a `+` (a space, as magnet links usually write it) would show."""
    return _DN_PARAM.sub(lambda m: m[1] + m[2].replace("+", "%20"), uri)


def _state(status: int, metadata: float) -> TorrentState:
    """A magnet downloading without its metadata yet is fetching it: "metadata"."""
    if metadata < 1 and status == _DOWNLOADING:
        return "metadata"
    return _STATES.get(status, "stopped")


def _first_tracker_host(trackers: object) -> str | None:
    """The host of the torrent's first tracker (lowest tier, then listed first)."""
    if not isinstance(trackers, list):
        return None
    announces = [t for t in trackers if isinstance(t, dict) and isinstance(t.get("announce"), str)]
    if not announces:
        return None
    first = min(announces, key=lambda t: t.get("tier") if isinstance(t.get("tier"), int) else 0)
    return tracker_host(first["announce"])


def _problems(code: int, text: str | None) -> tuple[str | None, str | None]:
    """(error, warning) from Transmission's error code and text: a tracker's problem is a
    warning, anything else the torrent's own error."""
    if not code:
        return None, None
    tracker = _TRACKER_PROBLEMS.get(code)
    if tracker is not None:
        return None, text or tracker
    return text or f"error code {code}", None


def _files(f: dict[str, Any]) -> list[TorrentFile]:
    """Paths relative to the torrent's root (a multi-file torrent's top folder left out)."""
    prefix = f["name"] + "/"
    out = []
    for index, (entry, stat) in enumerate(zip(f["files"], f["fileStats"], strict=True)):
        path = entry["name"]
        if path.startswith(prefix):
            path = path[len(prefix) :]
        size = entry["length"]
        done = stat["bytesCompleted"]
        priority = _PRIORITIES.get(stat["priority"], "normal")
        progress = done / size if size else 1.0
        out.append(TorrentFile(index, path, size, progress, bool(stat["wanted"]), priority))
    return out


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


# trackerStats' announceState: 0 inactive, 1 waiting, 2 queued, 3 active (announcing now).
_ANNOUNCING = (2, 3)


def _tracker_info(stat: dict[str, Any]) -> TrackerInfo:
    succeeded = flag(stat.get("lastAnnounceSucceeded"))
    status: TrackerStatus
    if stat.get("announceState") in _ANNOUNCING:
        status = "updating"
    elif flag(stat.get("hasAnnounced")):
        status = "working" if succeeded else "error"
    else:
        status = "not_contacted"
    message = None if succeeded else optional_text(stat.get("lastAnnounceResult"))
    return TrackerInfo(
        url=shown_text(stat.get("announce"), MAX_URL_CHARS),
        tier=known_count(stat.get("tier"), 10_000) or 0,
        status=status,
        message=message,
        seeders=known_count(stat.get("seederCount")),  # -1: not known
        leechers=known_count(stat.get("leecherCount")),
        last_announce=timestamp(stat.get("lastAnnounceTime")),
    )


def _peer_info(peer: dict[str, Any]) -> PeerInfo:
    return PeerInfo(
        address=shown_text(peer.get("address"), MAX_ADDRESS_CHARS),
        port=port(peer.get("port")),
        client=shown_text(peer.get("clientName"), MAX_CLIENT_CHARS),
        progress=fraction(peer.get("progress")),
        download_rate=rate(peer.get("rateToClient")),
        upload_rate=rate(peer.get("rateToPeer")),
        encrypted=flag(peer.get("isEncrypted")),
        incoming=flag(peer.get("isIncoming")),
    )


def _daemon_answered(exc: TransmissionError) -> bool:
    """True when the daemon replied with a well-formed failure result (connection is fine)."""
    return isinstance(exc.response, dict) and "result" in exc.response


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        stack.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))


def _is_protocol_failure(exc: BaseException) -> bool:
    """The peer answered, but not with HTTP (a bad status line, a broken body)."""
    for e in _causes(exc):
        if isinstance(e, http.client.RemoteDisconnected):
            return False  # closed without a reply: a connection problem
        if isinstance(e, http.client.HTTPException):  # BadStatusLine, LineTooLong, ...
            return True
    return False


def _describe(exc: BaseException) -> str:
    """The innermost useful reason, short; never what the server sent."""
    reason = exc
    for e in _causes(exc):
        if isinstance(e, (ConnectionRefusedError, ConnectionResetError, http.client.HTTPException)):
            reason = e
            break
        if isinstance(e, OSError) and e.errno is not None:
            reason = e
    if isinstance(reason, http.client.HTTPException) and not isinstance(
        reason, http.client.RemoteDisconnected
    ):
        text = "a reply that is not HTTP"  # never the line it sent: it may be anything
    elif isinstance(reason, OSError) and reason.strerror:
        text = reason.strerror
    else:
        text = str(reason) or type(reason).__name__
    return _snippet(text, 160)


def _snippet(text: str, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
