"""What every request meets before the app reads it (SPEC §14): a body is refused before a byte
of it is read when its sender may not send one or says it is too large, and cut off as soon as
it grows past its limit; cookies are `Secure` when the request came over https.

Plain ASGI: nothing here reads a body it lets through, it only counts what the app reads.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIB = 1024 * 1024
BODY_LIMIT = 4 * MIB  # 10 000 batch-action targets are ~1.05 MiB of JSON
# A .torrent of up to 10 MiB (torrent_input.MAX_TORRENT_FILE_SIZE) in its multipart wrapping:
# the API's upload, and the add dialog's (NiceGUI's per-element upload route).
UPLOAD_LIMIT = 11 * MIB
UPLOAD_PATHS = re.compile(r"/torrents/upload|/_nicegui/client/[^/]+/upload/[^/]+")
UNAUTHORIZED = "sign in first: a session, or a bearer token from POST /auth/token"

Authorize = Callable[[Scope], Awaitable[bool]]


def body_limit(path: str) -> int:
    return UPLOAD_LIMIT if UPLOAD_PATHS.fullmatch(path) else BODY_LIMIT


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit: FastAPI and Starlette turn it
    into a 413 wherever the body was being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit))


def too_large(limit: int) -> str:
    return f"the request body is larger than {limit // MIB} MiB, the most accepted here"


class BodyLimits:
    """Bodies bounded before they are read.

    A request that carries a body (a Content-Length above 0, or chunked) is first shown to
    `authorize`: refused, it gets a 401 at once, its body unread. Then a Content-Length over the
    path's limit gets a 413 at once; a body sent without one is counted as the app reads it and
    cut off with a 413 past the limit.
    """

    def __init__(self, app: ASGIApp, authorize: Authorize) -> None:
        self.app = app
        self._authorize = authorize

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if (length is None and "transfer-encoding" not in headers) or length == "0":
            await self.app(scope, receive, send)  # no body
            return
        if not await self._authorize(scope):
            await _answer(scope, receive, send, 401, UNAUTHORIZED, {"WWW-Authenticate": "Bearer"})
            return
        limit = body_limit(scope["path"])
        if length is not None and (not length.isdigit() or int(length) > limit):
            # (uvicorn's parser refuses a malformed length before it gets here)
            await _answer(scope, receive, send, 413, too_large(limit))
            return

        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, watched_send)
        except BodyTooLarge as exc:  # read where no exception handler answered it
            if started:
                raise
            await _answer(scope, receive, send, exc.status_code, exc.detail)


async def _answer(
    scope: Scope, receive: Receive, send: Send, status: int, detail: str, headers=None
) -> None:
    await JSONResponse({"detail": detail}, status_code=status, headers=headers)(
        scope, receive, send
    )


class SecureCookies:
    """Every cookie set over https (TLS, or a proxy whose forwarded headers uvicorn trusts) is
    `Secure`; over plain http, as on a LAN, it cannot be."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def secure_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                cookies = headers.getlist("set-cookie")
                if cookies:
                    del headers["set-cookie"]
                    for cookie in cookies:
                        secure = "secure" in cookie.lower().replace(" ", "").split(";")
                        headers.append("set-cookie", cookie if secure else f"{cookie}; secure")
            await send(message)

        await self.app(scope, receive, secure_send)


def outermost(app, middleware: Callable[[ASGIApp], ASGIApp]) -> None:
    """Wrap `app`'s whole middleware stack, outside even the session middleware NiceGUI adds
    when it starts (`add_middleware` puts ours inside it). Idempotent: it wraps the class's own
    builder, so building the app again (as NiceGUI's tests do) wraps once."""
    build = type(app).build_middleware_stack
    app.build_middleware_stack = lambda: middleware(build(app))
