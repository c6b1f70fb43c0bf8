"""Request and response bodies of the REST API (SPEC §5)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from ..services import servers as rules
from ..services.actions import (
    MAX_TARGETS,
    check_download_dir,
    check_labels,
    check_speed_limit,
    check_tracker_url,
)
from ..services.errors import InvalidInput
from ..services.servers import SERVER_TYPES
from ..services.users import MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH
from ..torrent_input import InvalidTorrentInput, parse_magnet, parse_torrent_url

MAX_URI_LENGTH = 64 * 1024  # a magnet with hundreds of trackers fits
_SURROGATE = re.compile("[\ud800-\udfff]")


def _rule(check, value, *args):
    """Run a service field check, then `storable_text`; an error becomes pydantic's, so 422
    keeps FastAPI's format."""
    try:
        return storable_text(check(value, *args))
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


def storable_text(value):
    """Text any database can keep: no NUL character (PostgreSQL refuses it) and no lone
    surrogate (not Unicode; nothing can encode it), in a string or in lists and dicts of them."""
    if isinstance(value, str) and ("\x00" in value or _SURROGATE.search(value)):
        raise ValueError("text may not contain NUL characters or lone surrogates")
    if isinstance(value, list | tuple):
        for item in value:
            storable_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            storable_text(key)
            storable_text(item)
    return value


class RequestModel(BaseModel):
    """A request body: every text field must be storable text (see `storable_text`); fields
    with a rule of their own (`RULED`) are checked after it, so its message comes first."""

    RULED: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value, info):
        return value if info.field_name in cls.RULED else storable_text(value)


_SERVER_CHECKS = {
    "name": rules.check_name,
    "server_type": rules.check_server_type,
    "host": rules.check_host,
    "port": rules.check_port,
    "username": rules.check_username,
    "password": rules.check_password,
    "rpc_path": rules.check_rpc_path,
    "protocol": rules.check_protocol,
}


class _ServerFieldRules(RequestModel):
    """The services' field checks, applied to whichever of these fields a request carries."""

    RULED = frozenset(_SERVER_CHECKS)

    @field_validator(*_SERVER_CHECKS, check_fields=False)
    @classmethod
    def _check_field(cls, value, info):
        return value if value is None else _rule(_SERVER_CHECKS[info.field_name], value)

    @model_validator(mode="after")
    def _protocol_fits_type(self):
        if self.protocol is not None and self.server_type is not None:
            _rule(rules.check_protocol, self.protocol, self.server_type)
        return self


class AddServerRequest(_ServerFieldRules):
    name: str
    server_type: str = Field(description=" | ".join(SERVER_TYPES))
    host: str = Field(description="host name or address, no scheme or path")
    port: int
    username: str | None = None
    password: str | None = Field(default=None, description="stored encrypted, never returned")
    rpc_path: str | None = Field(
        default=None,
        description="default /RPC2 (rtorrent over http) or /transmission/rpc; none for "
        "qbittorrent (its Web API is always /api/v2)",
    )
    protocol: str = Field(default="http", description="http | https | scgi (rtorrent only)")
    enabled: bool = True


class UpdateServerRequest(_ServerFieldRules):
    """Fields left out keep their value; `password` null keeps it, "" clears it."""

    name: str | None = None
    server_type: str | None = None
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = None
    rpc_path: str | None = None
    protocol: str | None = None
    enabled: bool | None = None


class ServerResponse(BaseModel):
    id: str
    name: str
    server_type: str
    protocol: str
    host: str
    port: int
    username: str | None
    rpc_path: str | None
    enabled: bool
    has_password: bool
    status: Literal["connected", "error", "unknown"]
    error: str | None
    checked_at: datetime | None
    capabilities: dict[str, Any] = Field(
        description="what the server can do, from the version it reported at its last "
        "successful connection (empty until then); keys are listed in the README"
    )
    color: str | None = Field(description="the server's colour (#rrggbb), kept for its life")


class TestServerResponse(BaseModel):
    ok: bool
    status: Literal["connected", "error"]
    version: str | None
    latency_ms: float | None
    error: str | None


class TokenRequest(RequestModel):
    username: str = Field(max_length=MAX_USERNAME_LENGTH)
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)


class UserResponse(BaseModel):
    id: int
    username: str
    is_admin: bool


