"""The caller's add rules and their preview (SPEC §11)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from ..services.errors import InvalidInput
from ..torrent_input import MAX_TORRENT_FILE_SIZE, parse_torrent_file
from .deps import ServicesDep, UserDep
from .models import ErrorResponse, Rule, RulePreviewRequest, RulePreviewResponse

router = APIRouter(prefix="/rules", tags=["rules"], responses={401: {"model": ErrorResponse}})


@router.get("", response_model=list[Rule])
async def get_rules(user: UserDep, services: ServicesDep) -> list[dict]:
    return await asyncio.to_thread(services.torrents.rules.get, user.id)


@router.put("", response_model=list[Rule])
async def put_rules(
    rules: Annotated[list[Rule], Body(max_length=100)], user: UserDep, services: ServicesDep
) -> list[dict]:
    """Replace the whole ordered list; the first rule that matches an add wins."""
    plain = [r.model_dump(exclude_none=True) for r in rules]
    for rule in plain:  # an absent directory is stored as null, the others as given
        rule.setdefault("download_dir", None)
    return await asyncio.to_thread(services.torrents.rules.put, user.id, plain)


@router.post(
    "/preview",
    response_model=RulePreviewResponse,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": RulePreviewRequest.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            }
        }
    },
)
async def preview(request: Request, user: UserDep, services: ServicesDep) -> dict:
    """What an add without a server would do with this magnet, URL (JSON `{"uri"}`) or
    .torrent file (multipart `file`)."""
    torrents = services.torrents
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("send the .torrent as the multipart field `file`")
        data = await upload.read(MAX_TORRENT_FILE_SIZE + 1)
        source = await asyncio.to_thread(parse_torrent_file, data)
        labels: list[str] = []
    else:
        try:
            body = RulePreviewRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        source, labels = await torrents.source_of(body.uri), body.labels
    choice = await torrents.preview(user.id, source, labels)
    return {
        "rule": choice.rule,
        "server_ids": choice.server_ids,
        "labels": choice.labels,
        "download_dir": choice.download_dir,
    }

