"""The one torrent table across servers: AG Grid filled once, then kept current with
transactions (SPEC §7). Rows stay raw numbers; the browser formats them
(assets/torrentdesk.js), and every untrusted string is rendered as text. Filtering (the filter
panel's states, servers, labels and trackers, and the search) runs in the browser by the rules
of services/totals.py (RowFilter), which the page uses to count what is shown."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

import orjson
from nicegui import ui
from nicegui.events import GenericEventArguments

from ..services.live import TorrentChanges
from ..services.totals import FACETS, RowFilter

_NUMBER = {"type": "rightAligned"}
# AG Grid redraws a cell on an update only when the cell's own field changed. These cells also
# show other fields (stale, error, warning, state): an updated row always redraws them, so a
# row turns stale on screen the moment its update arrives. Only updated rows are touched.
_REDRAW_ON_UPDATE = {":equals": "() => false"}

# Fixed widths sum to ~840 px: beside the 200 px filter panel a 1440 px window shows every
# column without scrolling sideways.
COLUMNS: list[dict] = [
    {
        "field": "name",
        "headerName": "Name",
        "flex": 3,  # the name takes most of what is left; the labels the rest
        "minWidth": 160,
        ":cellRenderer": "torrentdesk.nameRenderer",
        **_REDRAW_ON_UPDATE,
    },
    {
        "field": "server_name",
        "headerName": "Server",
        "width": 104,
        ":cellRenderer": "torrentdesk.serverRenderer",
    },
    {
        "field": "labels",
        "headerName": "Labels",
        "flex": 1,
        "minWidth": 90,
        "sortable": False,
        ":cellRenderer": "torrentdesk.labelsRenderer",
    },
    {
        "field": "state",
        "headerName": "State",
        "width": 100,
        ":cellRenderer": "torrentdesk.stateRenderer",
        **_REDRAW_ON_UPDATE,
    },
    {
        "field": "progress",
        "headerName": "Progress",
        "width": 100,
        ":cellRenderer": "torrentdesk.progressRenderer",
        **_REDRAW_ON_UPDATE,
    },
    {
        "field": "size",
        "headerName": "Size",
        "width": 88,
        ":valueFormatter": "p => torrentdesk.torrentSize(p.value)",
        **_NUMBER,
    },
    {
        "field": "download_rate",
        "headerName": "↓ Speed",
        "width": 92,
        ":valueFormatter": "p => torrentdesk.speed(p.value)",
        "cellClass": "td-down",
        **_NUMBER,
    },
    {
        "field": "upload_rate",
        "headerName": "↑ Speed",
        "width": 92,
        ":valueFormatter": "p => torrentdesk.speed(p.value)",
        "cellClass": "td-up",
        **_NUMBER,
    },
    {
        "field": "eta",
        "headerName": "ETA",
        "width": 76,
        ":valueFormatter": "p => torrentdesk.eta(p.value, p.data && p.data.state)",
        ":comparator": "torrentdesk.etaSort",
        **_NUMBER,
    },
    {
        "field": "ratio",
        "headerName": "Ratio",
        "width": 64,
        ":valueFormatter": "p => torrentdesk.ratio(p.value)",
        **_NUMBER,
    },
    {
        "field": "added_at",
        "headerName": "Added",
        "width": 120,
        "sort": "desc",
        ":valueFormatter": "p => torrentdesk.date(p.value)",
    },
]


# What the browser's grid reads of a row (its columns, renderers and filter in
# assets/torrentdesk.js; `id` is built there from the server and the hash). The rest of a row
# (byte counts, peers, directory, queue) stays on the server, where the details panel reads it.
GRID_FIELDS = (
    "info_hash",
    "name",
    "state",
    "progress",
    "size",
    "download_rate",
    "upload_rate",
    "eta",
    "ratio",
    "added_at",
    "labels",
    "error",
    "warning",
    "tracker",
    "stale",
)
# Fields with few distinct values: sent once each, the rows hold an index into them.
_LOOKUP_FIELDS = frozenset({"state", "labels", "error", "warning", "tracker", "stale"})


def pack_rows(rows: Iterable[dict]) -> dict:
    """Rows in the compact form `torrentdesk.unpack` (assets/torrentdesk.js) turns back into
    the grid's rows: one list per field instead of one object per row (no key repeated per
    row), each server's id, name and type once (`servers`; `server` holds an index per row),
    and the few distinct values of `_LOOKUP_FIELDS` once each (`lookups`, with an index per
    row). 10 000 rows take ~1.3 MiB instead of ~7 MiB of row objects."""
    rows = rows if isinstance(rows, list) else list(rows)
    servers: dict[str, int] = {}
    server_list: list[list] = []
    for row in rows:
        if row["server_id"] not in servers:
            servers[row["server_id"]] = len(server_list)
            server_list.append([row["server_id"], row["server_name"], row["server_type"]])
    columns: dict[str, list] = {"server": [servers[row["server_id"]] for row in rows]}
    lookups: dict[str, list] = {}
    for name in GRID_FIELDS:
        values = [row[name] for row in rows]
        if name in _LOOKUP_FIELDS:
            index: dict = {}
            keys = [tuple(v) if isinstance(v, list) else v for v in values]
            columns[name] = [index.setdefault(k, len(index)) for k in keys]
            lookups[name] = [list(k) if isinstance(k, tuple) else k for k in index]
        else:
            columns[name] = values
    return {
        "servers": server_list,
        "columns": columns,
        "lookups": lookups,
    }


def filter_config(row_filter: RowFilter) -> dict:
    """A RowFilter as the browser's `torrentdesk.configure` takes it (sorted lists)."""
    config: dict = {name: sorted(getattr(row_filter, name)) for name in FACETS}
    config["words"] = list(row_filter.words)
    return config


