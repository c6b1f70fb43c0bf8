""""While you were away" (SPEC §11): what happened on your servers since your last visit."""

from __future__ import annotations

import asyncio
import dataclasses

from fastapi import APIRouter, Response

from .deps import ServicesDep, UserDep
from .models import AwayResponse, ErrorResponse

router = APIRouter(prefix="/away", tags=["away"], responses={401: {"model": ErrorResponse}})


@router.get("", response_model=AwayResponse)
async def away_summary(user: UserDep, services: ServicesDep) -> dict:
    """What finished, failed, was added or removed on each of your servers since your last
    visit (a page closed, or this summary dismissed); `since` null on a first visit."""
    summary = await asyncio.to_thread(services.away.summary, user.id)
    return dataclasses.asdict(summary)


@router.post("/dismiss", status_code=204)
async def dismiss_away_summary(user: UserDep, services: ServicesDep) -> Response:
    """You have seen everything up to now: the next summary starts here."""
    await asyncio.to_thread(services.away.seen, user.id)
    return Response(status_code=204)
