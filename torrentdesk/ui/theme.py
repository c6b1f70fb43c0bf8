"""Look and feel shared by every page: styles, scripts, favicon, dark mode, server colors."""

from __future__ import annotations

import sys
from pathlib import Path

from nicegui import app, ui

from .. import __version__

ASSETS_URL = "/assets"
DARK_KEY = "dark"
# Distinct in light and dark mode; servers get them in name order, so two servers never share
# one until there are more servers than colors.
SERVER_COLORS = (
    "#3b82f6",
    "#10b981",
    "#f59e0b",
    "#a855f7",
    "#ef4444",
    "#06b6d4",
    "#ec4899",
    "#84cc16",
    "#f97316",
    "#64748b",
)


def assets_dir() -> Path:
    """`assets/` next to the package in a checkout; in the PyInstaller bundle's root."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "assets"
    return Path(__file__).resolve().parents[2] / "assets"


FAVICON = assets_dir() / "favicon.svg"


def setup_page() -> ui.dark_mode:
    """Styles, scripts and the remembered dark mode; call first in every page."""
    version = __version__
    ui.add_head_html(
        f'<link rel="stylesheet" href="{ASSETS_URL}/torrentdesk.css?v={version}">'
        f'<script src="{ASSETS_URL}/torrentdesk.js?v={version}"></script>'
    )
    ui.colors(primary="#1f6feb", positive="#1a7f37", negative="#cf222e", warning="#d29922")
    ui.query(".nicegui-content").classes("td-content")
    return ui.dark_mode(value=bool(app.storage.user.get(DARK_KEY, False)))


def server_colors(server_ids: list[str]) -> dict[str, str]:
    return {sid: SERVER_COLORS[i % len(SERVER_COLORS)] for i, sid in enumerate(server_ids)}
