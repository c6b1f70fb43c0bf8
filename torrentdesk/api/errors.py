"""One place that turns service and client errors into HTTP statuses (SPEC §5)."""

from __future__ import annotations

import math

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..services.auth import InvalidCredentials, TooManyAttempts
from ..services.errors import (
    AlreadyExists,
    ClientError,
    Conflict,
    DuplicateTorrent,
    Forbidden,
    InvalidInput,
    NotCapable,
    NotFound,
    TimeoutError,
    TorrentNotFound,
)
from ..services.servers import InvalidField
from ..services.torrents import AmbiguousTorrent
from ..services.url_fetch import FetchFailed, FetchTimedOut
from ..torrent_input import InvalidTorrentInput


def _detail(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"detail": message, **extra}, status_code=status)


def _validation(field: str, message: str) -> JSONResponse:
    """A 422 in FastAPI's own validation format, for checks made past the request model."""
    error = {"type": "value_error", "loc": ["body", field], "msg": message, "input": None}
    return JSONResponse({"detail": [error]}, status_code=422)


async def _client_error(_: Request, exc: ClientError) -> JSONResponse:
    if isinstance(exc, TorrentNotFound):
        return _detail(404, str(exc))
    if isinstance(exc, DuplicateTorrent):
        return _detail(409, str(exc), info_hash=exc.info_hash)
    if isinstance(exc, TimeoutError):
        return _detail(504, str(exc))
    return _detail(502, str(exc))


async def _service_error(_: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, AmbiguousTorrent):
        return _detail(409, str(exc), server_ids=exc.server_ids)
    if isinstance(exc, NotFound):
        return _detail(404, str(exc))
    if isinstance(exc, AlreadyExists | Conflict):
        return _detail(409, str(exc))
    if isinstance(exc, Forbidden):
        return _detail(403, str(exc))
    if isinstance(exc, TooManyAttempts):
        return JSONResponse(
            {"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after)}
        )
    if isinstance(exc, InvalidCredentials):
        return _detail(401, str(exc))
    if isinstance(exc, FetchFailed):
        return _detail(504 if isinstance(exc, FetchTimedOut) else 502, str(exc))
    if isinstance(exc, InvalidField):
        return _validation(exc.field, str(exc))
    return _validation("body", str(exc))  # any other InvalidInput


async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's own 422, made safe to write: the inputs it echoes may be NaN or hold lone
    surrogates, which JSON cannot carry (FastAPI's handler would answer 500)."""
    return JSONResponse({"detail": _writable(jsonable_encoder(exc.errors()))}, status_code=422)


def _writable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_writable(item) for item in value]
    if isinstance(value, dict):
        return {key: _writable(item) for key, item in value.items()}
    return value


async def _torrent_input_error(_: Request, exc: InvalidTorrentInput) -> JSONResponse:
    return _validation("file", str(exc))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(ClientError, _client_error)
    for error in (
        NotFound,
        AlreadyExists,
        Forbidden,
        Conflict,
        AmbiguousTorrent,
        TooManyAttempts,
        InvalidCredentials,
        InvalidInput,
        FetchFailed,
        NotCapable,
    ):
        app.add_exception_handler(error, _service_error)
    app.add_exception_handler(InvalidTorrentInput, _torrent_input_error)
