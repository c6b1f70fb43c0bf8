"""Local tools on this machine (`torrentdesk add`) sign in with the key of the app's run file
(torrentdesk/runfile.py) and get an ordinary token for the user they act as."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request

from ..runfile import LOCAL_AUTH_PATH
from ..services.errors import NotFound
from .deps import ServicesDep, bearer_token, unauthorized
from .models import ErrorResponse, TokenResponse, UserResponse

router = APIRouter(tags=["auth"])


@router.post(
    LOCAL_AUTH_PATH,
    response_model=TokenResponse,
    responses={401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}},
)
async def local_token(
    request: Request,
    services: ServicesDep,
    key: str = Depends(bearer_token),
    username: str | None = None,
) -> dict:
    """A token for `username` (default: the owner, the first admin) for a process that read the
    key in the app's run file (`DATA_DIR/run.json`, mode 0600). Revoke it when done."""
    control = getattr(request.app.state, "local_control", None)
    if control is None or not control.accepts(key):
        raise unauthorized("not this run's local key: read it from the data dir's run.json")
    if username is None:
        user = await asyncio.to_thread(services.users.owner)
        if user is None:
            raise NotFound("there is no admin account to act as: name a user")
    else:
        user = await asyncio.to_thread(services.users.get, username)
    token = await asyncio.to_thread(services.auth.issue_token, user.id)
    return {
        "token": token,
        "token_type": "bearer",
        "user": UserResponse(id=user.id, username=user.username, is_admin=user.is_admin),
    }
