"""Misbehaving servers for faults a real daemon can't easily produce."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def tcp_server(handle) -> Iterator[int]:
    """Run `handle(conn)` for each connection on a loopback port; yield the port."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stopping = threading.Event()
    connections: list[socket.socket] = []

    def serve() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopping.set()
        thread.join()
        listener.close()
        for conn in connections:
            conn.close()


def more(conn: socket.socket) -> bytes:
    """The next bytes of a request: a client gone mid-request ends its handler (OSError)
    instead of spinning on empty reads."""
    chunk = conn.recv(65536)
    if not chunk:
        raise ConnectionAbortedError("the client left mid-request")
    return chunk


def black_hole():
    """Accepts connections, reads what is sent, never answers."""

    def handle(conn: socket.socket) -> None:
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass

    return tcp_server(handle)


def garbage_reply(reply: bytes):
    """Answers every request with `reply`, then closes."""

    def handle(conn: socket.socket) -> None:
        try:
            conn.settimeout(2)
            conn.recv(65536)
            conn.sendall(reply)
            conn.shutdown(socket.SHUT_WR)  # the reply ends here
            # Read what the client still sends (a body after its headers): a socket closed
            # with unread data resets the connection, which the client may see before the reply.
            while conn.recv(65536):
                pass
        except OSError:
            pass
        finally:
            conn.close()

    return tcp_server(handle)


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port with nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


def http_server(respond):
    """A keep-alive HTTP/1.1 server on loopback: `respond(path, headers, body)` gives the whole
    raw reply (bytes), or a callable that writes it to the socket itself (then the connection
    closes). Yields the port."""

    def handle(conn: socket.socket) -> None:
        buffer = b""
        try:
            conn.settimeout(30)
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:])
                }
                length = int(headers.get("content-length", "0"))
                while len(buffer) < length:
                    buffer += more(conn)
                body, buffer = buffer[:length], buffer[length:]
                reply = respond(lines[0].split(" ")[1], headers, body)
                if callable(reply):
                    reply(conn)
                    return
                conn.sendall(reply)
        except OSError:
            pass
        finally:
            conn.close()

    return tcp_server(handle)


def http_reply(status: str, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def scgi_server(respond):
    """An SCGI server on loopback: `respond(body)` gives the reply body (XML); yields the port."""

    def handle(conn: socket.socket) -> None:
        try:
            conn.settimeout(30)
            data = b""
            while b":" not in data:
                data += more(conn)
            size, _, rest = data.partition(b":")
            while len(rest) < int(size) + 1:
                rest += more(conn)
            headers = rest[: int(size)].split(b"\x00")
            length = int(headers[headers.index(b"CONTENT_LENGTH") + 1])
            body = rest[int(size) + 1 :]
            while len(body) < length:
                body += more(conn)
            reply = respond(body)
            conn.sendall(
                b"Status: 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s"
                % (len(reply), reply)
            )
        except OSError:
            pass
        finally:
            conn.close()

    return tcp_server(handle)


def dripping(head: bytes, every: float = 2.0):
    """A reply writer for `http_server`: `head`, then one byte every `every` seconds, for ever
    (until the client goes away)."""

    def write(conn: socket.socket) -> None:
        conn.sendall(head)
        while True:
            time.sleep(every)
            conn.sendall(b" ")

    return write
