"""Transports that carry one XML-RPC request body to rTorrent and bring back the reply body.

rTorrent speaks SCGI itself (`ScgiTransport`); behind a web server (nginx `scgi_pass`, usually with
basic auth) it is reached over HTTP(S) (`HttpTransport`). Both expose `post(body) -> bytes` and
raise only our own errors, each naming the server.
"""

from __future__ import annotations

import base64
import errno
import http.client
import socket
import ssl
import threading
import time

from . import errors

_READ_SIZE = 65536


def _os_error(server: str, exc: OSError, where: str) -> errors.ClientError:
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
            server, f"connection refused by {where} — is rTorrent running and is the port right?"
        )
    if isinstance(exc, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        return errors.ConnectError(
            server,
            f"{where} closed the connection — the request may exceed rTorrent's "
            "network.xmlrpc.size_limit, or the port is not rTorrent's",
        )
    if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return errors.ConnectError(server, f"{where} is unreachable ({exc.strerror})")
    return errors.ConnectError(server, f"cannot talk to {where} ({exc.strerror or exc})")


class ScgiTransport:
    """Raw SCGI over TCP: one connection per request, as rTorrent closes it after replying."""

    def __init__(self, server: str, host: str, port: int, timeout: float) -> None:
        self.server = server
        self.host = host
        self.port = port
        self.timeout = timeout
        self.where = f"scgi://{host}:{port}"

    def post(self, body: bytes) -> bytes:
        headers = (
            b"CONTENT_LENGTH\x00%d\x00SCGI\x001\x00REQUEST_METHOD\x00POST\x00REQUEST_URI\x00/RPC2\x00"
            % len(body)
        )
        request = b"%d:%s,%s" % (len(headers), headers, body)
        deadline = time.monotonic() + self.timeout
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(request)
                reply = self._read(sock, deadline)
        except OSError as exc:
            raise _os_error(self.server, exc, self.where) from None
        return self._body(reply)

    def _read(self, sock: socket.socket, deadline: float) -> bytes:
        """The whole reply: up to Content-Length when given, else until the server closes."""
        chunks: list[bytes] = []
        received = 0
        expected: int | None = None
        while expected is None or received < expected:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
            chunk = sock.recv(_READ_SIZE)
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
            if expected is None and received <= 16384:  # headers come first
                expected = self._expected_length(b"".join(chunks))
        return b"".join(chunks)

    @staticmethod
    def _expected_length(head: bytes) -> int | None:
        end = head.find(b"\r\n\r\n")
        if end < 0:
            return None
        for line in head[:end].split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                return end + 4 + int(value)
        return None

    def _body(self, reply: bytes) -> bytes:
        for separator in (b"\r\n\r\n", b"\n\n"):
            head, found, body = reply.partition(separator)
            if found:
                break
        else:
            raise errors.ProtocolError(
                self.server,
                f"{self.where} did not answer like rTorrent's SCGI port "
                f"({len(reply)} bytes without SCGI headers) — check the port and protocol",
            )
        for line in head.splitlines():
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"status" and not value.strip().startswith(b"200"):
                status = value.strip().decode("latin-1")
                raise errors.ProtocolError(self.server, f"{self.where} answered status {status}")
        return body


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
        self.host = host
        self.port = port
        self.timeout = timeout
        self.https = https
        self.path = rpc_path or "/RPC2"
        if not self.path.startswith("/"):
            self.path = "/" + self.path
        scheme = "https" if https else "http"
        self.where = f"{scheme}://{host}:{port}{self.path}"
        self.headers = {"Content-Type": "text/xml", "User-Agent": "torrentdesk"}
        if username:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode("ascii")
            self.headers["Authorization"] = f"Basic {token}"
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> http.client.HTTPConnection:
        if self.https:
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def post(self, body: bytes) -> bytes:
        with self._lock:
            try:
                reused = self._connection is not None
                try:
                    return self._request(body)
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    self.close()
                    if not reused:
                        raise
                    return self._request(body)
            except http.client.HTTPException as exc:
                self.close()
                raise errors.ProtocolError(
                    self.server, f"{self.where} did not answer with valid HTTP ({exc!r})"
                ) from None
            except OSError as exc:
                self.close()
                raise _os_error(self.server, exc, self.where) from None

    def _request(self, body: bytes) -> bytes:
        if self._connection is None:
            self._connection = self._connect()
        connection = self._connection
        connection.request("POST", self.path, body, self.headers)
        response = connection.getresponse()
        data = response.read()
        if response.will_close:
            self.close()
        status = response.status
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
            raise errors.ProtocolError(
                self.server, f"{self.where} answered HTTP {status} {response.reason}{hint}"
            )
        return data

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
