"""The interface every torrent server type implements, and the normalized types it returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote, urlencode, urlsplit

from ..torrent_input import MagnetLink, TorrentMetainfo, is_info_hash
from .errors import ClientError, DuplicateTorrent, TorrentNotFound

# "metadata": a magnet link still fetching its metadata (started; a stopped one is "stopped").
TorrentState = Literal["downloading", "seeding", "stopped", "checking", "queued", "metadata"]
# A wanted file's priority; an unwanted file ("off" in the registry's `file_priorities`) keeps
# the priority it will have when wanted again.
FilePriority = Literal["low", "normal", "high"]
TrackerStatus = Literal["working", "updating", "not_contacted", "error", "disabled"]
QueueMove = Literal["top", "up", "down", "bottom"]

DEFAULT_TIMEOUT = 10.0

# What a verb on many torrents returns: the hashes it could not act on, each with why (e.g.
# TorrentNotFound). Empty when every one worked. A failure of the whole server raises instead.
Failures = dict[str, ClientError]


@dataclass(slots=True)
class TorrentFile:
    index: int  # the file's place in the torrent's metainfo, as the daemon numbers it
    path: str  # relative to the torrent's root (a multi-file torrent's own folder left out)
    size: int
    progress: float  # 0.0-1.0
    wanted: bool
    priority: FilePriority


@dataclass(slots=True, frozen=True)
class FileChange:
    """What to change of one file; None leaves that part as it is."""

    index: int
    wanted: bool | None = None
    priority: FilePriority | None = None


@dataclass(slots=True)
class TrackerInfo:
    url: str
    tier: int
    status: TrackerStatus
    message: str | None  # the tracker's last error or warning
    seeders: int | None  # None: not scraped
    leechers: int | None
    last_announce: int | None  # unix seconds


@dataclass(slots=True, frozen=True)
class TrackerResult:
    url: str
    ok: bool
    error: str | None = None
    disabled: bool = False  # could not be removed (rTorrent: from the .torrent), so disabled


@dataclass(slots=True)
class PeerInfo:
    address: str
    port: int
    client: str
    progress: float  # 0.0-1.0
    download_rate: int  # bytes/s
    upload_rate: int  # bytes/s
    encrypted: bool
    incoming: bool


@dataclass(slots=True, frozen=True)
class SpeedLimits:
    """A server's global limits in bytes/s, None = unlimited (the API's units everywhere)."""

    download: int | None = None
    upload: int | None = None
    alt_download: int | None = None
    alt_upload: int | None = None
    alt_enabled: bool = False


@dataclass(slots=True, frozen=True)
class TorrentLimits:
    """One torrent's own limits in bytes/s, None = unlimited."""

    download: int | None = None
    upload: int | None = None


@dataclass(slots=True, frozen=True)
class FreeSpace:
    path: str
    bytes: int


@dataclass(slots=True)
class SessionInfo:
    download_rate: int  # bytes/s, the whole server
    upload_rate: int
    downloaded_total: int  # bytes (Transmission: since the daemon started; rTorrent too)
    uploaded_total: int
    free_space: FreeSpace | None  # None where the daemon cannot tell
    download_dir: str
    limits: SpeedLimits


@dataclass(slots=True)
class TorrentInfo:
    info_hash: str  # 40 lowercase hex
    name: str
    state: TorrentState
    progress: float  # 0.0-1.0
    size: int | None  # bytes wanted; None while a magnet has no metadata (size unknown)
    downloaded: int  # bytes of the torrent's data we have (verified/completed)
    uploaded: int  # bytes uploaded over the torrent's life
    download_rate: int  # bytes/s
    upload_rate: int  # bytes/s
    ratio: float
    eta: int | None  # seconds, None when unknown or not downloading
    peers: int  # connected peers
    seeds: int  # connected seeds
    added_at: int  # unix seconds
    download_dir: str
    labels: list[str]  # rows and the API also carry `label`: the first one, or None
    error: str | None  # the torrent's own failure: storage, missing files, hash check
    warning: str | None = None  # a tracker's message; never the torrent's own error
    tracker: str | None = None  # the host of its first tracker
    queue_position: int | None = None  # where the daemon has a queue
    files: list[TorrentFile] | None = None  # only with files=True


