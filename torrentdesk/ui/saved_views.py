"""Saved views (services/views.py) on the main page: the toolbar's Views menu saves the current
filters, search, sort and columns under a name, applies a saved one, deletes one; its Columns…
dialog shows and hides the grid's columns. The last view used is restored when a page opens,
in every browser and the native window alike (they are kept in the database, per user)."""

from __future__ import annotations

import json

from nicegui import Client, ui

from ..services import Services
from ..services.errors import UserFacingError
from ..services.views import MAX_NAME, SavedViewInfo, ViewState
from .filter_panel import FilterPanel
from .page_script import dialog_title
from .threads import io_bound

PHONE_COLUMN = "phone"  # the phone list's one column (ui/from_outside.py adds it)


def column_choices(column_defs: list[dict]) -> dict[str, str]:
    """The grid's columns a user may show or hide: field -> header."""
    return {
        c.get("colId") or c["field"]: c.get("headerName") or c["field"]
        for c in column_defs
        if (c.get("colId") or c.get("field")) and (c.get("colId") or c["field"]) != PHONE_COLUMN
    }


def sort_from_column_state(state: list[dict]) -> tuple[tuple[str, str], ...]:
    """AG Grid's getColumnState() as a view's sort: (column, direction) by sortIndex."""
    sorted_columns = [c for c in state if c.get("sort") in ("asc", "desc")]
    sorted_columns.sort(key=lambda c: c.get("sortIndex") or 0)
    return tuple((str(c["colId"]), str(c["sort"])) for c in sorted_columns)


def column_state(sort: tuple[tuple[str, str], ...], columns) -> dict:
    """applyColumnState's argument: exactly this sort (the rest unsorted)."""
    known = set(columns)
    order = [(col, way) for col, way in sort if col in known]
    return {
        "state": [
            {"colId": col, "sort": way, "sortIndex": i} for i, (col, way) in enumerate(order)
        ],
        "defaultState": {"sort": None},
    }


