"""The main view: one torrent table across all of the user's servers, kept live (SPEC §6, §7)."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import Client, ui

from ..services import Services
from ..services.live import ServerState, TorrentChanges
from ..services.notices import down_detail
from ..services.servers import ServerView, server_type_labels
from ..services.totals import RowFilter, TotalsTracker, search_words
from .add_dialog import AddTorrentDialog
from .auth import LOGIN_PATH, current_user_id
from .away import AwaySummaryDialog
from .details import DetailsPanel, RecentSpeeds
from .filter_panel import FacetServer, FilterPanel
from .from_outside import FromOutside
from .keyboard import Shortcuts, toggle_action
from .layout import frame
from .notifications import Notifier
from .page_script import add_phone_column, install, load_page_script
from .saved_views import SavedViews, default_sort
from .speed import Session, session_lines
from .theme import FAVICON, NO_COLOR, server_colors
from .torrent_actions import TorrentActions, known_labels
from .torrent_grid import TorrentGrid


def chip_tooltip(state: ServerState) -> str:
    """The whole story of a server's chip, naming the server once."""
    if state.status == "error":
        return f"{state.name}: {down_detail(state.detail or state.error or 'no answer')}"
    if state.status == "unknown":
        return f"{state.name}: waiting for its first answer"
    noun = "torrent" if state.count == 1 else "torrents"
    return f"{state.name}: connected, {state.count} {noun}"


def no_match_text(row_filter: RowFilter, search: str, total: int) -> str:
    """Why the table is empty although there are torrents: which filters hide them."""
    hiding = [f"the search “{search.strip()}”"] if row_filter.words else []
    sections = (("state", row_filter.states), ("server", row_filter.servers))
    sections += (("label", row_filter.labels), ("tracker", row_filter.trackers))
    hiding += [f"the {name} filter" for name, chosen in sections if chosen]
    verb = "hides" if len(hiding) == 1 else "hide"
    noun = "torrent" if total == 1 else "torrents"
    listed = " and ".join([", ".join(hiding[:-1]), hiding[-1]] if len(hiding) > 1 else hiding)
    text = f"{listed} {verb} all {total} {noun}."
    return text[:1].upper() + text[1:]


