"""The wire under both clients: a reply read against ONE deadline per call and a size cap.

A socket timeout only bounds each read: a server that drips one byte every 2 s never trips it
and holds the calling thread for ever. Here every read gets what is left of the call's deadline,
so a call ends by it whatever the server does. Replies are read into one growing buffer (never
a list of chunks joined afterwards) and refused past `reply_limit()` bytes — at once when the
server announces a larger length — so a huge reply never sits in memory twice, nor at all
beyond the cap. No error here ever carries what the server sent: a reply that is not what we
asked for is described, never quoted (an internal service's page may hold a secret).
"""

from __future__ import annotations

import base64
import errno
import functools
import http
import os
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from . import errors

# One rTorrent with 50 000 torrents answers ~37 MiB (~44 MiB with trackers): room to spare.
MAX_REPLY_BYTES = 128 * 1024 * 1024
MAX_REPLY_ENV = "TORRENTDESK_MAX_REPLY_MIB"
_MAX_HEAD = 64 * 1024
_READ_SIZE = 256 * 1024
_HEX_SIZE = re.compile(rb"[0-9a-fA-F]{1,15}")
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-5][0-9][0-9])(?: [^\r\n]*)?")


def reply_limit() -> int:
    """The largest reply body accepted, in bytes: TORRENTDESK_MAX_REPLY_MIB, else 128 MiB."""
    value = os.environ.get(MAX_REPLY_ENV, "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value) * 1024 * 1024
    return MAX_REPLY_BYTES


def mib(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MiB"


def too_large(server: str, where: str, size: int | None, limit: int) -> errors.ProtocolError:
    announced = f" (it announced {mib(size)})" if size is not None else ""
    return errors.ProtocolError(
        server,
        f"the reply from {where} was too large: more than {mib(limit)}{announced} — is this "
        f"really the torrent server? ({MAX_REPLY_ENV} raises the limit)",
    )


class Deadline:
    """What is left of one call's time; every socket operation gets only that."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def arm(self, sock: socket.socket) -> None:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the call's deadline passed")
        sock.settimeout(remaining)


@dataclass(slots=True)
class Reader:
    """Reads one reply from a socket against a deadline and a cap on the body."""

    sock: socket.socket
    deadline: Deadline
    limit: int
    buffer: bytearray
    received: int = 0  # bytes read from the socket so far (0: the server said nothing yet)

    def more(self) -> bool:
        """Read what the server sends next into the buffer; False when it closed."""
        self.deadline.arm(self.sock)
        chunk = self.sock.recv(_READ_SIZE)
        if not chunk:
            return False
        self.received += len(chunk)
        self.buffer += chunk
        return True

    def until(self, marker: bytes, start: int, most: int) -> int | None:
        """The index of `marker` at or after `start` (None: closed first, or more than `most`
        bytes without it)."""
        while True:
            found = self.buffer.find(marker, start)
            if found >= 0:
                return found
            if len(self.buffer) > most or not self.more():
                return None
            start = max(0, len(self.buffer) - _READ_SIZE - len(marker))


def check_first_byte(body: bytearray | bytes, allowed: bytes) -> bool | None:
    """Whether the body's first non-space byte is one of `allowed` (None: none yet)."""
    stripped = bytes(body[:64]).lstrip()
    if not stripped:
        return None if len(body) < 64 else False
    return stripped[:1] in allowed


class NotExpected(Exception):
    """The body does not start like the protocol asked for: stop reading."""


def read_body(
    reader: Reader, start: int, length: int | None, chunked: bool, expect: bytes | None
) -> bytearray:
    """The body that begins at `start` of the reader's buffer: by Content-Length, chunked, or
    until the server closes; the buffer becomes the body (no copy of a big reply)."""
    buffer = reader.buffer
    del buffer[:start]  # O(1) in CPython: the bytearray only moves its start
    if chunked:
        return _read_chunked(reader, expect)
    if length is not None and length > reader.limit:
        raise TooLarge(length)
    checked = expect is None
    while length is None or len(buffer) < length:
        if not checked:
            verdict = check_first_byte(buffer, expect)  # type: ignore[arg-type]
            if verdict is False:
                raise NotExpected
            checked = verdict is True
        if len(buffer) > reader.limit:
            raise TooLarge(None)
        if not reader.more():
            if length is not None:
                raise CutOff
            break
    if length is not None:
        del buffer[length:]
    if not checked and check_first_byte(buffer, expect) is not True:  # type: ignore[arg-type]
        raise NotExpected
    return buffer


class TooLarge(Exception):
    def __init__(self, announced: int | None) -> None:
        super().__init__(announced)
        self.announced = announced


class CutOff(Exception):
    """The reply is not HTTP/1.x, or the server closed before it was complete."""


@contextmanager
def failures_translated(
    server: str, where: str, limit: int, on_os_error: Callable[[OSError], errors.ClientError]
) -> Iterator[None]:
    """Our errors for what reading a reply can meet; never a byte of the reply in them."""
    try:
        yield
    except TooLarge as exc:
        raise too_large(server, where, exc.announced, limit) from None
    except CutOff:
        raise errors.ProtocolError(
            server,
            f"{where} did not answer with valid HTTP (a broken or cut-off reply) — check the "
            "host, port and protocol",
        ) from None
    except OSError as exc:
        raise on_os_error(exc) from None


def _read_chunked(reader: Reader, expect: bytes | None) -> bytearray:
    """A chunked body, decoded as the chunks arrive (a body sent as one chunk is not copied)."""
    body = bytearray()
    checked = expect is None
    while True:
        line_end = reader.until(b"\r\n", 0, 1024)
        if line_end is None:
            raise CutOff
        raw = reader.buffer
        size_text = bytes(raw[:line_end]).split(b";", 1)[0].strip()
        if not _HEX_SIZE.fullmatch(size_text):
            raise CutOff
        size = int(size_text, 16)
        del raw[: line_end + 2]
        if size == 0:
            return body  # trailers are never read: the connection is not reused
        if len(body) + size > reader.limit:
            raise TooLarge(None)
        while len(raw) < size + 2:
            if not checked:
                verdict = check_first_byte(body + raw[:64], expect)  # type: ignore[arg-type]
                if verdict is False:
                    raise NotExpected
                checked = verdict is True
            if not reader.more():
                raise CutOff
        if raw[size : size + 2] != b"\r\n":
            raise CutOff
        if body:
            body += memoryview(raw)[:size]
            del raw[: size + 2]
        else:
            reader.buffer = raw[size + 2 :]
            del raw[size:]
            body = raw
        if not checked:
            verdict = check_first_byte(body, expect)  # type: ignore[arg-type]
            if verdict is False:
                raise NotExpected
            checked = verdict is True


def status_phrase(status: int) -> str:
    """The standard phrase of an HTTP status: the server's own could say anything."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def basic_auth(username: str | None, password: str | None) -> dict[str, str]:
    if not username:
        return {}
    token = base64.b64encode(f"{username}:{password or ''}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


@dataclass(slots=True)
class HttpReply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytearray  # empty unless the status was 200


class HttpConnection:
    """HTTP/1.1 POSTs over one keep-alive connection, each bounded by one deadline and the
    reply cap. Raises only our errors (each naming the server); a request on a reused
    connection the server had closed meanwhile is sent again once on a fresh one."""

    def __init__(
        self, server: str, host: str, port: int, timeout: float, https: bool, where: str
    ) -> None:
        self.server = server
        self.host = host
        self.port = port
        self.timeout = timeout
        self.https = https
        self.where = where
        self._sock: socket.socket | None = None
        self.on_os_error: Callable[[OSError], errors.ClientError] = functools.partial(
            os_error, server, where=where
        )

    def post(
        self, path: str, body: bytes, headers: dict[str, str], expect: bytes | None = None
    ) -> HttpReply:
        """POST `body`; the reply's body is read only for status 200 and must start with a
        byte of `expect` (else `NotExpected`: the protocol's error is the caller's)."""
        deadline = Deadline(self.timeout)
        limit = reply_limit()
        try:
            with failures_translated(self.server, self.where, limit, self.on_os_error):
                try:
                    return self._exchange(path, body, headers, expect, deadline, limit, False)
                except _Stale:
                    self.close()
                    return self._exchange(path, body, headers, expect, deadline, limit, True)
        except BaseException:
            self.close()
            raise

    def _exchange(self, path, body, headers, expect, deadline, limit, fresh) -> HttpReply:
        reused = self._sock is not None and not fresh
        if self._sock is None:
            self._sock = self._connect(deadline)
        sock = self._sock
        head = [f"POST {path} HTTP/1.1", f"Host: {self._host_header()}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        reader = Reader(sock, deadline, limit, bytearray())
        try:
            deadline.arm(sock)
            sock.sendall(request)
            end = reader.until(b"\r\n\r\n", 0, _MAX_HEAD)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            if reused and reader.received == 0:
                raise _Stale from None
            raise
        if end is None:
            if reused and reader.received == 0:
                raise _Stale
            if reader.received == 0:
                raise ConnectionResetError(errno.ECONNRESET, "closed without a reply")
            raise CutOff
        status, reply_headers, keep_alive = _parse_head(bytes(reader.buffer[:end]))
        if status != 200:
            self.close()  # the body is of no use to us: never read it
            return HttpReply(status, reply_headers, bytearray())
        length_text = reply_headers.get("content-length")
        chunked = "chunked" in reply_headers.get("transfer-encoding", "").lower()
        length = None if length_text is None or chunked else content_length(length_text)
        if length is None:
            keep_alive = False  # the body ends when the server closes (or after trailers)
        data = read_body(reader, end + 4, length, chunked, expect)
        if not keep_alive:
            self.close()
        return HttpReply(status, reply_headers, data)

    def _host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.https else 80
        return host if self.port == default else f"{host}:{self.port}"

    def _connect(self, deadline: Deadline) -> socket.socket:
        remaining = max(deadline.end - time.monotonic(), 0.001)
        sock = socket.create_connection((self.host, self.port), timeout=remaining)
        if self.https:
            try:
                deadline.arm(sock)
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        return sock

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with suppress(OSError):
                sock.close()


class _Stale(Exception):
    """A reused keep-alive connection was closed by the server before it answered."""


def content_length(text: str) -> int:
    """A Content-Length value; a length no reply of ours could have is too large at once."""
    digits = text.strip()
    if not digits.isdigit() or not digits.isascii():
        raise CutOff
    if len(digits) > 15:
        raise TooLarge(None)
    return int(digits)


def _parse_head(head: bytes) -> tuple[int, dict[str, str], bool]:
    lines = head.split(b"\r\n")
    match = _STATUS_LINE.fullmatch(lines[0])
    if match is None:
        raise CutOff
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            raise CutOff
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    connection = headers.get("connection", "").lower()
    keep_alive = lines[0].startswith(b"HTTP/1.1") and "close" not in connection
    return int(match[1]), headers, keep_alive


def os_error(
    server: str, exc: OSError, where: str, product: str = "rTorrent"
) -> errors.ClientError:
    """Our error for a socket-level failure talking to `where` (host:port)."""
    if isinstance(exc, TimeoutError):  # builtin (socket.timeout); must come before OSError
        return errors.TimeoutError(server, f"no answer from {where} within the timeout")
    if isinstance(exc, socket.gaierror):
        return errors.ConnectError(server, f"cannot resolve the host of {where} ({exc.strerror})")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return errors.ConnectError(
            server,
            f"TLS certificate of {where} not trusted ({exc.verify_message}) "
            "— check the host name and the server's certificate",
        )
    if isinstance(exc, ssl.SSLError):
        return errors.ConnectError(server, f"TLS failed with {where} ({exc.reason or exc})")
    if isinstance(exc, ConnectionRefusedError):
        return errors.ConnectError(
            server, f"connection refused by {where} — is {product} running and is the port right?"
        )
    if isinstance(exc, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        return errors.ConnectError(
            server,
            f"{where} closed the connection — the request may exceed rTorrent's "
            f"network.xmlrpc.size_limit, or the port is not {product}'s",
        )
    if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return errors.ConnectError(server, f"{where} is unreachable ({exc.strerror})")
    return errors.ConnectError(server, f"cannot talk to {where} ({exc.strerror or exc})")