class SavedViews:
    def __init__(
        self,
        services: Services,
        user_id: int,
        grid: ui.aggrid,
        panel: FilterPanel,
        search: ui.input,
        default_sort: tuple[tuple[str, str], ...],
    ) -> None:
        self.services = services
        self.user_id = user_id
        self.grid = grid
        self.panel = panel
        self.search = search
        self.default_sort = default_sort
        self.columns = column_choices(grid.options["columnDefs"])
        self.views: list[SavedViewInfo] = []
        self.current: str | None = None
        self.hidden: tuple[str, ...] = ()
        self.sort = default_sort
        self.button = (
            ui.button("Views", icon="bookmarks", on_click=self.reload)
            .props('dense flat no-caps aria-label="Saved views"')
            .classes("td-views-button")
            .mark("views-button")
        )
        with self.button:
            self.menu = ui.menu().classes("td-sheet").mark("views-menu")
        self._build_save_dialog()
        self._build_columns_dialog()
        self._render_menu()

    # -- the menu --

    async def reload(self) -> None:
        """Read the views again (another browser may have changed them) and redraw the menu."""
        self.views = await io_bound(self.services.views.list, self.user_id)
        self._render_menu()

    def _render_menu(self) -> None:
        self.menu.clear()
        with self.menu:
            ui.item_label("Saved views").props("header").classes("td-menu-header")
            if not self.views:
                ui.item_label("None yet: save the current one below").props("caption").classes(
                    "td-muted q-px-md"
                )
            for view in self.views:
                with (
                    ui.item(on_click=lambda v=view.name: self.apply_named(v))
                    .props("clickable v-close-popup")
                    .mark("view-item")
                ):
                    with ui.item_section().props("avatar").classes("td-view-check"):
                        if view.name == self.current:
                            ui.icon("check").props('aria-label="current view"')
                    with ui.item_section():
                        ui.label(view.name).classes("td-ellipsis").mark("view-name")
                    with ui.item_section().props("side"):
                        delete = ui.button(
                            icon="delete_outline", on_click=lambda v=view.name: self.delete(v)
                        ).props("flat round dense size=sm")
                        # Set as a value, never parsed as a props string: the user typed it.
                        delete.props["aria-label"] = f"Delete the view {view.name}"
                        delete.on("click.stop", lambda: None).mark("view-delete")
            ui.separator()
            ui.menu_item("Default view", self.apply_default).mark("view-default")
            ui.menu_item("Save view as…", self.open_save).mark("view-save")
            ui.menu_item("Columns…", self.open_columns).mark("view-columns")
        self.button.set_text(self.current or "Views")

    # -- what the page shows now --

    async def current_state(self) -> ViewState:
        try:
            state = await self.grid.run_grid_method("getColumnState", timeout=3)
        except TimeoutError:
            state = None
        sort = sort_from_column_state(state) if isinstance(state, list) else self.sort
        filters = {name: sorted(values) for name, values in self.panel.chosen.items() if values}
        return ViewState(
            {k: tuple(v) for k, v in filters.items()},
            (self.search.value or "").strip(),
            sort,
            self.hidden,
        )

    def apply(self, state: ViewState) -> None:
        """Show the table as `state` says: filters, search, sort, columns."""
        self.panel.set_chosen({name: set(values) for name, values in state.filters.items()})
        if (self.search.value or "") != state.search:
            self.search.set_value(state.search)  # filters again on its change
        self.sort = state.sort
        self.hidden = tuple(c for c in state.hidden if c in self.columns)
        self.sync_browser()

    def sync_browser(self) -> None:
        """Send the sort and the hidden columns (again, e.g. once the browser is connected)."""
        self.grid.run_grid_method("applyColumnState", column_state(self.sort, self.columns))
        self._send_hidden()

    def _send_hidden(self) -> None:
        self.grid.client.run_javascript(
            f"window.torrentdesk_page && torrentdesk_page.setHidden({json.dumps(self.hidden)})"
        )

    async def restore(self) -> None:
        """The view used last, when the page opens."""
        last = await io_bound(self.services.views.last_used, self.user_id)
        if last is not None:
            self.current = last.name
            self.apply(last.state)
            self._render_menu()

    def browser_connected(self, _client: Client | None = None) -> None:
        self.sync_browser()

    # -- applying, saving, deleting --

    async def apply_named(self, name: str) -> None:
        try:
            view = await io_bound(self.services.views.use, self.user_id, name)
        except UserFacingError as exc:
            ui.notify(f"Could not open the view: {exc}", type="negative")
            await self.reload()
            return
        self.current = view.name
        self.apply(view.state)
        self._render_menu()

    async def apply_default(self) -> None:
        await io_bound(self.services.views.use, self.user_id, None)
        self.current = None
        self.apply(ViewState(sort=self.default_sort))
        self._render_menu()

    def open_save(self) -> None:
        self.name_input.value = self.current or ""
        self.save_error.set_text("")
        self.save_dialog.open()

    async def save(self) -> None:
        name = (self.name_input.value or "").strip()
        state = await self.current_state()
        try:
            view = await io_bound(self.services.views.save, self.user_id, name, state)
        except UserFacingError as exc:
            self.save_error.set_text(str(exc))
            return
        self.save_dialog.close()
        self.current = view.name
        self.sort = state.sort
        await self.reload()
        ui.notify(f"Saved the view “{view.name}”", type="positive")

    async def delete(self, name: str) -> None:
        try:
            await io_bound(self.services.views.delete, self.user_id, name)
        except UserFacingError as exc:
            ui.notify(f"Could not delete the view: {exc}", type="negative")
        if self.current == name:
            self.current = None
        await self.reload()

    def _build_save_dialog(self) -> None:
        with (
            ui.dialog() as self.save_dialog,
            ui.card().classes("td-dialog td-save-view-dialog w-[420px]"),
        ):
            ui.label("Save the current view").classes("text-lg font-medium")
            ui.label("Filters, search, sort and columns, under a name you pick.").classes(
                "td-muted"
            )
            self.name_input = (
                ui.input("Name", validation={"Too long": lambda v: len(v or "") <= MAX_NAME})
                .props("outlined dense autofocus")
                .classes("w-full")
                .mark("view-name-input")
                .on("keydown.enter", self.save)
            )
            self.save_error = ui.label("").classes("td-error-text td-if-text")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.save_dialog.close).props("flat")
                ui.button("Save", on_click=self.save).props("unelevated").mark("view-save-submit")

    # -- columns --

    def _build_columns_dialog(self) -> None:
        with (
            ui.dialog() as self.columns_dialog,
            ui.card().classes("td-dialog td-columns-dialog w-[320px]"),
        ):
            dialog_title("Columns", self.columns_dialog.close)
            self.column_boxes: dict[str, ui.checkbox] = {}
            with ui.column().classes("gap-0"):
                for column, header in self.columns.items():
                    box = ui.checkbox(
                        header, value=True, on_change=lambda e, c=column: self._shown(c, e.value)
                    ).mark(f"column-{column}")
                    self.column_boxes[column] = box
            ui.label("Saved with the view. Phones show their own short list.").classes(
                "td-muted text-xs"
            )

    def open_columns(self) -> None:
        for column, box in self.column_boxes.items():
            box.set_value(column not in self.hidden)
        self.columns_dialog.open()

    def _shown(self, column: str, shown: bool) -> None:
        hidden = [c for c in self.hidden if c != column]
        if not shown:
            hidden.append(column)
        if tuple(hidden) != self.hidden:
            self.hidden = tuple(hidden)
            self._send_hidden()  # the sort stays as the user clicked it


def default_sort(column_defs: list[dict]) -> tuple[tuple[str, str], ...]:
    """The grid's own sort, from its column definitions."""
    return tuple(
        (c.get("colId") or c["field"], c["sort"]) for c in column_defs if c.get("sort")
    )

