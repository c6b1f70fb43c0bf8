"""Bytes on the wire: a loopback TCP relay between Chromium and the app that counts what the app
sends. Chromium's DevTools report websocket payloads after permessage-deflate is undone, so
the compressed size of the first push can only be seen on the connection itself."""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.daemons.common import free_port


class CountingRelay:
    """Listens on 127.0.0.1:`port`, relays every connection to the app, counts the bytes the
    app sends back (HTTP responses and websocket frames as they travel, headers included)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._lock = threading.Lock()
        self._down = 0
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._closing = False
        threading.Thread(target=self._accept, daemon=True, name="relay-accept").start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def downstream(self) -> int:
        """Bytes the app sent since the last reset."""
        with self._lock:
            return self._down

    def reset(self) -> None:
        with self._lock:
            self._down = 0

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self._server.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                browser, _ = self._server.accept()
            except OSError:
                return
            try:
                app = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                browser.close()
                continue
            for sock in (browser, app):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(browser, app, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(app, browser, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        try:
            while data := source.recv(1 << 16):
                if count:
                    with self._lock:
                        self._down += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
