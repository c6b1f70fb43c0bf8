"""Transports that carry one XML-RPC request body to rTorrent and bring back the reply body.

rTorrent speaks SCGI itself (`ScgiTransport`); behind a web server (nginx `scgi_pass`, usually with
basic auth) it is reached over HTTP(S) (`HttpTransport`). Both expose `post(body) -> bytearray`
and raise only our own errors, each naming the server; both bound each call by one deadline and
the reply cap (`transport`).
"""

from __future__ import annotations

import functools
import socket
import threading
import time

from . import errors, transport

_MAX_HEAD = 16384


class ScgiTransport:
    """Raw SCGI over TCP: one connection per request, as rTorrent closes it after replying."""

    def __init__(self, server: str, host: str, port: int, timeout: float) -> None:
        self.server = server
        self.host = host
        self.port = port
        self.timeout = timeout
        self.where = f"scgi://{host}:{port}"

    def post(self, body: bytes) -> bytearray:
        headers = (
            b"CONTENT_LENGTH\x00%d\x00SCGI\x001\x00REQUEST_METHOD\x00POST\x00REQUEST_URI\x00/RPC2\x00"
            % len(body)
        )
        request = b"%d:%s,%s" % (len(headers), headers, body)
        deadline = transport.Deadline(self.timeout)
        limit = transport.reply_limit()
        on_os_error = functools.partial(transport.os_error, self.server, where=self.where)
        with transport.failures_translated(self.server, self.where, limit, on_os_error):
            remaining = max(deadline.end - time.monotonic(), 0.001)
            with socket.create_connection((self.host, self.port), timeout=remaining) as sock:
                deadline.arm(sock)
                sock.sendall(request)
                return self._read(transport.Reader(sock, deadline, limit, bytearray()))

    def _read(self, reader: transport.Reader) -> bytearray:
        """The reply's body: up to Content-Length when given, else until the server closes."""
        end = reader.until(b"\r\n\r\n", 0, _MAX_HEAD)
        separator = 4
        if end is None:
            end, separator = reader.buffer.find(b"\n\n", 0, _MAX_HEAD), 2
        if end < 0:
            raise errors.ProtocolError(
                self.server,
                f"{self.where} did not answer like rTorrent's SCGI port "
                f"({reader.received} bytes without SCGI headers) — check the port and protocol",
            )
        length = None
        for line in bytes(reader.buffer[:end]).splitlines():
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"status" and not value.strip().startswith(b"200"):
                status = value.strip()[:3].decode("latin-1")
                status = status if status.isdigit() else "that is not a number"
                raise errors.ProtocolError(self.server, f"{self.where} answered status {status}")
            if name == b"content-length":
                length = transport.content_length(value.decode("latin-1"))
        return transport.read_body(reader, end + separator, length, False, None)

class HttpTransport:
    """XML-RPC over HTTP(S) to a web server that passes /RPC2 on to rTorrent's SCGI port.

    Keeps one keep-alive connection; a request on a reused connection that the server had
    already closed is retried once on a fresh one (as `xmlrpc.client.Transport` does).
    """

    def __init__(
        self,
        server: str,
        host: str,
        port: int,
        timeout: float,
        https: bool = False,
        username: str | None = None,
        password: str | None = None,
        rpc_path: str | None = None,
    ) -> None:
        self.server = server
        self.path = rpc_path or "/RPC2"
        if not self.path.startswith("/"):
            self.path = "/" + self.path
        scheme = "https" if https else "http"
        self.where = f"{scheme}://{host}:{port}{self.path}"
        self.headers = {"Content-Type": "text/xml", "User-Agent": "torrentdesk"}
        self.headers.update(transport.basic_auth(username, password))
        self._connection = transport.HttpConnection(
            server, host, port, timeout, https, self.where
        )
        self._lock = threading.Lock()

    def post(self, body: bytes) -> bytearray:
        with self._lock:
            reply = self._connection.post(self.path, body, self.headers)
        status = reply.status
        if status in (401, 403):
            detail = (
                "wrong username or password" if status == 401 else "access forbidden for this user"
            )
            raise errors.AuthError(
                self.server, f"{detail} (HTTP {status}) — check the server's credentials"
            )
        if status != 200:
            hint = {
                404: " — check the RPC path (usually /RPC2)",
                502: " — the web server could not reach rTorrent's SCGI port",
                504: " — the web server timed out waiting for rTorrent",
            }.get(status, "")
            phrase = transport.status_phrase(status)
            raise errors.ProtocolError(
                self.server, f"{self.where} answered HTTP {status} {phrase}{hint}"
            )
        return reply.body

    def close(self) -> None:
        self._connection.close()

