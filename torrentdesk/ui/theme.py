"""Look and feel shared by every page: styles, scripts, favicon, dark mode, server colors."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from nicegui import app, ui

from .. import __version__
from ..services.servers import ServerView

ASSETS_URL = "/assets"
DARK_KEY = "dark"
NO_COLOR = "#64748b"  # a server not listed yet


def assets_dir() -> Path:
    """`torrentdesk/assets` inside the installed package (a wheel, the PyInstaller bundle);
    in a checkout, where they are not copied, `assets/` beside the package."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "assets"
    return installed if installed.is_dir() else package.parent / "assets"


FAVICON = assets_dir() / "favicon.svg"


def setup_page() -> ui.dark_mode:
    """Styles, scripts and the remembered dark mode; call first in every page."""
    version = __version__
    ui.add_head_html(
        f'<link rel="stylesheet" href="{ASSETS_URL}/torrentdesk.css?v={version}">'
        f'<script src="{ASSETS_URL}/torrentdesk.js?v={version}"></script>'
    )
    # #0969da: 4.6:1 on the page's light grey, enough for text (WCAG AA; axe checks it).
    ui.colors(primary="#0969da", positive="#1a7f37", negative="#cf222e", warning="#d29922")
    ui.query(".nicegui-content").classes("td-content")
    return ui.dark_mode(value=bool(app.storage.user.get(DARK_KEY, False)))


def server_colors(views: Iterable[ServerView]) -> dict[str, str]:
    """Server id -> the colour each server keeps (stored when it was added)."""
    return {view.id: view.color or NO_COLOR for view in views}


def dialog_header(title: str, dialog: ui.dialog, note: str | None = None) -> None:
    """A dialog's first lines: its title with a close button, and what it is for."""
    with ui.row().classes("w-full items-center"):
        ui.label(title).classes("text-lg font-medium")
        ui.space()
        ui.button(icon="close", on_click=dialog.close).props('flat round dense aria-label="Close"')
    if note:
        ui.label(note).classes("td-muted")
