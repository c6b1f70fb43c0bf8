"""Admin settings (SPEC §14): admins read and change them; anyone else gets 403."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from ..services.settings import DESCRIPTIONS
from .deps import ServicesDep, UserDep
from .models import ErrorResponse

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse, "description": "you are not an admin"},
    },
)

_D = DESCRIPTIONS


class AdminSettingsResponse(BaseModel):
    users_may_add_private_servers: bool = Field(description=_D["users_may_add_private_servers"])
    users_may_add_loopback_servers: bool = Field(
        description=_D["users_may_add_loopback_servers"]
    )
    url_fetch_may_reach_local_networks: bool = Field(
        description=_D["url_fetch_may_reach_local_networks"]
    )


class AdminSettingsUpdate(BaseModel):
    """Settings left out (or null) keep their value."""

    model_config = ConfigDict(extra="forbid")

    users_may_add_private_servers: StrictBool | None = None
    users_may_add_loopback_servers: StrictBool | None = None
    url_fetch_may_reach_local_networks: StrictBool | None = None


@router.get("/settings", response_model=AdminSettingsResponse)
def get_settings(user: UserDep, services: ServicesDep) -> dict:
    return dataclasses.asdict(services.settings.get(user.id))


@router.put("/settings", response_model=AdminSettingsResponse)
def update_settings(body: AdminSettingsUpdate, user: UserDep, services: ServicesDep) -> dict:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    return dataclasses.asdict(services.settings.update(user.id, changes))
