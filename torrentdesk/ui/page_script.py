"""The browser side of the main page's daily paths (assets/torrentdesk-page.js): loaded once per
page, installed with the grid's and the uploader's ids when the browser connects (again after a
reconnect). It also gives the grid the phone list's column: on screens under 600 px the page
shows only that one (name; server badge, state, progress and speed below it)."""

from __future__ import annotations

import json

from nicegui import ui

from .. import __version__
from .theme import ASSETS_URL

PHONE_COLUMN = {
    "colId": "phone",
    "field": "name",
    "headerName": "Torrents",
    "hide": True,
    "flex": 1,
    "minWidth": 120,
    "autoHeight": False,
    ":cellRenderer": "torrentdesk_page.phoneRenderer",
    ":equals": "() => false",  # an updated row redraws it: it shows several fields
    "cellClass": "td-phone-cell",
}


def load_page_script() -> None:
    ui.add_head_html(f'<script src="{ASSETS_URL}/torrentdesk-page.js?v={__version__}"></script>')


def add_phone_column(grid: ui.aggrid) -> None:
    """Before the page is sent: the grid's column definitions gain the phone list's."""
    grid.options["columnDefs"].append(dict(PHONE_COLUMN))


def install(grid: ui.aggrid, upload: ui.upload) -> None:
    ids = json.dumps({"grid": grid.id, "upload": upload.id})
    grid.client.run_javascript(f"window.torrentdesk_page && torrentdesk_page.install({ids})")


def dialog_title(text: str, close) -> None:
    """A dialog's first row: its title and a named close button."""
    with ui.row().classes("w-full items-center no-wrap"):
        ui.label(text).classes("text-lg font-medium")
        ui.space()
        ui.button(icon="close", on_click=close).props('flat round dense aria-label="Close"')


def above_separator(menu: ui.menu, *items: ui.element) -> None:
    """Move menu items a page adds to the user menu above its separator (and Log out)."""
    for item in items:
        children = menu.default_slot.children
        index = next((i for i, c in enumerate(children) if isinstance(c, ui.separator)), -1)
        item.move(target_index=index)