class TokenResponse(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    user: UserResponse


class HealthResponse(BaseModel):
    status: Literal["ok"]
    version: str


class TorrentFileResponse(BaseModel):
    index: int
    path: str
    size: int
    progress: float
    wanted: bool
    priority: Literal["low", "normal", "high"]


class TrackerResponse(BaseModel):
    url: str
    tier: int
    status: Literal["working", "updating", "not_contacted", "error", "disabled"]
    message: str | None = Field(description="the tracker's last error or warning")
    seeders: int | None = Field(description="null: not known (not scraped)")
    leechers: int | None
    last_announce: int | None = Field(description="unix seconds, null: never")


class PeerResponse(BaseModel):
    address: str
    port: int
    client: str
    progress: float = Field(description="0.0-1.0, like a torrent's")
    download_rate: int = Field(description="bytes/s we receive from this peer")
    upload_rate: int = Field(description="bytes/s we send to this peer")
    encrypted: bool
    incoming: bool


class TorrentResponse(BaseModel):
    info_hash: str
    name: str = Field(description="a magnet still fetching its metadata shows its dn name")
    state: Literal["downloading", "seeding", "stopped", "checking", "queued", "metadata"] = Field(
        description="metadata: a magnet fetching its metadata; a paused torrent is stopped"
    )
    progress: float
    size: int | None = Field(description="bytes wanted; null while the metadata is missing")
    downloaded: int
    uploaded: int
    download_rate: int
    upload_rate: int
    ratio: float
    eta: int | None
    peers: int | list[PeerResponse] = Field(
        description="connected peers: their count, or with peers=true the peers themselves "
        "(SPEC §10)"
    )
    seeds: int
    added_at: int
    download_dir: str
    labels: list[str]
    label: str | None = Field(description="the first of `labels`, or null")
    error: str | None = Field(
        description="the torrent's own failure (storage, missing files, hash check)"
    )
    warning: str | None = Field(
        description="a tracker's message (e.g. it cannot be reached); never the torrent's error"
    )
    tracker: str | None = Field(description="the host of its first tracker")
    queue_position: int | None = Field(description="its place in the daemon's queue, if any")
    files: list[TorrentFileResponse] | None = None
    trackers: list[TrackerResponse] | None = Field(default=None, description="with trackers=true")
    server_id: str
    server_name: str
    server_type: str


class ServerListingResponse(BaseModel):
    id: str
    name: str
    server_type: str
    status: Literal["connected", "error"]
    error: str | None
    count: int
    dropped: int = Field(
        0, description="torrents it listed that were left out: an invalid info hash or fields "
        "that cannot be read",
    )
    fresh_at: datetime | None = Field(
        None,
        description="when these rows were read from the server (UTC); older than the request "
        "when they came from the live snapshot, which is used while it is younger than the "
        "server's poll interval (2 s with a page open, else 60 s); null if it failed"
    )


class TorrentListResponse(BaseModel):
    torrents: list[TorrentResponse]
    servers: list[ServerListingResponse]


class _TorrentOptionRules(RequestModel):
    """The services' checks of labels and a download directory, where a request has them."""

    RULED = frozenset({"labels", "download_dir"})

    @field_validator("labels", check_fields=False)
    @classmethod
    def _check_labels(cls, labels):
        return labels if labels is None else _rule(check_labels, labels)

    @field_validator("download_dir", check_fields=False)
    @classmethod
    def _check_download_dir(cls, path):
        return path if path is None else _rule(check_download_dir, path)


LABELS_FIELD = "1 to 64 characters each, no commas"
DOWNLOAD_DIR_FIELD = "an absolute directory on the server; left out: the server's default"


class AddTorrentRequest(_TorrentOptionRules):
    uri: str = Field(
        max_length=MAX_URI_LENGTH,
        description="a magnet link (hex or base32 btih) or an http(s) URL of a .torrent "
        "(fetched by torrentdesk itself)",
    )
    server_id: str | None = Field(default=None, description="one server")
    server_ids: list[str] | None = Field(
        default=None,
        max_length=100,
        description="several servers at once (a result per server); with neither, the first "
        "matching add rule picks",
    )
    start: bool = True
    labels: list[str] = Field(default_factory=list, description=LABELS_FIELD)
    download_dir: str | None = Field(default=None, description=DOWNLOAD_DIR_FIELD)

    @model_validator(mode="after")
    def _one_way_to_name_servers(self):
        if self.server_id is not None and self.server_ids:
            raise ValueError("give server_id or server_ids, not both")
        return self

    @field_validator("uri")
    @classmethod
    def _magnet_or_url(cls, value: str) -> str:
        try:
            if value.strip().lower().startswith("magnet:"):
                parse_magnet(value)
            else:
                parse_torrent_url(value)
        except InvalidTorrentInput as exc:
            raise ValueError(str(exc)) from None
        return value.strip()


MAX_FILE_CHANGES = 100_000
MAX_TRACKER_URLS = 100


class FileChangeRequest(RequestModel):
    index: int = Field(ge=0, le=10_000_000, description="the file's index in the torrent")
    wanted: bool | None = Field(default=None, description="download it or not; left out: as is")
    priority: Literal["low", "normal", "high"] | None = Field(
        default=None,
        description="left out: as is; the server's levels are its file_priorities capability "
        "(rTorrent has no low)",
    )

    @model_validator(mode="after")
    def _changes_something(self):
        if self.wanted is None and self.priority is None:
            raise ValueError(f"file {self.index}: give wanted, priority or both")
        return self


class FilesRequest(RequestModel):
    files: list[FileChangeRequest] = Field(min_length=1, max_length=MAX_FILE_CHANGES)


def _tracker_urls(urls: list[str]) -> list[str]:
    return [_rule(check_tracker_url, url) for url in urls]


class TrackersRequest(RequestModel):
    RULED = frozenset({"add", "remove"})

    add: list[str] = Field(
        default_factory=list, max_length=MAX_TRACKER_URLS, description="announce URLs to add"
    )
    remove: list[str] = Field(
        default_factory=list,
        max_length=MAX_TRACKER_URLS,
        description="announce URLs to remove (disabled where the server cannot remove them)",
    )

    @field_validator("add", "remove")
    @classmethod
    def _check_urls(cls, urls: list[str]) -> list[str]:
        return _tracker_urls(urls)

    @model_validator(mode="after")
    def _something_to_do(self):
        if not self.add and not self.remove:
            raise ValueError("give trackers to add or remove")
        return self


class TrackerResultResponse(BaseModel):
    url: str
    ok: bool
    error: str | None
    disabled: bool = Field(description="it could not be removed, so it was disabled (rTorrent)")


class TrackersResponse(BaseModel):
    results: list[TrackerResultResponse]


class ActionTarget(RequestModel):
    server_id: str
    info_hash: str = Field(description="40 hex characters")


LIMIT_FIELD = "bytes/s from 1 to 2^30 (1 GiB/s); null or left out: unlimited"


class TorrentActionRequest(_TorrentOptionRules):
    action: Literal[
        "start",
        "stop",
        "remove",
        "recheck",
        "reannounce",
        "set_labels",
        "add_labels",
        "remove_labels",
        "move",
        "set_limits",
        "queue_top",
        "queue_up",
        "queue_down",
        "queue_bottom",
        "replace_tracker",
    ]
    targets: list[ActionTarget] = Field(max_length=MAX_TARGETS)
    delete_data: bool = Field(default=False, description="remove: also delete the data")
    labels: list[str] | None = Field(default=None, description=f"*_labels: {LABELS_FIELD}")
    download_dir: str | None = Field(
        default=None, description="move: an absolute directory on the server"
    )
    move_data: bool = Field(
        default=True,
        description="move: the daemon moves the files too (servers whose capabilities say "
        "move_data false only relocate, with move_data false)",
    )
    download_limit: StrictInt | None = Field(default=None, description=f"set_limits: {LIMIT_FIELD}")
    upload_limit: StrictInt | None = Field(default=None, description=f"set_limits: {LIMIT_FIELD}")

    @field_validator("download_limit", "upload_limit")
    @classmethod
    def _check_limit(cls, value, info):
        return _rule(check_speed_limit, value, info.field_name)

    old_url: str | None = Field(default=None, description="replace_tracker: the announce URL")
    new_url: str | None = Field(default=None, description="replace_tracker: what replaces it")

    @field_validator("old_url", "new_url")
    @classmethod
    def _check_tracker(cls, url: str | None) -> str | None:
        return url if url is None else _rule(check_tracker_url, url)

    @model_validator(mode="after")
    def _needs_its_parameters(self):
        if self.action.endswith("_labels") and self.labels is None:
            raise ValueError(f"{self.action} needs labels")
        if self.action == "move" and self.download_dir is None:
            raise ValueError("move needs download_dir")
        if self.action == "replace_tracker" and (self.old_url is None or self.new_url is None):
            raise ValueError("replace_tracker needs old_url and new_url")
        return self


class TargetResultResponse(BaseModel):
    server_id: str
    info_hash: str
    ok: bool
    error: str | None = Field(description="why this target failed, naming its server")


class TorrentActionResponse(BaseModel):
    results: list[TargetResultResponse]


class AddedTorrentResponse(BaseModel):
    info_hash: str | None
    server_id: str
    name: str | None


class AmbiguousResponse(BaseModel):
    detail: str
    server_ids: list[str]


class ErrorResponse(BaseModel):
    detail: str


class ActionResponse(BaseModel):
    id: int
    at: datetime
    action: str
    ok: bool
    server_id: str | None
    info_hash: str | None
    detail: str | None


class SpeedLimitsModel(BaseModel):
    download: int | None = Field(description="bytes/s; null: unlimited")
    upload: int | None
    alt_download: int | None = Field(description="slow mode's download limit")
    alt_upload: int | None
    alt_enabled: bool = Field(description="slow mode is on")


class FreeSpaceModel(BaseModel):
    path: str
    bytes: int


class SessionResponse(BaseModel):
    download_rate: int = Field(description="bytes/s, the whole server")
    upload_rate: int
    downloaded_total: int = Field(description="bytes since the daemon started")
    uploaded_total: int
    free_space: FreeSpaceModel | None = Field(
        description="exact or approximate by the server's `free_space` capability; null: unknown"
    )
    download_dir: str
    limits: SpeedLimitsModel


class LimitChanges(BaseModel):
    """Only the keys given change; a limit's null is unlimited."""

    model_config = ConfigDict(extra="forbid")

    download: StrictInt | None = Field(default=None, description=LIMIT_FIELD)
    upload: StrictInt | None = Field(default=None, description=LIMIT_FIELD)
    alt_download: StrictInt | None = Field(default=None, description=LIMIT_FIELD)
    alt_upload: StrictInt | None = Field(default=None, description=LIMIT_FIELD)
    alt_enabled: StrictBool | None = Field(
        default=None, description="slow mode on or off; left out or null: as it is"
    )

    @field_validator("download", "upload", "alt_download", "alt_upload")
    @classmethod
    def _check_limit(cls, value, info):
        return _rule(check_speed_limit, value, info.field_name)


class UpdateSessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limits: LimitChanges


class AltSpeedRequest(BaseModel):
    enabled: StrictBool


class ServerResultResponse(BaseModel):
    server_id: str
    ok: bool
    error: str | None = Field(description="why this server failed, naming it")


class AltSpeedResponse(BaseModel):
    results: list[ServerResultResponse]


class AddResultResponse(BaseModel):
    server_id: str
    ok: bool
    info_hash: str | None
    name: str | None
    error: str | None


class AddResultsResponse(BaseModel):
    results: list[AddResultResponse]


class RuleMatch(RequestModel):
    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(default=None, description="the add carries this label")
    tracker: str | None = Field(default=None, description="a tracker host (or its domain)")
    name_regex: str | None = Field(default=None, description="searched in the name, any case")
    min_size: int | None = Field(default=None, description="bytes; unknown sizes never match")
    max_size: int | None = None


class Rule(RequestModel):
    model_config = ConfigDict(extra="forbid")

    match: RuleMatch = Field(default_factory=RuleMatch)
    target: dict[Literal["server_ids", "most_free_space"], list[str]] = Field(
        description='{"server_ids": [id, …]} or {"most_free_space": [id, …]}'
    )
    labels: list[str] = Field(default_factory=list, description=LABELS_FIELD)
    download_dir: str | None = Field(default=None, description=DOWNLOAD_DIR_FIELD)


class RulePreviewRequest(RequestModel):
    uri: str = Field(max_length=65536, description="a magnet link or an http(s) .torrent URL")
    labels: list[str] = Field(default_factory=list, max_length=64)


class RulePreviewResponse(BaseModel):
    rule: int | None = Field(description="index of the first matching rule, or null")
    server_ids: list[str]
    labels: list[str]
    download_dir: str | None


class TransferRequest(RequestModel):
    RULED = frozenset({"download_dir"})

    server_id: str = Field(description="where the torrent is now")
    info_hash: str = Field(pattern=r"^[0-9a-fA-F]{40}$")
    to_server_id: str
    mode: Literal["copy", "move"] = "copy"
    download_dir: str | None = Field(default=None, max_length=4096)
    same_storage: bool = False
    allow_magnet: bool = Field(
        default=False, description="rebuild a private torrent from a magnet link if need be"
    )

    @field_validator("download_dir")
    @classmethod
    def _check_download_dir(cls, path):
        return path if path is None else _rule(check_download_dir, path)


class TransferResponse(BaseModel):
    id: str
    server_id: str
    to_server_id: str
    info_hash: str
    name: str | None
    mode: Literal["copy", "move"]
    same_storage: bool
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    step: str
    error: str | None
    created_at: datetime
    updated_at: datetime


class CancelledTransferResponse(TransferResponse):
    left: str = Field(description="what the transfer had already done on the target")


class AwayEventResponse(BaseModel):
    info_hash: str
    name: str
    kind: Literal["finished", "failed", "added", "removed"]
    detail: str | None = Field(description="a failure's message")
    at: datetime


class AwayServerResponse(BaseModel):
    server_id: str
    server_name: str
    events: list[AwayEventResponse] = Field(description="newest first")


class AwayResponse(BaseModel):
    since: datetime | None = Field(description="your last visit; null on a first visit")
    servers: list[AwayServerResponse]
    more: int = Field(description="events left out beyond the 200 shown")
