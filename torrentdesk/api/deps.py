"""What every route needs: the services, and the signed-in user behind a bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..services import Services
from ..services.users import UserInfo

_bearer = HTTPBearer(auto_error=False, description="a token from POST /auth/token")


def get_services(request: Request) -> Services:
    return request.app.state.services


def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise unauthorized("missing bearer token: sign in with POST /auth/token")
    return credentials.credentials


def current_user(
    token: Annotated[str, Depends(bearer_token)],
    services: Annotated[Services, Depends(get_services)],
) -> UserInfo:
    # A sync dependency: FastAPI runs it in its thread pool, off the event loop.
    user = services.auth.user_for_token(token)
    if user is None:
        raise unauthorized("invalid or revoked token: sign in again with POST /auth/token")
    return user


def unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


ServicesDep = Annotated[Services, Depends(get_services)]
UserDep = Annotated[UserInfo, Depends(current_user)]
