"""Request and response bodies of the REST API (SPEC §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from ..services import servers as rules
from ..services.actions import MAX_TARGETS, check_download_dir, check_labels
from ..services.errors import InvalidInput
from ..services.servers import SERVER_TYPES
from ..torrent_input import InvalidTorrentInput, parse_magnet, parse_torrent_url


def _rule(check, value, *args):
    """Run a service field check; its error becomes pydantic's, so 422 keeps FastAPI's format."""
    try:
        return check(value, *args)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


class _ServerFieldRules(BaseModel):
    """The services' field checks, applied to whichever of these fields a request carries."""

    @field_validator(
        "name", "server_type", "host", "port", "rpc_path", "protocol", check_fields=False
    )
    @classmethod
    def _check_field(cls, value, info):
        checks = {
            "name": rules.check_name,
            "server_type": rules.check_server_type,
            "host": rules.check_host,
            "port": rules.check_port,
            "rpc_path": rules.check_rpc_path,
            "protocol": rules.check_protocol,
        }
        return value if value is None else _rule(checks[info.field_name], value)

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
        default=None, description="default /RPC2 (rtorrent over http) or /transmission/rpc"
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


class TokenRequest(BaseModel):
    username: str
    password: str


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
    peers: int
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
    fresh_at: datetime | None = Field(
        description="when these rows were read from the server (UTC); older than the request "
        "when they came from the live snapshot, which is used while it is younger than the "
        "server's poll interval (2 s with a page open, else 60 s); null if it failed"
    )


class TorrentListResponse(BaseModel):
    torrents: list[TorrentResponse]
    servers: list[ServerListingResponse]


class _TorrentOptionRules(BaseModel):
    """The services' checks of labels and a download directory, where a request has them."""

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
        description="a magnet link (hex or base32 btih) or an http(s) URL of a .torrent"
    )
    server_id: str
    start: bool = True
    labels: list[str] = Field(default_factory=list, description=LABELS_FIELD)
    download_dir: str | None = Field(default=None, description=DOWNLOAD_DIR_FIELD)

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


class ActionTarget(BaseModel):
    server_id: str
    info_hash: str = Field(description="40 hex characters")


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
        "queue_top",
        "queue_up",
        "queue_down",
        "queue_bottom",
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

    @model_validator(mode="after")
    def _needs_its_parameters(self):
        if self.action.endswith("_labels") and self.labels is None:
            raise ValueError(f"{self.action} needs labels")
        if self.action == "move" and self.download_dir is None:
            raise ValueError("move needs download_dir")
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
