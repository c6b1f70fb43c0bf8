"""Misbehaving servers for faults a real daemon can't easily produce."""

from __future__ import annotations

import socket
import threading
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
