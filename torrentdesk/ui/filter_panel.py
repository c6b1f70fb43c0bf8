"""The filter panel (SPEC §10): a left drawer with four sections — states, servers, labels and
trackers — each a list of values with a live count. A click toggles a value; the values of a
section OR together, the sections AND together, and the search ANDs on top (RowFilter in
services/totals.py, the one definition of the filter).

A value's count is how many rows it would show: the rows the search and the *other* sections'
choices keep (FacetCounts.matching), kept row by row by the page's TotalsTracker, so live
changes move them without any fetch. Beside the table from 600 px up, an overlay on phones; the
toolbar's Filters button shows and hides it. Labels, tracker hosts and server names are text,
never HTML."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from nicegui import ui

from ..services.totals import FACETS, NO_LABEL, NO_TRACKER, FacetCounts, RowFilter
from . import format as fmt

TITLES = {"states": "States", "servers": "Servers", "labels": "Labels", "trackers": "Trackers"}
# The states section, in this order (state_keys values).
STATE_VALUES = {
    "downloading": fmt.STATE_LABELS["downloading"],
    "seeding": fmt.STATE_LABELS["seeding"],
    "complete": "Completed",
    "stopped": fmt.STATE_LABELS["stopped"],
    "active": "Active",
    "checking": fmt.STATE_LABELS["checking"],
    "queued": fmt.STATE_LABELS["queued"],
    "metadata": fmt.STATE_LABELS["metadata"],
    "error": "Errors & stale",
}
NONE_TEXT = {"labels": "(no label)", "trackers": "(no tracker)"}
_NONE_KEY = {"labels": NO_LABEL, "trackers": NO_TRACKER}
PANEL_WIDTH = 200
PHONE_BREAKPOINT = 599  # the drawer overlays below this width, as the CSS "Phones" block


@dataclass(frozen=True, slots=True)
class FacetServer:
    id: str
    name: str
    color: str


@dataclass(slots=True)
class _Item:
    element: ui.item
    count: ui.label
    on: bool = False
    shown_count: int = -1


class FilterPanel:
    """The drawer and what is chosen in it; `on_change()` runs after every choice."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.on_change = on_change
        self.chosen: dict[str, set[str]] = {name: set() for name in FACETS}
        self.servers: list[FacetServer] = []
        self._counts = FacetCounts()
        self._signatures: dict[str, tuple] = {}
        self._items: dict[str, dict[str, _Item]] = {name: {} for name in FACETS}
        self._lists: dict[str, ui.list] = {}
        self._clear_buttons: dict[str, ui.button] = {}
        # Open beside the table from PHONE_BREAKPOINT up, an overlay (closed at first) below:
        # Quasar's show-if-above decides in the browser and reports the value back. (NiceGUI's
        # value=None would ask the browser for it in a JavaScript round trip at every connect.)
        self.drawer = (
            ui.left_drawer(value=False, bordered=True)
            .props(f"show-if-above :width={PANEL_WIDTH} :breakpoint={PHONE_BREAKPOINT}")
            .classes("td-filter-panel")
            .mark("filter-panel")
        )
        with self.drawer:
            with ui.row().classes("td-facets-head w-full items-center no-wrap"):
                ui.label("Filters").classes("td-facets-title")
                ui.space()
                self.clear_all_button = self._clear_button("Clear all", self.clear)
                self.clear_all_button.mark("facets-clear-all")
            for name in FACETS:
                with ui.column().classes("td-facet-section w-full").mark(f"facets-{name}"):
                    with ui.row().classes("td-facet-head w-full items-center no-wrap"):
                        ui.label(TITLES[name]).classes("td-facet-title")
                        ui.space()
                        button = self._clear_button("Clear", lambda n=name: self.clear(n))
                        self._clear_buttons[name] = button.mark(f"facets-clear-{name}")
                    self._lists[name] = (
                        ui.list()
                        .props(f'dense role=group aria-label="{TITLES[name]}"')
                        .classes("td-facet-list w-full")
                    )
        self._show_clear_buttons()

    @staticmethod
    def _clear_button(text: str, handler: Callable[[], None]) -> ui.button:
        return ui.button(text, on_click=handler).props("flat dense no-caps size=sm")

    def toggle(self) -> None:
        """Open or close the drawer (the phones' Filters button)."""
        self.drawer.toggle()

    # -- what is chosen --

    def row_filter(self, words: tuple[str, ...]) -> RowFilter:
        return RowFilter(**{name: self.chosen[name] for name in FACETS}, words=words)

    @property
    def chosen_count(self) -> int:
        return sum(len(values) for values in self.chosen.values())

    def toggle_value(self, name: str, key: str) -> None:
        self.chosen[name] ^= {key}
        self._changed()

    def set_chosen(self, chosen: dict[str, Iterable[str]]) -> None:
        """Choose exactly these values (a saved view); servers that are gone are left out."""
        known = {s.id for s in self.servers}
        for name in FACETS:
            values = set(chosen.get(name, ()))
            self.chosen[name] = values & known if name == "servers" else values
        self._changed()

    def only_server(self, server_id: str) -> None:
        """Show one server's torrents, or all again when it alone was chosen (a chip's click)."""
        servers = self.chosen["servers"]
        self.chosen["servers"] = set() if servers == {server_id} else {server_id}
        self._changed()

    def clear(self, name: str | None = None, notify: bool = True) -> None:
        """Choose nothing in one section (`name`), or in all."""
        for section in [name] if name else FACETS:
            self.chosen[section] = set()
        if notify:
            self._changed()
        else:
            self._render()

    def set_servers(self, servers: Iterable[FacetServer]) -> bool:
        """The user's servers, listed by name. A chosen server that is gone is no longer
        chosen; returns whether that changed the choice (the caller filters again)."""
        self.servers = sorted(servers, key=lambda s: (s.name.lower(), s.id))
        gone = self.chosen["servers"] - {s.id for s in self.servers}
        self.chosen["servers"] -= gone
        self._render()
        return bool(gone)

    def _changed(self) -> None:
        self.on_change()
        self._render()

    # -- drawing --

    def show_counts(self, counts: FacetCounts) -> None:
        """The counts changed (live rows, a new filter): redraw what differs."""
        self._counts = counts
        self._render()

    def _values(self, name: str) -> list[tuple[str, str, str | None]]:
        """(key, text, color) of the section's values, in the order shown: every state and
        server; every label and tracker some row has, and any chosen one (so it can be
        unchosen), "(no label)" / "(no tracker)" first."""
        if name == "states":
            return [(key, text, None) for key, text in STATE_VALUES.items()]
        if name == "servers":
            return [(s.id, s.name, s.color) for s in self.servers]
        keys = set(self._counts.overall[name]) | self.chosen[name]
        none = _NONE_KEY[name]
        ordered = sorted(keys - {none}, key=lambda k: (k.casefold(), k))
        values = [(key, key, None) for key in ordered]
        if none in keys:
            values.insert(0, (none, NONE_TEXT[name], None))
        return values

    def _render(self) -> None:
        for name in FACETS:
            values = self._values(name)
            signature = tuple(values)
            if signature != self._signatures.get(name):
                self._signatures[name] = signature
                self._build_list(name, values)
            matching = self._counts.matching[name]
            chosen = self.chosen[name]
            for key, item in self._items[name].items():
                count = matching.get(key, 0)
                if count != item.shown_count:
                    item.shown_count = count
                    item.count.set_text(str(count))
                    if count:
                        item.element.classes(remove="td-facet--zero")
                    else:
                        item.element.classes(add="td-facet--zero")
                on = key in chosen
                if on != item.on:
                    item.on = on
                    if on:
                        item.element.classes(add="td-facet--on").props("active aria-pressed=true")
                    else:
                        item.element.classes(remove="td-facet--on").props(remove="active")
                        item.element.props("aria-pressed=false")
        self._show_clear_buttons()

    def _build_list(self, name: str, values: list[tuple[str, str, str | None]]) -> None:
        facet_list = self._lists[name]
        facet_list.clear()
        items = self._items[name] = {}
        with facet_list:
            for key, text, color in values:
                with (
                    ui.item(on_click=lambda n=name, k=key: self.toggle_value(n, k))
                    .props("aria-pressed=false role=button")
                    .classes("td-facet")
                    .mark(f"facet-{name}") as element
                ):
                    if color is not None:
                        dot = ui.element("span").classes("td-facet-dot")
                        dot.style(f"background:{color}")
                    label = ui.label(text).classes("td-facet-name").mark("facet-name")
                    label.props["title"] = text  # the whole value when it is cut short
                    if key == _NONE_KEY.get(name):
                        label.classes("td-facet-none")
                    count = ui.label("").classes("td-facet-count").mark("facet-count")
                items[key] = _Item(element, count)

    def _show_clear_buttons(self) -> None:
        for name, button in self._clear_buttons.items():
            if button.visible != bool(self.chosen[name]):
                button.set_visibility(bool(self.chosen[name]))
        any_chosen = self.chosen_count > 0
        if self.clear_all_button.visible != any_chosen:
            self.clear_all_button.set_visibility(any_chosen)