class TorrentGrid:
    def __init__(
        self, on_selection: Callable[[list[str]], None], on_clear_filters: Callable[[], None]
    ) -> None:
        self.on_selection = on_selection
        self.loaded = False  # rows reach the browser once it is connected; see load()
        self.filter = RowFilter()
        self.colors: dict[str, str] = {}
        with ui.element("div").classes("td-grid-wrap w-full") as self.wrap:
            self._build_grid()
            # Over the grid when the filters hide every row (AG Grid's own overlay says
            # "No torrents" when there are none at all; no servers has its own banner).
            with ui.column().classes("td-no-match items-center").mark("no-match") as self.no_match:
                ui.icon("filter_alt_off", size="28px").classes("td-muted")
                ui.label("No torrents match").classes("text-base font-medium")
                self.no_match_detail = ui.label("").classes("td-muted").mark("no-match-detail")
                ui.button(
                    "Clear search and filters", icon="clear", on_click=on_clear_filters
                ).props("unelevated dense no-caps").mark("clear-filters")
            self.no_match.set_visibility(False)
        self.selected: list[str] = []

    def _build_grid(self) -> None:
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

        # A right click acts on the row under it: selected alone unless already in the
        # selection (as file managers do), before the page's context menu acts on it.
        self.grid.on(
            "cellContextMenu",
            js_handler=f"(e) => {{ const api = getElement({self.grid.id}).api;"
            " const node = e.data && api.getRowNode(e.data.id);"
            " if (node && !node.isSelected()) node.setSelected(true, true); }",
        )

    # -- live changes --

    def load(self, rows: list[dict]) -> None:
        """Fill the grid once the browser is connected (again after a reconnect); only
        transactions follow."""
        self._send_rows({"load": pack_rows(rows)})
        self.loaded = True

    def apply(self, changes: TorrentChanges) -> dict | None:
        """Send one AG Grid transaction for a batch of changes (rows packed as on load);
        returns what was sent (None if nothing). Before load() there is nothing to change:
        load() sends the page's current rows."""
        if not self.loaded:
            return None
        message: dict = {}
        if changes.added:
            message["add"] = pack_rows(changes.added)
        if changes.updated:
            message["update"] = pack_rows(changes.updated)
        if changes.removed:
            message["remove"] = changes.removed
        if not message:
            return None
        self._send_rows(message)
        return message

    def _send_rows(self, message: dict) -> None:
        # Straight to the browser's `torrentdesk.rows` as one script: NiceGUI's
        # run_grid_method would write the rows with the standard library's json and walk
        # every row in the browser looking for ":" keys; orjson writes 10 000 packed rows in
        # a few ms. A name that is not valid UTF-8 (a lone surrogate) is sent replaced.
        try:
            data = orjson.dumps(message)
        except TypeError:
            data = json.dumps(message, ensure_ascii=False).encode("utf-8", "replace")
        code = f"torrentdesk.rows({self.grid.id},{data.decode()})"
        self.grid.client.run_javascript(code)

    # -- filters and colors (applied in the browser) --

    def set_filter(self, row_filter: RowFilter) -> None:
        if row_filter != self.filter:
            self.filter = row_filter
            self._configure({"filter": filter_config(self.filter)})

    def show_no_match(self, detail: str | None) -> None:
        """The "No torrents match" overlay with `detail`, or none (None)."""
        if detail is not None and self.no_match_detail.text != detail:
            self.no_match_detail.set_text(detail)
        if self.no_match.visible != (detail is not None):
            self.no_match.set_visibility(detail is not None)

    def set_colors(self, colors: dict[str, str]) -> None:
        if colors != self.colors:
            self.colors = dict(colors)
            self._configure({"colors": self.colors})

    def sync_browser(self) -> None:
        """Send filters and colors again, e.g. once the browser is connected."""
        self._configure({"filter": filter_config(self.filter), "colors": self.colors})

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