class TorrentsPage:
    """One instance per open page (per browser tab): its own grid, subscription and state."""

    def __init__(self, services: Services, user_id: int, client: Client) -> None:
        self.services = services
        self.user_id = user_id
        self.client = client
        rows, states = services.live.view(user_id)
        self.rows: dict[str, dict] = {row["id"]: row for row in rows}
        self.states: dict[str, ServerState] = {s.id: s for s in states}
        self.totals = TotalsTracker()
        self.totals.reset(self.rows.values())
        self.recent = RecentSpeeds()
        self.notifier = Notifier()
        self.views: list[ServerView] = []
        self.sessions: dict[str, Session] = {}  # each server's session, for its chip
        self.selected: list[str] = []
        # server id -> its chip as drawn: (what it shows, its element, its tooltip, its state)
        self._chips: dict[str, tuple[tuple, ui.element, ui.tooltip, ServerState]] = {}

        with frame(services, user_id) as shared:
            self.frame = shared
            self.add_dialog = AddTorrentDialog(
                services, user_id, self._added, lambda: known_labels(self.rows.values())
            )
            with shared.actions:
                ui.button("Add", icon="add", on_click=self.add_dialog.open).props(
                    'unelevated dense no-caps color=white text-color=primary aria-label="Add"'
                ).classes("td-add-button").mark("open-add")
            self._build_remove_dialog()
            with ui.row().classes("td-toolbar w-full items-center no-wrap") as self.toolbar:
                # Shows or hides the filter panel; on phones it opens it over the page.
                self.filters_button = (
                    ui.button("Filters", icon="filter_list", on_click=self._toggle_filters)
                    .props('dense flat no-caps aria-label="Filters"')
                    .classes("td-filters-button")
                    .mark("open-filters")
                )
                with self.filters_button:
                    self.filters_badge = ui.badge("").props("rounded")
                    self.filters_badge.classes("td-filters-badge").mark("filters-badge")
                self.search = (
                    ui.input(placeholder="Search name, label, hash or tracker")
                    .props("dense outlined clearable debounce=250")
                    .classes("td-search")
                    .mark("search")
                )
                self.search.on_value_change(self._filter_changed)
                with self.search.add_slot("prepend"):
                    ui.icon("search")
                ui.space()
                with ui.row().classes("td-bulk items-center no-wrap"):
                    self.selection_label = (
                        ui.label("").classes("td-muted text-sm").mark("selection-count")
                    )
                    self.start_button = self._action_button(
                        "play_arrow", "Start", "bulk-start", lambda: self._bulk("start")
                    )
                    self.stop_button = self._action_button(
                        "pause", "Stop", "bulk-stop", lambda: self._bulk("stop")
                    )
                    self.remove_button = self._action_button(
                        "delete", "Remove", "bulk-remove", self._ask_remove
                    )
                    self.remove_button.props("color=negative")
                    self.more_button = self._action_button(
                        "more_horiz", "More", "bulk-more", None
                    )
                    with self.more_button:
                        self.more_menu = ui.menu().props("auto-close").classes("td-sheet")
            self.chips = ui.row().classes("td-chips w-full items-center").mark("server-chips")
            self.empty = (
                ui.row().classes("td-empty-banner w-full items-center").mark("empty-banner")
            )
            with self.empty:
                ui.icon("dns", size="22px")
                ui.label(f"No servers yet: add your {server_type_labels()} servers.")
                ui.button("Add server", on_click=self._open_add_server).props(
                    "unelevated dense no-caps"
                ).mark("empty-add-server")
            self.grid = TorrentGrid(self._selection_changed, self._clear_filters)
            add_phone_column(self.grid.grid)
            self.actions = TorrentActions(
                services,
                user_id,
                lambda: self.selected,
                self.rows,
                lambda: {v.id: v.capabilities for v in self.views},
                self.notifier,
                self._ask_remove,
            )
            with self.more_menu:
                self.actions.menu_items()
            with self.grid.wrap, ui.context_menu().classes("td-sheet").mark("row-menu"):
                self.actions.menu_items()
            self.details = DetailsPanel(services, user_id, self.recent)
        # A drawer is a top-level layout element: beside the frame's column, not in it.
        self.filter_panel = FilterPanel(self._filter_changed)
        self._daily_paths(shared)

        shared.servers_dialog.listeners.append(self._servers_listed)
        shared.sessions.listeners.append(self._sessions_read)
        shared.servers_dialog.update_states(list(self.states.values()))
        self._servers_changed()
        self._update_selection_ui()
        self._update_totals()
        self.subscription = services.live.subscribe(user_id, self._on_changes)
        # Deleted, not merely disconnected: a reconnecting tab keeps its subscription.
        client.on_delete(self.subscription.close)
        client.on_connect(self._browser_connected)

    def _browser_connected(self) -> None:
        self.grid.load(list(self.rows.values()))
        self.grid.sync_browser()

    async def load(self) -> None:
        await self.frame.load()
        await self.frame.servers_dialog.reload()
        await self.saved_views.restore()
        await self.away.show_if_any()
        self.frame.start()

    def _daily_paths(self, shared) -> None:
        """Saved views, keyboard shortcuts, links and files from outside (issue 17)."""
        load_page_script()
        columns = self.grid.grid.options["columnDefs"]
        self.saved_views = SavedViews(
            self.services,
            self.user_id,
            self.grid.grid,
            self.filter_panel,
            self.search,
            default_sort(columns),
        )
        self.saved_views.button.move(self.toolbar, target_index=2)
        self.shortcuts = Shortcuts(
            self.add_dialog.open, self._toggle_selection, self._ask_remove, shared.user_menu
        )
        self.from_outside = FromOutside(self.add_dialog, shared.user_menu)
        self.client.on_connect(self._daily_connected)
        # Closing the page counts as having seen what happened so far.
        self.away = AwaySummaryDialog(self.services, self.user_id)
        self.client.on_disconnect(self.away.seen)

    async def _daily_connected(self) -> None:
        install(self.grid.grid, self.add_dialog.upload)
        self.saved_views.browser_connected()
        await self.from_outside.open_pending()

    async def _toggle_selection(self) -> None:
        """Space: start the selection, or stop it when all of it runs."""
        action = toggle_action([self.rows[i] for i in self.selected if i in self.rows])
        if action is not None:
            await self._bulk(action)

    # -- building blocks --

    @staticmethod
    def _action_button(icon: str, text: str, mark: str, handler) -> ui.button:
        button = ui.button(text, icon=icon, on_click=handler).mark(mark)
        return button.props(f'dense flat no-caps aria-label="{text}"')

    def _build_remove_dialog(self) -> None:
        with (
            ui.dialog() as self.remove_dialog,
            ui.card().classes("td-dialog td-remove-dialog w-[480px]"),
        ):
            self.remove_title = ui.label("").classes("text-lg font-medium")
            self.remove_names = ui.column().classes("gap-0 w-full td-remove-names")
            self.delete_data = ui.checkbox("Also delete the downloaded data").mark(
                "remove-delete-data"
            )
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=lambda: self.remove_dialog.submit(False)).props("flat")
                ui.button("Remove", on_click=lambda: self.remove_dialog.submit(True)).props(
                    "unelevated color=negative"
                ).mark("remove-confirm")

    async def _open_add_server(self) -> None:
        await self.frame.servers_dialog.open()
        self.frame.servers_dialog.form.open_new()

    # -- live changes --

    def _on_changes(self, changes: TorrentChanges) -> None:
        """Called by the live service on the event loop, outside any page context."""
        if self.client.is_deleted:
            return
        with self.client:
            self._apply_changes(changes)

    def _apply_changes(self, changes: TorrentChanges) -> None:
        for row in changes.added + changes.updated:
            old = self.rows.get(row["id"])
            self.totals.replace(old, row)
            self.recent.record(old, row)
            self.rows[row["id"]] = row
        for row_id in changes.removed:
            self.totals.replace(self.rows.pop(row_id, None), None)
            self.recent.forget(row_id)
        for state in changes.servers:
            self.states[state.id] = state
        for server_id in changes.removed_servers:
            self.states.pop(server_id, None)
        self.grid.apply(changes)
        if changes.servers or changes.removed_servers:
            self._servers_changed()
            self.frame.servers_dialog.update_states(changes.servers)
            for state in changes.servers:
                self.details.live_point(state)
        self._update_totals()
        shown = self.details.row
        if shown is not None:
            row = self.rows.get(shown["id"])
            if row is not None:
                self.details.update_row(row)
        for notice in changes.notices:
            self.notifier.show(notice)

    def _servers_changed(self) -> None:
        states = list(self.states.values())
        self.add_dialog.set_servers(states)
        self.details.set_servers(states)
        self._panel_servers()
        self._render_chips()

    def _panel_servers(self) -> None:
        colors = server_colors(self.views)
        servers = [
            FacetServer(s.id, s.name, colors.get(s.id, NO_COLOR)) for s in self.states.values()
        ]
        if self.filter_panel.set_servers(servers):  # a chosen server is gone
            self._filter_changed()

    def _servers_listed(self, views: list[ServerView]) -> None:
        """The servers dialog (re)loaded the list: colors follow it, so both agree."""
        self.views = views
        self.grid.set_colors(server_colors(views))
        self._panel_servers()
        self._render_chips()
        self._update_chip_tips()
        self.empty.set_visibility(not views)

    def _sessions_read(self, sessions: dict[str, Session]) -> None:
        self.sessions = sessions
        self._update_chip_tips()

    def _chip_tip(self, state: ServerState) -> str:
        """A chip's tooltip: the server's status and, while it answers, its session (rates,
        totals, free space, default directory, limits)."""
        session = self.sessions.get(state.id) if state.status == "connected" else None
        if session is None:
            return chip_tooltip(state)
        capabilities = next((v.capabilities for v in self.views if v.id == state.id), {})
        return "\n".join([chip_tooltip(state), *session_lines(session, capabilities)])

    def _update_chip_tips(self) -> None:
        for _, _, tip, state in self._chips.values():
            text = self._chip_tip(state)
            if tip.text != text:
                tip.set_text(text)

    def _render_chips(self) -> None:
        """Each server's chip in name order. Only the chip of a server whose news changed is
        drawn again: a page gets the bytes of that one chip, not of every chip."""
        colors = server_colors(self.views)
        states = sorted(self.states.values(), key=lambda s: s.name.lower())
        for gone in self._chips.keys() - {s.id for s in states}:
            self._chips.pop(gone)[1].delete()
        for index, state in enumerate(states):
            color = colors.get(state.id, NO_COLOR)
            shows = (state.name, state.status, state.error, state.count, color)
            chip = self._chips.get(state.id)
            if chip is None or chip[0] != shows:
                if chip is not None:
                    chip[1].delete()
                with self.chips:
                    element, tip = self._chip(state, color)
            else:
                element, tip = chip[1], chip[2]
            self._chips[state.id] = (shows, element, tip, state)
            if self.chips.default_slot.children.index(element) != index:
                element.move(target_index=index)

    def _chip(self, state: ServerState, color: str) -> tuple[ui.element, ui.tooltip]:
        """Dot by status (green connected, red error, grey unknown), the name in the server's
        color on one line, its torrent count, a short message; the whole story in the tooltip."""
        status = state.status
        with (
            ui.element("div")
            .classes(f"td-chip td-chip--{status}")
            .style(f"--td-server-color:{color}")
            .mark(f"chip-{state.name}")
            .on("click", lambda s=state: self.filter_panel.only_server(s.id)) as chip
        ):
            ui.element("span").classes(f"td-dot td-dot--{status}").mark(f"chip-dot-{state.name}")
            ui.label(state.name).classes("td-chip-name")
            ui.label(str(state.count)).classes("td-chip-count")
            if status == "error":
                ui.label(state.summary or "unreachable").classes("td-chip-error").mark(
                    f"chip-error-{state.name}"
                )
            elif status == "unknown":
                ui.label("connecting…").classes("td-chip-note")
            tip = ui.tooltip(self._chip_tip(state)).props("max-width=440px").classes("td-lines")
            tip.mark(f"chip-tip-{state.name}")
        return chip, tip

    def _update_totals(self) -> None:
        totals = self.totals
        narrowed = totals.filter.narrows
        self.frame.set_totals(totals.shown, totals.overall if narrowed else None)
        hidden_all = narrowed and totals.shown.count == 0 and totals.overall.count > 0
        self.grid.show_no_match(
            no_match_text(totals.filter, self.search.value or "", totals.overall.count)
            if hidden_all
            else None
        )
        panel = self.filter_panel
        panel.show_counts(totals.facets)
        chosen = panel.chosen_count
        self.filters_badge.set_text(str(chosen))
        self.filters_badge.set_visibility(chosen > 0)

    # -- filters and selection --

    def _filter_changed(self) -> None:
        row_filter = self.filter_panel.row_filter(search_words(self.search.value or ""))
        if row_filter != self.totals.filter:
            self.grid.set_filter(row_filter)
            self.totals.set_filter(row_filter)
            self._update_totals()

    def _toggle_filters(self) -> None:
        self.filter_panel.toggle()

    def _clear_filters(self) -> None:
        self.filter_panel.clear(notify=False)
        self.search.set_value("")  # filters again when the search changes
        self._filter_changed()

    def _selection_changed(self, ids: list[str]) -> None:
        self.selected = [i for i in ids if i in self.rows]
        self._update_selection_ui()
        row = self.rows.get(self.selected[0]) if len(self.selected) == 1 else None
        self.details.show(row, len(self.selected))

    def _update_selection_ui(self) -> None:
        count = len(self.selected)
        self.selection_label.set_text(f"{count} selected" if count else "")
        for button in (self.start_button, self.stop_button, self.remove_button, self.more_button):
            button.set_enabled(count > 0)
        self.actions.selection_changed()

    # -- actions --

    async def _bulk(self, action: str, delete_data: bool = False) -> None:
        done_text = {"start": "Started", "stop": "Stopped", "remove": "Removed"}[action]
        await self.actions.run(action, done_text, {"delete_data": delete_data})

    async def _ask_remove(self) -> None:
        ids = list(self.selected)
        if not ids:
            return
        names = [self.rows[i]["name"] for i in ids if i in self.rows]
        self.remove_title.set_text(f"Remove {len(ids)} torrent{'s' if len(ids) != 1 else ''}?")
        self.remove_names.clear()
        with self.remove_names:
            for name in names[:6]:
                ui.label(name).classes("td-ellipsis w-full")
            if len(names) > 6:
                ui.label(f"… and {len(names) - 6} more").classes("td-muted")
        self.delete_data.value = False
        if await self.remove_dialog:
            await self._bulk("remove", delete_data=bool(self.delete_data.value))

    async def _added(self, server_id: str) -> None:
        await self.services.live.refresh(server_id)


def register(services: Services) -> None:
    @ui.page("/", title="torrentdesk", favicon=FAVICON, language="en-US")
    async def index(client: Client) -> RedirectResponse | None:
        user_id = current_user_id()
        if user_id is None:  # the middleware redirects first; this is a second lock
            return RedirectResponse(LOGIN_PATH)
        page = TorrentsPage(services, user_id, client)
        await page.load()
        return None
