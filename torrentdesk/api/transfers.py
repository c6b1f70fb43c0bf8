"""Copy or move torrents between the caller's servers (SPEC §11)."""

from __future__ import annotations

import asyncio
import dataclasses

from fastapi import APIRouter

from ..services.transfers import TransferView
from .deps import ServicesDep, UserDep
from .models import CancelledTransferResponse, ErrorResponse, TransferRequest, TransferResponse

router = APIRouter(
    prefix="/transfers", tags=["transfers"], responses={401: {"model": ErrorResponse}}
)
_NOT_FOUND = {404: {"model": ErrorResponse}}


def _shown(view: TransferView) -> dict:
    row = dataclasses.asdict(view)
    row["server_id"] = row.pop("source_id")
    row["to_server_id"] = row.pop("target_id")
    return row


@router.post("", status_code=202, response_model=TransferResponse, responses=_NOT_FOUND)
async def create_transfer(body: TransferRequest, user: UserDep, services: ServicesDep) -> dict:
    """Start a copy or move job; follow it with GET /transfers/{id}."""
    view = await services.transfers.create(
        user.id,
        body.server_id,
        body.info_hash,
        body.to_server_id,
        body.mode,
        body.same_storage,
        body.download_dir,
        body.allow_magnet,
    )
    return _shown(view)


@router.get("", response_model=list[TransferResponse])
async def list_transfers(user: UserDep, services: ServicesDep) -> list[dict]:
    return [_shown(v) for v in await asyncio.to_thread(services.transfers.list, user.id)]


@router.get("/{transfer_id}", response_model=TransferResponse, responses=_NOT_FOUND)
async def get_transfer(transfer_id: str, user: UserDep, services: ServicesDep) -> dict:
    return _shown(await asyncio.to_thread(services.transfers.get, user.id, transfer_id))


@router.delete(
    "/{transfer_id}",
    response_model=CancelledTransferResponse,
    responses={**_NOT_FOUND, 409: {"model": ErrorResponse}},
)
async def cancel_transfer(transfer_id: str, user: UserDep, services: ServicesDep) -> dict:
    """Cancel a queued or running transfer; what it already did on the target stays."""
    view, left = await services.transfers.cancel(user.id, transfer_id)
    return {**_shown(view), "left": left}
