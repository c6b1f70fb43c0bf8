"""The caller's audit log."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Query

from ..services.audit import MAX_LIMIT
from .deps import ServicesDep, UserDep
from .models import ActionResponse, ErrorResponse

router = APIRouter(tags=["audit"], responses={401: {"model": ErrorResponse}})


@router.get("/actions", response_model=list[ActionResponse])
def list_actions(
    user: UserDep, services: ServicesDep, limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50
) -> list[dict]:
    return [dataclasses.asdict(a) for a in services.audit.latest(user.id, limit)]
