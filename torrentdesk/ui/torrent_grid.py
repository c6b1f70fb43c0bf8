"""The one torrent table across servers: AG Grid filled once, then kept current with
transactions (SPEC §7). Rows stay raw numbers; the browser formats them
(assets/torrentdesk.js), and every untrusted string is rendered as text."""

from __future__ import annotations

import json
from collections.abc import Callable

from nicegui import ui
from nicegui.events import GenericEventArguments

from ..services.live import TorrentChanges
from . import format as fmt

NO_QUICK_FILTER = "() => ''"
_NUMBER = {"type": "rightAligned", ":getQuickFilterText": NO_QUICK_FILTER}

COLUMNS: list[dict] = [
    {
        "field": "name",
        "headerName": "Name",
        "flex": 1,
        "minWidth": 240,
        ":cellRenderer": "torrentdesk.nameRenderer",
    },
    {
        "field": "server_name",
        "headerName": "Server",
        "width": 130,
        ":cellRenderer": "torrentdesk.serverRenderer",
    },
    {
        "field": "state",
        "headerName": "State",
        "width": 118,
        ":cellRenderer": "torrentdesk.stateRenderer",
    },
    {
        "field": "progress",
        "headerName": "Progress",
        "width": 128,
        ":cellRenderer": "torrentdesk.progressRenderer",
        ":getQuickFilterText": NO_QUICK_FILTER,
    },
    {
        "field": "size",
        "headerName": "Size",
        "width": 96,
        ":valueFormatter": "p => torrentdesk.torrentSize(p.value)",
        **_NUMBER,
    },
    {
        "field": "download_rate",
        "headerName": "↓ Speed",
        "width": 104,
        ":valueFormatter": "p => torrentdesk.speed(p.value)",
        "cellClass": "td-down",
        **_NUMBER,
    },
    {
        "field": "upload_rate",
        "headerName": "↑ Speed",
        "width": 104,
        ":valueFormatter": "p => torrentdesk.speed(p.value)",
        "cellClass": "td-up",
        **_NUMBER,
    },
    {
        "field": "eta",
        "headerName": "ETA",
        "width": 88,
        ":valueFormatter": "p => torrentdesk.eta(p.value, p.data && p.data.progress)",
        ":comparator": "torrentdesk.etaSort",
        **_NUMBER,
    },
    {
        "field": "ratio",
        "headerName": "Ratio",
        "width": 74,
        ":valueFormatter": "p => torrentdesk.ratio(p.value)",
        **_NUMBER,
    },
    {
        "field": "added_at",
        "headerName": "Added",
        "width": 140,
        "sort": "desc",
        ":valueFormatter": "p => torrentdesk.date(p.value)",
        ":getQuickFilterText": NO_QUICK_FILTER,
    },
    # Searchable, not shown: the quick search also finds hashes and labels.
    {"field": "info_hash", "hide": True},
    {"field": "labels", "hide": True},  # searched by the quick filter
]

_LABELS = fmt.STATE_LABELS
STATE_FILTERS = {
    "all": "All states",
    "downloading": _LABELS["downloading"],
    "seeding": _LABELS["seeding"],
    "complete": "Completed",
    "stopped": _LABELS["stopped"],
    "active": "Active",
    "checking": _LABELS["checking"],
    "queued": _LABELS["queued"],
    "metadata": _LABELS["metadata"],
    "error": "Errors & stale",
}


class TorrentGrid:
    def __init__(self, on_selection: Callable[[list[str]], None]) -> None:
        self.on_selection = on_selection
        self.loaded = False  # rows reach the browser once it is connected; see load()
        self.filter: dict = {"server": None, "state": None}
        self.colors: dict[str, str] = {}
        self.quick_filter = ""
        self.grid = (
            ui.aggrid(
                {
                    "columnDefs": COLUMNS,
                    # Empty in the page: 10 000 rows inline made NiceGUI wrap each one in
                    # observable dicts and escape megabytes of HTML (~0.8 s, ~160 MB per page).
                    "rowData": [],
                    ":getRowId": "p => p.data.id",
                    "rowSelection": {
                        "mode": "multiRow",
                        "checkboxes": True,
                        "headerCheckbox": True,
                        "enableClickSelection": True,
                        "selectAll": "filtered",
                    },
                    "defaultColDef": {"sortable": True, "resizable": True},
                    "rowHeight": 30,
                    "headerHeight": 32,
                    "animateRows": False,
                    "suppressCellFocus": True,
                    "includeHiddenColumnsInQuickFilter": True,
                    ":isExternalFilterPresent": "() => true",
                    ":doesExternalFilterPass": "node => torrentdesk.passes(node)",
                    "rowClassRules": {
                        ":td-row-stale": "p => Boolean(p.data && p.data.stale)",
                        ":td-row-error": "p => Boolean(p.data && p.data.error && !p.data.stale)",
                    },
                    "localeText": {"noRowsToShow": "No torrents"},
                },
                theme="quartz",
            )
            .classes("td-grid w-full")
            .mark("torrent-grid")
        )
        # Only the ids of the selected rows travel to the server, whatever the row count.
        self.grid.on(
            "selectionChanged",
            self._selection_changed,
            js_handler=f"() => emit({{ids: getElement({self.grid.id}).api"
            ".getSelectedNodes().map(n => n.id)})",
        )
        self.selected: list[str] = []

    # -- live changes --

    def load(self, rows: list[dict]) -> None:
        """Fill the grid once the browser is connected (again after a reconnect); only
        transactions follow."""
        self.grid.run_grid_method("setGridOption", "rowData", rows)
        self.loaded = True

    def apply(self, changes: TorrentChanges) -> dict | None:
        """Send one AG Grid transaction for a batch of changes; returns it (None if empty).
        Before load() there is nothing to change: load() sends the page's current rows."""
        if not self.loaded:
            return None
        transaction: dict = {}
        if changes.added:
            transaction["add"] = changes.added
        if changes.updated:
            transaction["update"] = changes.updated
        if changes.removed:
            transaction["remove"] = [{"id": row_id} for row_id in changes.removed]
        if not transaction:
            return None
        self.grid.run_grid_method("applyTransaction", transaction)
        return transaction

    # -- filters and colors (applied in the browser) --

    def set_quick_filter(self, text: str) -> None:
        self.quick_filter = text or ""
        self.grid.run_grid_method("setGridOption", "quickFilterText", self.quick_filter)

    def set_filter(self, server: str | None = None, state: str | None = None) -> None:
        self.filter = {"server": server or None, "state": None if state == "all" else state}
        self._configure({"filter": self.filter})

    def set_colors(self, colors: dict[str, str]) -> None:
        if colors != self.colors:
            self.colors = dict(colors)
            self._configure({"colors": self.colors})

    def sync_browser(self) -> None:
        """Send filters and colors again, e.g. once the browser is connected."""
        self._configure({"filter": self.filter, "colors": self.colors})

    def _configure(self, config: dict) -> None:
        code = f"torrentdesk.configure({self.grid.id}, {json.dumps(config)})"
        self.grid.client.run_javascript(code)

    # -- selection --

    def _selection_changed(self, event: GenericEventArguments) -> None:
        ids = event.args.get("ids", []) if isinstance(event.args, dict) else []
        self.selected = [str(i) for i in ids]
        self.on_selection(self.selected)

    def deselect_all(self) -> None:
        self.grid.run_grid_method("deselectAll")
