"""Torrents across all of the caller's servers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse

from ..services.actions import Target
from ..services.errors import InvalidInput
from ..services.gzip_parts import gzip_join, gzip_part
from ..services.torrents import (
    FileChange,
    LocatedTorrent,
    ServerConnection,
    TorrentInfo,
    torrent_row,
)
from ..torrent_input import MAX_TORRENT_FILE_SIZE, parse_torrent_file
from .deps import ServicesDep, UserDep
from .models import (
    DOWNLOAD_DIR_FIELD,
    LABELS_FIELD,
    AddedTorrentResponse,
    AddResultsResponse,
    AddTorrentRequest,
    AmbiguousResponse,
    ErrorResponse,
    FilesRequest,
    TorrentActionRequest,
    TorrentActionResponse,
    TorrentListResponse,
    TorrentResponse,
    TrackersRequest,
    TrackersResponse,
)

router = APIRouter(prefix="/torrents", tags=["torrents"], responses={401: {"model": ErrorResponse}})

InfoHash = Annotated[str, Path(pattern=r"^[0-9a-fA-F]{40}$", description="40 hex characters")]
ServerIdQuery = Annotated[
    str | None, Query(description="the server; found automatically if left out")
]
_REMOTE_ERRORS = {
    502: {"model": ErrorResponse, "description": "the torrent server failed; the message names it"},
    504: {"model": ErrorResponse, "description": "the torrent server did not answer in time"},
}
_ROW_OPTIONS = {"response_model": TorrentResponse, "response_model_exclude_unset": True}
_LOCATE_ERRORS = {
    404: {"model": ErrorResponse, "description": "not on the given server, or on none of yours"},
    409: {"model": AmbiguousResponse, "description": "on several of your servers"},
    **_REMOTE_ERRORS,
}


def torrent_response(server: ServerConnection, torrent: TorrentInfo) -> dict:
    """A row; `files` only when they were asked for (responses exclude unset fields)."""
    row = torrent_row(server, torrent)
    if torrent.files is not None:
        row["files"] = [{name: getattr(f, name) for name in f.__slots__} for f in torrent.files]
    return row


def _located(located: LocatedTorrent) -> dict:
    row = torrent_response(located.server, located.torrent)
    # With peers=true the peers themselves replace their count (SPEC §10).
    for name in ("trackers", "peers"):
        items = getattr(located, name)
        if items is not None:
            row[name] = [{field: getattr(i, field) for field in i.__slots__} for i in items]
    return row


@router.get(
    "",
    response_model=TorrentListResponse,
    response_model_exclude_unset=True,
    responses={404: {"model": ErrorResponse}},
)
async def list_torrents(
    request: Request, user: UserDep, services: ServicesDep, server_id: str | None = None
) -> dict | Response:
    # Each server's rows come from its live snapshot when that is younger than the server's
    # poll interval (`fresh_at` says when they were read), else from a fetch now. Serialized
    # here with orjson (a docstring would show in /docs): 10 000 rows cost ~45 ms of pydantic
    # validation plus ~20 ms of its JSON dump; orjson writes the same JSON in ~4 ms. The rows
    # are built from our own normalized types, so validating them again proved nothing; the
    # response model stays the documented contract (a test checks the body). Gzipped here
    # from per-server parts (not by the app-wide middleware, which skips a body that already
    # has a Content-Encoding).
    listing = await services.live.listing(user.id, server_id)
    servers = [
        {
            "id": part.server.id,
            "name": part.server.name,
            "server_type": part.server.server_type,
            "status": part.status,
            "error": str(part.error) if part.error else None,
            "count": len(part.rows),
            "dropped": part.dropped,
            "fresh_at": _utc(part.fresh_at),
        }
        for part in listing
    ]
    try:
        if _accepts_gzip(request.headers.get("accept-encoding")):
            body = await asyncio.to_thread(_gzip_listing, services.live, listing, servers)
            headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
            return Response(body, media_type="application/json", headers=headers)
        content = {"torrents": [r for part in listing for r in part.api_rows()], "servers": servers}
        return Response(orjson.dumps(content, option=_JSON), media_type="application/json")
    except (orjson.JSONEncodeError, TypeError):  # e.g. a lone surrogate in a name
        # FastAPI's own path decides, as before
        return {"torrents": [r for part in listing for r in part.api_rows()], "servers": servers}


_JSON = orjson.OPT_UTC_Z  # datetimes as pydantic writes them
_COMMA = gzip_part(b",")


def _gzip_listing(live, listing: list, servers: list[dict]) -> bytes:
    """The listing's JSON, gzipped from parts: each server's rows stay compressed until its
    snapshot changes (LiveTorrents.rows_gzip), so a warm answer mostly joins bytes."""
    parts = [gzip_part(b'{"torrents":[')]
    for part in listing:
        rows = live.rows_gzip(part)
        if rows.size:
            parts += [_COMMA, rows] if len(parts) > 1 else [rows]
    parts.append(gzip_part(b'],"servers":' + orjson.dumps(servers, option=_JSON) + b"}"))
    return gzip_join(parts)


def _accepts_gzip(header: str | None) -> bool:
    for part in (header or "").lower().split(","):
        coding, _, params = part.partition(";")
        if coding.strip() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
            try:
                return float(quality) > 0
            except ValueError:
                return False
    return False


def _utc(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


@dataclass(frozen=True, slots=True)
class _AddOptions:
    start: bool
    labels: list[str]
    download_dir: str | None
    unwanted_files: list[int] = field(default_factory=list)


_ADD_RESPONSES = {
    201: {
        "model": AddedTorrentResponse | AddResultsResponse,
        "description": "with `server_id`: the torrent; with `server_ids` or by a rule: a "
        "result per server (502 with the same body when no server took it)",
    },
    404: {"model": ErrorResponse},
    409: {"model": ErrorResponse},
    **_REMOTE_ERRORS,
}


@router.post("", status_code=201, response_model=None, responses=_ADD_RESPONSES)
async def add_torrent(
    body: AddTorrentRequest, user: UserDep, services: ServicesDep
) -> dict | Response:
    """A magnet link or a .torrent URL to one server (`server_id`), several (`server_ids`),
    or, naming none, wherever the first matching add rule says."""
    torrents = services.torrents
    if body.server_id is not None and not body.server_ids:
        added = await torrents.add(
            user.id, body.server_id, body.uri, body.start, body.labels, body.download_dir
        )
        return {"info_hash": added.info_hash, "server_id": body.server_id, "name": added.name}
    source = await torrents.source_of(body.uri)
    options = _AddOptions(body.start, body.labels, body.download_dir)
    return await _add_many(services, user.id, body.server_ids, source, options)


async def _add_many(
    services, user_id: int, server_ids: list[str] | None, source, options: _AddOptions
) -> Response:
    """Several servers, or the first matching rule's: 201 with a result per server, 502
    with the same body when none took it."""
    torrents = services.torrents
    if server_ids:
        results = await torrents.add_to_servers(
            user_id,
            server_ids,
            source,
            options.start,
            options.labels,
            options.download_dir,
            options.unwanted_files,
        )
    else:
        _, results = await torrents.add_by_rules(
            user_id,
            source,
            options.start,
            options.labels,
            options.download_dir,
            options.unwanted_files,
        )
    content = {
        "results": [
            {
                "server_id": r.server_id,
                "ok": r.ok,
                "info_hash": r.info_hash,
                "name": r.name,
                "error": None if r.ok else str(r.error),
            }
            for r in results
        ]
    }
    status = 201 if any(r.ok for r in results) else 502
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


@router.post(
    "/upload",
    status_code=201,
    response_model=None,
    responses={**_ADD_RESPONSES, 413: {"model": ErrorResponse}},
)
async def upload_torrent(
    user: UserDep,
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="a .torrent file, at most 10 MiB")],
    server_id: Annotated[str | None, Query()] = None,
    server_ids: Annotated[
        list[str], Query(max_length=100, description="repeat for several servers")
    ] = (),
    form_server_ids: Annotated[
        list[str], Form(alias="server_ids", description="or as repeated form fields")
    ] = (),
    start: bool = True,
    labels: Annotated[list[str], Query(description=f"repeat for each; {LABELS_FIELD}")] = (),
    download_dir: Annotated[str | None, Query(description=DOWNLOAD_DIR_FIELD)] = None,
    unwanted_files: Annotated[
        list[int],
        Query(description="indices of the .torrent's files not to download; repeat for each"),
    ] = (),
) -> dict | Response:
    data = await file.read(MAX_TORRENT_FILE_SIZE + 1)
    if len(data) > MAX_TORRENT_FILE_SIZE:
        return _too_large()
    many = [*server_ids, *form_server_ids]
    if server_id is not None and not many:
        added = await services.torrents.upload(
            user.id, server_id, data, start, labels, download_dir, unwanted_files
        )
        return {"info_hash": added.info_hash, "server_id": server_id, "name": added.name}
    if len(many) > 100:
        raise InvalidInput("at most 100 servers in server_ids")
    source = await asyncio.to_thread(parse_torrent_file, data)
    options = _AddOptions(start, list(labels), download_dir, list(unwanted_files))
    return await _add_many(services, user.id, many, source, options)


def _too_large() -> Response:
    return JSONResponse(
        {"detail": f"the .torrent file is larger than {MAX_TORRENT_FILE_SIZE} bytes (10 MiB)"},
        status_code=413,
    )


@router.post("/actions", response_model=TorrentActionResponse)
async def apply_action(
    body: TorrentActionRequest, user: UserDep, services: ServicesDep
) -> dict | Response:
    """One action on torrents across your servers; a result per target. A server that fails
    or cannot do the action fails its own targets only."""
    targets = [Target(t.server_id, t.info_hash) for t in body.targets]
    params = body.model_dump(exclude={"action", "targets"}, exclude_none=True)
    results = await services.torrents.apply(user.id, body.action, targets, params)
    content = {
        "results": [
            {"server_id": r.server_id, "info_hash": r.info_hash, "ok": r.ok, "error": r.message}
            for r in results
        ]
    }
    return Response(orjson.dumps(content), media_type="application/json")


@router.get("/{info_hash}", responses=_LOCATE_ERRORS, **_ROW_OPTIONS)
async def get_torrent(
    info_hash: InfoHash,
    user: UserDep,
    services: ServicesDep,
    server_id: ServerIdQuery = None,
    files: bool = False,
    trackers: bool = False,
    peers: bool = False,
) -> dict:
    return _located(
        await services.torrents.get(user.id, info_hash, server_id, files, trackers, peers)
    )


@router.put("/{info_hash}/files", responses=_LOCATE_ERRORS, **_ROW_OPTIONS)
async def set_files(
    info_hash: InfoHash,
    body: FilesRequest,
    user: UserDep,
    services: ServicesDep,
    server_id: ServerIdQuery = None,
) -> dict:
    """Wanted and priority of some files (the others are left as they are); the torrent
    with its files as they are now."""
    changes = [FileChange(f.index, f.wanted, f.priority) for f in body.files]
    return _located(await services.torrents.set_files(user.id, info_hash, changes, server_id))


@router.post("/{info_hash}/trackers", response_model=TrackersResponse, responses=_LOCATE_ERRORS)
async def edit_trackers(
    info_hash: InfoHash,
    body: TrackersRequest,
    user: UserDep,
    services: ServicesDep,
    server_id: ServerIdQuery = None,
) -> dict:
    """Add and remove announce URLs; a result per URL. A tracker the server cannot remove
    (rTorrent: those of the .torrent) is disabled: `ok` and `disabled` true."""
    results = await services.torrents.edit_trackers(
        user.id, info_hash, body.add, body.remove, server_id
    )
    return {
        "results": [
            {"url": r.url, "ok": r.ok, "error": r.error, "disabled": r.disabled} for r in results
        ]
    }


@router.post("/{info_hash}/start", responses=_LOCATE_ERRORS, **_ROW_OPTIONS)
async def start_torrent(
    info_hash: InfoHash, user: UserDep, services: ServicesDep, server_id: ServerIdQuery = None
) -> dict:
    return _located(await services.torrents.start(user.id, info_hash, server_id))


@router.post("/{info_hash}/stop", responses=_LOCATE_ERRORS, **_ROW_OPTIONS)
async def stop_torrent(
    info_hash: InfoHash, user: UserDep, services: ServicesDep, server_id: ServerIdQuery = None
) -> dict:
    return _located(await services.torrents.stop(user.id, info_hash, server_id))


@router.delete("/{info_hash}", status_code=204, responses=_LOCATE_ERRORS)
async def delete_torrent(
    info_hash: InfoHash,
    user: UserDep,
    services: ServicesDep,
    server_id: ServerIdQuery = None,
    delete_data: bool = False,
) -> Response:
    await services.torrents.remove(user.id, info_hash, server_id, delete_data)
    return Response(status_code=204)
