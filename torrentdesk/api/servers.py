"""A user's torrent servers: CRUD and connection test."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Response

from ..services.servers import ServerFields, ServerView
from .deps import ServicesDep, UserDep
from .models import (
    AddServerRequest,
    ErrorResponse,
    ServerResponse,
    TestServerResponse,
    UpdateServerRequest,
)

router = APIRouter(prefix="/servers", tags=["servers"], responses={401: {"model": ErrorResponse}})
_NOT_FOUND = {404: {"model": ErrorResponse, "description": "no such server of yours"}}


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