@dataclass(slots=True, frozen=True)
class AddOptions:
    """What an add sets before the torrent ever starts (checked by the services)."""

    labels: tuple[str, ...] = ()
    download_dir: str | None = None  # absolute, on the server; None: the server's default
    unwanted_files: tuple[int, ...] = ()  # file indices of a .torrent not to download


NO_OPTIONS = AddOptions()


def magnet_link(info_hash: str, name: str | None, trackers: Sequence[str]) -> str:
    # xt as written everywhere (daemons refuse "urn%3Abtih%3A"); dn and tr percent-encoded.
    params = [("dn", name)] if name else []
    params += [("tr", url) for url in trackers]
    rest = urlencode(params, quote_via=quote)
    return f"magnet:?xt=urn:btih:{info_hash}" + (f"&{rest}" if rest else "")


def tracker_host(url: str) -> str | None:
    """A tracker announce URL's host, as the filters group torrents by it."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host[:255] if host and host.isprintable() else None


@dataclass(slots=True, frozen=True)
class AddedTorrent:
    """What an add returns: the hash is known for files and magnets, maybe not for URLs."""

    info_hash: str | None
    name: str | None


@dataclass(slots=True, frozen=True)
class ServerConnection:
    """Everything needed to reach one server; built by services from a stored server."""

    name: str
    server_type: str  # a key of the registry's SERVER_KINDS
    host: str
    port: int
    protocol: Literal["http", "https", "scgi"] = "http"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    rpc_path: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    id: str | None = None
    # What it reported at its last successful connection; not part of how to reach it.
    version: str | None = field(default=None, compare=False)


class BaseTorrentClient(ABC):
    """A blocking client for one server. Methods raise only `ClientError` subclasses."""

    server_type: str

    def __init__(self, name: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.name = name
        self.timeout = timeout
        # info hash -> its first tracker's host (None: it has none); see attach_trackers.
        self._tracker_hosts: dict[str, str | None] = {}
        # Torrents the last listing left out: an invalid info hash or unreadable fields
        # (see sanitize).
        self.dropped = 0

    def attach_trackers(self, torrents: list[TorrentInfo], full_list: bool = False) -> None:
        """Set each torrent's `tracker` (its first tracker's host). Trackers hardly change and
        are costly to list every poll (Transmission's `trackers` added ~30 % to a 2 000-torrent
        listing; an rTorrent nested field took its listing from 0.1 s to 7 s), so each
        torrent's is asked once, when first seen, in one batch."""
        known = self._tracker_hosts
        if full_list:
            for gone in known.keys() - {t.info_hash for t in torrents}:
                del known[gone]
        new = [t.info_hash for t in torrents if t.info_hash not in known]
        if new:
            hosts = self._first_tracker_hosts(new)
            known.update({h: hosts.get(h) for h in new})
        for torrent in torrents:
            torrent.tracker = known.get(torrent.info_hash)

    def _first_tracker_hosts(self, hashes: list[str]) -> dict[str, str | None]:
        """The first tracker's host of each of these torrents, in as few calls as possible."""
        return {}

    @abstractmethod
    def list_torrents(self, info_hash: str | None = None, files: bool = False) -> list[TorrentInfo]:
        """All torrents, or the one with `info_hash` (raises TorrentNotFound if absent)."""

    def list_active(self) -> tuple[list[TorrentInfo], list[str]] | None:
        """Torrents changed recently and the hashes removed since the last listing, for servers
        that can tell; None means "only a full listing is right" (the default)."""
        return None

    @abstractmethod
    def add_torrent(
        self, meta: TorrentMetainfo, start: bool = True, options: AddOptions = NO_OPTIONS
    ) -> AddedTorrent:
        """Add a checked .torrent file; raises DuplicateTorrent if already there."""

    @abstractmethod
    def add_magnet(
        self, magnet: MagnetLink, start: bool = True, options: AddOptions = NO_OPTIONS
    ) -> AddedTorrent:
        """Add a checked magnet link; raises DuplicateTorrent if already there."""

    # Verbs take many hashes (transmission-rpc's and Flood's way): one daemon round trip for
    # the lot where the daemon allows it, a failure per hash that did not work.

    @abstractmethod
    def start(self, hashes: Sequence[str]) -> Failures: ...

    @abstractmethod
    def stop(self, hashes: Sequence[str]) -> Failures: ...

    @abstractmethod
    def erase(self, hashes: Sequence[str], delete_data: bool = False) -> Failures:
        """Remove the torrents; with `delete_data` also the files each one owns and the folders
        they leave empty, never anything else."""

    @abstractmethod
    def recheck(self, hashes: Sequence[str]) -> Failures:
        """Verify the torrents' data against their piece hashes."""

    @abstractmethod
    def reannounce(self, hashes: Sequence[str]) -> Failures:
        """Ask the torrents' trackers for peers now."""

    @abstractmethod
    def labels_of(self, hashes: Sequence[str]) -> tuple[dict[str, list[str]], Failures]:
        """Each torrent's labels, in one round trip."""

    @abstractmethod
    def set_labels_each(self, labels: dict[str, list[str]]) -> Failures:
        """Give each torrent its own list of labels (the same lists in one call each)."""

    def set_labels(self, hashes: Sequence[str], labels: list[str]) -> Failures:
        return self.set_labels_each({h: list(labels) for h in hashes})

    def add_labels(self, hashes: Sequence[str], labels: list[str]) -> Failures:
        return self._relabel(hashes, lambda old: [*old, *(x for x in labels if x not in old)])

    def remove_labels(self, hashes: Sequence[str], labels: list[str]) -> Failures:
        return self._relabel(hashes, lambda old: [x for x in old if x not in labels])

    def _relabel(self, hashes: Sequence[str], change) -> Failures:
        current, failures = self.labels_of(hashes)
        changed = {h: new for h, old in current.items() if (new := change(old)) != old}
        return failures | self.set_labels_each(changed)

    @abstractmethod
    def move(self, hashes: Sequence[str], download_dir: str, move_data: bool) -> Failures:
        """Point the torrents at `download_dir` (absolute); with `move_data` the daemon moves
        the files there, where it can (the registry's `move_data` capability)."""

    def queue_move(self, hashes: Sequence[str], where: QueueMove) -> Failures:
        """Move the torrents in the daemon's queue, where it has one (`queue` capability)."""
        raise ClientError(self.name, f"{self.server_type} servers have no queue to move in")

    # Inside one torrent (SPEC §10). A server type without one of these leaves the default,
    # which says so; the registry's capabilities tell the UI beforehand.

    def files(self, info_hash: str) -> list[TorrentFile]:
        files = self.get_torrent(info_hash, files=True).files
        return files if files is not None else []

    def set_files(self, info_hash: str, changes: Sequence[FileChange]) -> None:
        """Set wanted and priority of some files (never all by accident: an empty list is a
        no-op here, not Transmission's "every file")."""
        raise self._incapable("change file priorities")

    def trackers(self, info_hash: str) -> list[TrackerInfo]:
        raise self._incapable("list trackers")

    def edit_trackers(
        self, info_hash: str, add: Sequence[str], remove: Sequence[str]
    ) -> list[TrackerResult]:
        """Add and remove announce URLs of one torrent; a result per URL."""
        raise self._incapable("edit trackers")

    def replace_tracker(self, hashes: Sequence[str], old_url: str, new_url: str) -> Failures:
        """Replace `old_url` by `new_url` on each torrent; one that lacks `old_url` is left
        as it is and fails with that reason (a mistyped URL must not read as done)."""
        raise self._incapable("replace trackers")

    def peers(self, info_hash: str) -> list[PeerInfo]:
        raise self._incapable("list peers")

    def set_torrent_limits(
        self, hashes: Sequence[str], download: int | None, upload: int | None
    ) -> Failures:
        """Per-torrent limits in bytes/s, None = unlimited (`torrent_limits` capability)."""
        raise self._incapable("limit single torrents")

    def torrent_limits(self, info_hash: str) -> TorrentLimits:
        """One torrent's own limits, as the daemon holds them (`torrent_limits` capability)."""
        raise self._incapable("limit single torrents")

    def session(self) -> SessionInfo:
        """Rates, totals, free space, default directory and limits of the whole server."""
        raise self._incapable("report its session")

    def held_limit(self, limit: int | None) -> int | None:
        """A limit in bytes/s as this daemon would hold it once set (rounded to its unit)."""
        return limit

    def set_speed_limits(self, limits: SpeedLimits) -> None:
        """Set the global limits and slow mode (where it is emulated the client switches the
        daemon's limits between the normal and the alternative pair it is given)."""
        raise self._incapable("set speed limits")

    def metainfo_of(self, info_hash: str) -> bytes | None:
        """The torrent's .torrent bytes where the daemon hands them out (`metainfo`
        capability); None elsewhere."""
        return None

    @abstractmethod
    def magnet_of(self, info_hash: str) -> tuple[str, bool]:
        """A magnet link for the torrent with every tracker it has, and whether it is private
        (a transfer without stored metainfo rebuilds it on another server from this)."""

    def _incapable(self, what: str) -> ClientError:
        return ClientError(self.name, f"{self.server_type} servers cannot {what}")

    # Shared wording of the HTTP clients (Transmission, qBittorrent).

    def _check_hash(self, info_hash: str) -> str:
        value = info_hash.strip().lower() if isinstance(info_hash, str) else ""
        if not is_info_hash(value):
            raise TorrentNotFound(
                self.name,
                f"no torrent with info hash {info_hash!r}: an info hash is 40 hex characters",
            )
        return value

    def _checked_hashes(self, hashes: Sequence[str]) -> tuple[list[str], Failures]:
        """The hashes normalized, and a TorrentNotFound for each one that is not a hash."""
        failures: Failures = {}
        valid: list[str] = []
        for info_hash in hashes:
            try:
                valid.append(self._check_hash(info_hash))
            except TorrentNotFound as exc:
                failures[info_hash] = exc
        return valid, failures

    def _not_found(self, info_hash: str) -> TorrentNotFound:
        return TorrentNotFound(self.name, f"no torrent with info hash {info_hash} on this server")

    def _duplicate(self, info_hash: str | None, name: str | None) -> DuplicateTorrent:
        what = f"{name!r} ({info_hash})" if name else str(info_hash)
        return DuplicateTorrent(
            self.name, f"torrent {what} is already on this server", info_hash=info_hash
        )

    @abstractmethod
    def default_download_dir(self) -> str:
        """Where the server puts a torrent added without a directory."""

    @abstractmethod
    def version(self) -> str:
        """The server software and its version, e.g. 'rTorrent 0.9.8'."""

    def check_connection(self) -> bool:
        """True when the server answers with our credentials; never raises."""
        try:
            self.version()
        except ClientError:
            return False
        return True

    def get_torrent(self, info_hash: str, files: bool = False) -> TorrentInfo:
        return self.list_torrents(info_hash=info_hash, files=files)[0]

    def close(self) -> None:  # noqa: B027 - optional hook: not every client holds connections
        """Release connections; the client may not be used afterwards."""
