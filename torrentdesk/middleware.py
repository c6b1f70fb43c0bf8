"""What every request meets before the app reads it (SPEC §14): a `Host` that is not one of this
server's names is refused, and so is a change asked by another site's page; no page may be
framed; a body is refused before a byte of it is read when its sender may not send one or says
it is too large, and cut off as soon as it grows past its limit; cookies are `Secure` when the
request came over https.

Plain ASGI: nothing here reads a body it lets through, it only counts what the app reads.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIB = 1024 * 1024
BODY_LIMIT = 4 * MIB  # 10 000 batch-action targets are ~1.05 MiB of JSON
# A .torrent of up to 10 MiB (torrent_input.MAX_TORRENT_FILE_SIZE) in its multipart wrapping:
# the API's upload, and the add dialog's (NiceGUI's per-element upload route).
UPLOAD_LIMIT = 11 * MIB
UPLOAD_PATHS = re.compile(
    r"/torrents/upload|/rules/preview|/_nicegui/client/[^/]+/upload/[^/]+"
)
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


def outermost(app, *middlewares: Callable[[ASGIApp], ASGIApp]) -> None:
    """Wrap `app`'s whole middleware stack in `middlewares` (the first the outermost), outside
    even the session middleware NiceGUI adds when it starts (`add_middleware` puts ours inside
    it). Idempotent: it wraps the class's own builder, so building the app again (as NiceGUI's
    tests do) wraps once."""
    build = type(app).build_middleware_stack

    def wrapped() -> ASGIApp:
        stack = build(app)
        for middleware in reversed(middlewares):
            stack = middleware(stack)
        return stack

    app.build_middleware_stack = wrapped


# -- Where requests may come from (SPEC §14) --------------------------------------------------

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
ANY_ADDRESS = ("0.0.0.0", "::", "")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# On every answer: no other site may show our pages in a frame (clickjacking).
NO_FRAMES = "frame-ancestors 'none'"
FRAME_HEADERS = {"Content-Security-Policy": NO_FRAMES, "X-Frame-Options": "DENY"}
BAD_HOST = "this server does not answer to that host name; use its address or an --allowed-host"
FOREIGN_ORIGIN = "cross-origin request refused: this page is not served by this server"
_HOST_HEADER = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\[\]:/@\s]+)(:\d{1,5})?")


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """The names this server answers to (the `Host` header), and the origins whose pages may
    change things here.

    `names`: loopback, the bound address, and `--allowed-host` names; `proxy_names` are those
    `--allowed-host` names (a reverse proxy's public names: their pages are ours whatever the
    scheme and port). `any_local_address`: bound to every address, so any address of this
    machine is a name too."""

    names: frozenset[str]
    proxy_names: frozenset[str] = frozenset()
    any_local_address: bool = False

    @classmethod
    def serving(cls, bind_host: str, allowed_hosts: Iterable[str] = ()) -> HostPolicy:
        """The policy of a server bound to `bind_host`: with 0.0.0.0 (or ::) the machine's own
        host names and addresses are its names too."""
        proxies = {n for n in map(_configured_name, allowed_hosts) if n}
        names = {*LOOPBACK_NAMES, *proxies}
        everywhere = bind_host.strip() in ANY_ADDRESS
        if everywhere:
            names |= machine_names()
        elif bound := _configured_name(bind_host):
            names.add(bound)
        return cls(frozenset(names), frozenset(proxies), everywhere)

    def host_allowed(self, host_header: str | None) -> bool:
        name = host_name(host_header or "")
        name = name and _configured_name(name)  # one spelling per IPv6 address
        if not name:
            return False
        if name in self.names:
            return True
        return self.any_local_address and is_local_address(name)

    def origin_allowed(self, origin: str | None, host_header: str | None) -> bool:
        """Whether a page at `origin` (an Origin or Referer) is one of ours: the same host and
        port the request was sent to, or a name of the reverse proxy in front."""
        if not origin:
            return False
        try:
            netloc = urlsplit(origin).netloc.lower()
        except ValueError:
            return False
        if not netloc or "@" in netloc:
            return False
        if netloc == (host_header or "").strip().lower():
            return True
        return host_name(netloc) in self.proxy_names


def host_name(host: str) -> str:
    """The name in a `Host` header or an address (port, brackets and a trailing dot dropped,
    lower case); "" when it is not a host name at all."""
    match = _HOST_HEADER.fullmatch(host.strip())
    if match is None:
        return ""
    return match[1].strip("[]").rstrip(".").lower()


def machine_names() -> set[str]:
    """This machine's host name (with its domain and mDNS forms) and the addresses it
    resolves to."""
    names = set()
    for name in {socket.gethostname(), socket.getfqdn()}:
        if not name:
            continue
        names |= {name.lower(), f"{name.split('.')[0].lower()}.local"}
        with contextlib.suppress(OSError):
            names |= {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
    return {n for n in map(_configured_name, names) if n}


def _configured_name(value: str) -> str:
    """A name or address as given on the command line or found for this machine: an IPv6
    address may come bare (`fe80::1`, with a `%zone`), as a Host header never does."""
    try:
        return str(ipaddress.ip_address(value.strip().strip("[]").split("%")[0]))
    except ValueError:
        return host_name(value)


@functools.lru_cache(maxsize=256)
def is_local_address(name: str) -> bool:
    """Whether `name` is an IP address of this machine: one it can bind to."""
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(address), 0))
    except OSError:
        return False
    return True


class RequestGuard:
    """Outermost, before any other work: a request (or websocket) whose `Host` is not a name of
    this server is refused with 400 (DNS rebinding); a state-changing request whose `Origin`
    (or, lacking one, `Referer`) is another site's gets 403 (cross-site request forgery;
    scripts that send neither keep working); and no page may be framed by another site."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host")
        if not self.policy.host_allowed(host):
            await _refuse(scope, receive, send, 400, BAD_HOST)
            return
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            origin = headers.get("origin") or headers.get("referer")
            if origin and not self.policy.origin_allowed(origin, host):
                await _refuse(scope, receive, send, 403, FOREIGN_ORIGIN)
                return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def framed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                forbid_frames(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, framed_send)


def forbid_frames(headers: MutableHeaders) -> None:
    """Add the frame headers; a page's own Content-Security-Policy (the API docs have one)
    gets `frame-ancestors 'none'` added to it."""
    policy = headers.get("content-security-policy")
    if policy is None:
        headers["Content-Security-Policy"] = NO_FRAMES
    elif "frame-ancestors" not in policy:
        headers["Content-Security-Policy"] = f"{policy.rstrip('; ')}; {NO_FRAMES}"
    headers["X-Frame-Options"] = "DENY"


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": detail})
        return
    await _answer(scope, receive, send, status, detail, FRAME_HEADERS)


def socketio_origin_check(policy: HostPolicy) -> Callable[[str | None, dict], bool]:
    """engineio's `cors_allowed_origins` as a function: a socket.io connection (websocket or
    long-polling) from another site's page is refused; one without an Origin (not a browser)
    passes, as the Host check already did."""

    def allowed(origin: str | None, environ: dict) -> bool:
        return not origin or policy.origin_allowed(origin, environ.get("HTTP_HOST"))

    return allowed
