"""The native desktop window (pywebview): whether one can open here, and how its owner is
signed in without a login form.

The window gets a random per-launch key in its URL. The key signs the owner in once (a normal
session cookie in the window from then on) and is spent: another local process that reaches the
port has neither that cookie nor the key, so it meets the login page or a 401 like anyone else.
"""

from __future__ import annotations

import hmac
import importlib.util
import os
import secrets
import sys

SIGN_IN_PATH = "/_native/sign-in"
WINDOW_SIZE = (1280, 800)
_GUI_BINDINGS = ("PyQt6", "PySide6", "PyQt5", "gi")
_QT_BINDINGS = ("PyQt6", "PySide6", "PyQt5")


def unavailable_reason() -> str | None:
    """None when a native window can open here; otherwise why not, fit for the console."""
    if importlib.util.find_spec("webview") is None:
        return "pywebview is not installed (install torrentdesk's 'native' extra)"
    if sys.platform.startswith("linux"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return "there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"
        if not any(importlib.util.find_spec(name) for name in _GUI_BINDINGS):
            return "pywebview has no Qt or GTK binding to draw with"
    return None


def gui_backend() -> str | None:
    """Qt when installed on Linux (pywebview would first try GTK and log a traceback)."""
    if sys.platform.startswith("linux") and any(
        importlib.util.find_spec(name) for name in _QT_BINDINGS
    ):
        return "qt"
    return None


class LaunchKey:
    """A random key, good for one sign-in, handed only to this launch's window."""

    def __init__(self) -> None:
        self._key: str | None = secrets.token_urlsafe(32)
        self.url_query = f"key={self._key}"

    def spend(self, candidate: str) -> bool:
        key, self._key = self._key, None  # one try, right or wrong: no guessing
        return key is not None and hmac.compare_digest(key.encode(), candidate.encode())
