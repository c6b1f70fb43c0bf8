"""Saved views of the torrent table, per user (the pages use the same service)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..services.errors import InvalidInput
from ..services.views import MAX_NAME, SavedViewInfo, ViewState
from .deps import ServicesDep, UserDep
from .models import ErrorResponse

router = APIRouter(prefix="/views", tags=["views"], responses={401: {"model": ErrorResponse}})
ViewName = Path(min_length=1, max_length=MAX_NAME, description="the view's name")
_NOT_FOUND = {404: {"model": ErrorResponse, "description": "no saved view of yours by that name"}}


class ViewFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    states: list[str] = []
    servers: list[str] = Field(default=[], description="server ids")
    labels: list[str] = Field(default=[], description='"" is "(no label)"')
    trackers: list[str] = Field(default=[], description='tracker hosts; "" is "(no tracker)"')


class ViewSort(BaseModel):
    column: str = Field(description="a column's field, e.g. added_at")
    direction: Literal["asc", "desc"]


class ViewBody(BaseModel):
    """A view: the filter panel's choices, the search, the sort and the hidden columns."""

    model_config = ConfigDict(extra="forbid")

    filters: ViewFilters = ViewFilters()
    search: str = ""
    sort: list[ViewSort] = []
    hidden: list[str] = Field(default=[], description="columns not shown, by field")

    @model_validator(mode="after")
    def _check(self):
        try:
            ViewState.from_dict(self.model_dump())
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        return self


class ViewResponse(ViewBody):
    model_config = ConfigDict(extra="ignore")

    name: str
    updated_at: datetime
    last_used: bool = Field(description="the view restored when a page opens")


def _response(view: SavedViewInfo) -> dict:
    return {
        "name": view.name,
        **view.state.to_dict(),
        "updated_at": view.updated_at,
        "last_used": view.last_used_at is not None,
    }


@router.get("", response_model=list[ViewResponse])
def list_views(user: UserDep, services: ServicesDep) -> list[dict]:
    return [_response(v) for v in services.views.list(user.id)]


@router.put("/{name}", response_model=ViewResponse, responses={422: {"model": ErrorResponse}})
async def save_view(
    body: ViewBody, user: UserDep, services: ServicesDep, name: str = ViewName
) -> dict:
    """Create or replace the view; it becomes the one restored on open."""
    state = ViewState.from_dict(body.model_dump())
    return _response(await asyncio.to_thread(services.views.save, user.id, name, state))


@router.delete("/{name}", status_code=204, responses=_NOT_FOUND)
def delete_view(user: UserDep, services: ServicesDep, name: str = ViewName) -> Response:
    services.views.delete(user.id, name)
    return Response(status_code=204)
