"""Health and sign-in: the only routes that need no token."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request, Response

from .. import __version__
from .deps import ServicesDep, bearer_token, unauthorized
from .models import ErrorResponse, HealthResponse, TokenRequest, TokenResponse, UserResponse

router = APIRouter(tags=["auth"])


@router.get("/health", response_model=HealthResponse)
def health() -> dict:
    return {"status": "ok", "version": __version__}


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    responses={401: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
async def create_token(body: TokenRequest, request: Request, services: ServicesDep) -> dict:
    address = request.client.host if request.client else "unknown"
    user = await asyncio.to_thread(services.auth.sign_in, body.username, body.password, address)
    token = await asyncio.to_thread(services.auth.issue_token, user.id)
    return {
        "token": token,
        "token_type": "bearer",
        "user": UserResponse(id=user.id, username=user.username, is_admin=user.is_admin),
    }


@router.delete("/auth/token", status_code=204, responses={401: {"model": ErrorResponse}})
def revoke_token(services: ServicesDep, token: str = Depends(bearer_token)) -> Response:
    if not services.auth.revoke_token(token):
        raise unauthorized("invalid or revoked token")
    return Response(status_code=204)
