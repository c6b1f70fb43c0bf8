"""A user's torrent servers: CRUD, connection test, session and speed limits, slow mode."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Response

from ..services.servers import ServerFields, ServerView
from .deps import ServicesDep, UserDep
from .models import (
    AddServerRequest,
    AltSpeedRequest,
    AltSpeedResponse,
    ErrorResponse,
    ServerResponse,
    SessionResponse,
    TestServerResponse,
    UpdateServerRequest,
    UpdateSessionRequest,
)

router = APIRouter(prefix="/servers", tags=["servers"], responses={401: {"model": ErrorResponse}})
_NOT_FOUND = {404: {"model": ErrorResponse, "description": "no such server of yours"}}
_REMOTE = {
    **_NOT_FOUND,
    502: {"model": ErrorResponse, "description": "the torrent server failed; the message names it"},
    504: {"model": ErrorResponse, "description": "the torrent server did not answer in time"},
}


def _response(view: ServerView) -> dict:
    return dataclasses.asdict(view)


@router.post("", status_code=201, response_model=ServerResponse)
def add_server(body: AddServerRequest, user: UserDep, services: ServicesDep) -> dict:
    return _response(services.server_admin.add(user.id, ServerFields(**body.model_dump())))


@router.get("", response_model=list[ServerResponse])
def list_servers(user: UserDep, services: ServicesDep) -> list[dict]:
    return [_response(v) for v in services.servers.list(user.id)]


@router.get("/{server_id}", response_model=ServerResponse, responses=_NOT_FOUND)
def get_server(server_id: str, user: UserDep, services: ServicesDep) -> dict:
    return _response(services.servers.get(user.id, server_id))


@router.put("/{server_id}", response_model=ServerResponse, responses=_NOT_FOUND)
def update_server(
    server_id: str, body: UpdateServerRequest, user: UserDep, services: ServicesDep
) -> dict:
    # Left out or null: keep. The password's "" clears it (see UpdateServerRequest).
    changes = body.model_dump(exclude_unset=True)
    return _response(services.server_admin.update(user.id, server_id, changes))


@router.delete("/{server_id}", status_code=204, responses=_NOT_FOUND)
def delete_server(server_id: str, user: UserDep, services: ServicesDep) -> Response:
    services.server_admin.delete(user.id, server_id)
    return Response(status_code=204)


@router.post("/{server_id}/test", response_model=TestServerResponse, responses=_NOT_FOUND)
async def test_server(server_id: str, user: UserDep, services: ServicesDep) -> dict:
    return dataclasses.asdict(await services.server_admin.test(user.id, server_id))


@router.post("/alt-speed", response_model=AltSpeedResponse)
async def set_alt_speed(body: AltSpeedRequest, user: UserDep, services: ServicesDep) -> dict:
    """Slow mode (the alternative limits) on or off on every enabled server of yours at once;
    a result per server. rTorrent's is emulated: its global limits switch to the other pair."""
    outcomes = await services.speed.set_alt_speed(user.id, body.enabled)
    return {
        "results": [{"server_id": o.server_id, "ok": o.ok, "error": o.message} for o in outcomes]
    }


@router.get("/{server_id}/session", response_model=SessionResponse, responses=_REMOTE)
async def get_session(server_id: str, user: UserDep, services: ServicesDep) -> dict:
    """Rates, totals since the daemon started, free space, default directory and limits."""
    return dataclasses.asdict(await services.speed.session(user.id, server_id))


@router.put("/{server_id}/session", response_model=SessionResponse, responses=_REMOTE)
async def update_session(
    server_id: str, body: UpdateSessionRequest, user: UserDep, services: ServicesDep
) -> dict:
    """Change the server's limits (bytes/s, null = unlimited): only the keys given change."""
    changes = body.limits.model_dump(exclude_unset=True)
    return dataclasses.asdict(await services.speed.set_limits(user.id, server_id, changes))
