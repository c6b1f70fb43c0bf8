"""Copy or move torrents to another server (SPEC §11): the dialog that starts transfers for
the selected torrents, and the list of transfers with their state, step and a Cancel."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui
from nicegui.events import ValueChangeEventArguments

from ..services import Services
from ..services.errors import UserFacingError
from ..services.transfers import TransferView
from . import format as fmt
from .threads import io_bound

STATE_TEXT = {
    "queued": "Queued",
    "running": "Running",
    "done": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
STEP_TEXT = {
    "preflight": "checking",
    "add": "adding",
    "verify": "verifying / downloading",
    "finish": "finishing",
    "done": "",
}


class TransferDialog:
    """Start one transfer per selected torrent to the chosen server."""

    def __init__(
        self, services: Services, user_id: int, on_started: Callable[[], None] | None = None
    ) -> None:
        self.services = services
        self.user_id = user_id
        self.on_started = on_started
        self.targets: list[tuple[str, str, str]] = []  # server id, info hash, name
        with (
            ui.dialog() as self.dialog,
            ui.card().classes("td-dialog td-transfer-dialog w-[560px] max-w-full"),
        ):
            self.title = ui.label("").classes("text-lg font-medium")
            self.server = (
                ui.select({}, label="To server").props("outlined dense").classes("w-full")
            ).mark("transfer-server")
            self.mode = ui.toggle({"copy": "Copy", "move": "Move"}, value="copy").props(
                "no-caps dense"
            ).mark("transfer-mode")
            self.same_storage = ui.checkbox(
                "Both servers see the same storage (verify the data there, no download)"
            ).mark("transfer-same-storage")
            self.directory = (
                ui.input("Directory on the target (empty: the source's, or the target's default)")
                .props("outlined dense")
                .classes("w-full td-mono")
                .mark("transfer-dir")
            )
            self.allow_magnet = ui.checkbox(
                "Allow a magnet link for private torrents whose .torrent the app does not have"
            ).mark("transfer-allow-magnet")
            ui.label(
                "A move removes the torrent from its server — never its data — once the "
                "target has verified or downloaded it."
            ).classes("td-muted text-sm")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                ui.button("Start", on_click=self._start).props("unelevated").mark(
                    "transfer-start"
                )

    async def open(self, targets: list[tuple[str, str, str]]) -> None:
        if not targets:
            ui.notify("Select torrents first", type="warning")
            return
        self.targets = targets
        servers = await io_bound(self.services.servers.list, self.user_id)
        sources = {server_id for server_id, _, _ in targets}
        options = {s.id: s.name for s in servers if s.enabled and s.id not in sources}
        if not options:
            ui.notify("Add another server first: there is none to transfer to", type="warning")
            return
        count = len(targets)
        self.title.set_text(
            f"Copy or move {targets[0][2]!s}" if count == 1 else f"Copy or move {count} torrents"
        )
        self.server.set_options(options, value=next(iter(options)))
        self.dialog.open()

    async def _start(self) -> None:
        target_id = self.server.value
        if not target_id:
            ui.notify("Pick the server to transfer to", type="warning")
            return
        directory = (self.directory.value or "").strip() or None
        self.dialog.close()
        started, failed = 0, []
        for server_id, info_hash, name in self.targets:
            try:
                await self.services.transfers.create(
                    self.user_id,
                    server_id,
                    info_hash,
                    target_id,
                    self.mode.value,
                    bool(self.same_storage.value),
                    directory,
                    bool(self.allow_magnet.value),
                )
                started += 1
            except UserFacingError as exc:
                failed.append(f"{name}: {exc}")
        if started:
            ui.notify(f"{started} transfer{'s' if started != 1 else ''} started", type="info")
        for message in failed:
            ui.notify(message, type="negative", multi_line=True)
        if started and self.on_started:
            self.on_started()


TRANSFER_COLUMNS = [
    {"name": "name", "label": "Torrent", "field": "name", "align": "left"},
    {"name": "route", "label": "From → to", "field": "route", "align": "left"},
    {"name": "mode", "label": "Mode", "field": "mode", "align": "left"},
    {"name": "state", "label": "State", "field": "state_text", "align": "left"},
    {"name": "updated", "label": "Updated", "field": "updated", "align": "left"},
    {"name": "cancel", "label": "", "field": "id"},
]


class TransfersList:
    """Every transfer of the user, newest first, refreshed while open."""

    def __init__(self, services: Services, user_id: int) -> None:
        self.services = services
        self.user_id = user_id
        with (
            ui.dialog() as self.dialog,
            ui.card().classes("td-dialog td-transfers-dialog w-[900px] max-w-full"),
        ):
            ui.label("Transfers").classes("text-lg font-medium")
            self.empty = ui.label("No transfers yet: select torrents, then ⋯ → Copy or move.")
            self.empty.classes("td-muted")
            self.table = (
                ui.table(columns=TRANSFER_COLUMNS, rows=[], row_key="id")
                .props("flat dense wrap-cells")
                .classes("w-full")
                .mark("transfers-table")
            )
            self.table.add_slot(
                "body-cell-state",
                r"""<q-td :props="props">{{ props.row.state_text }}
                    <div v-if="props.row.error" class="td-transfer-error text-negative">
                    {{ props.row.error }}</div></q-td>""",
            )
            self.table.add_slot(
                "body-cell-cancel",
                r"""<q-td :props="props"><q-btn v-if="props.row.active" flat dense no-caps
                    label="Cancel" :aria-label="'Cancel the transfer of ' + props.row.name"
                    @click="() => $parent.$emit('cancel', props.row.id)"/></q-td>""",
            )
            self.table.on("cancel", lambda e: self._cancel(str(e.args)))
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=self.dialog.close).props("flat")
        # Built on the first opening, not with the page: NiceGUI sends a page as soon as a
        # timer waits for the browser, before the page has loaded what it shows.
        self.timer: ui.timer | None = None
        self.dialog.on_value_change(self._refresh_while_open)

    async def open(self) -> None:
        await self.refresh()
        if self.timer is None:
            with self.dialog:
                self.timer = ui.timer(1.0, self.refresh)
        self.dialog.open()

    def _refresh_while_open(self, event: ValueChangeEventArguments) -> None:
        if self.timer is not None:
            self.timer.active = bool(event.value)

    async def refresh(self) -> None:
        transfers = await io_bound(self.services.transfers.list, self.user_id)
        servers = await io_bound(self.services.servers.list, self.user_id)
        names = {s.id: s.name for s in servers}
        rows = [self._row(t, names) for t in transfers]
        self.empty.set_visibility(not rows)
        self.table.set_visibility(bool(rows))
        if rows != self.table.rows:
            self.table.rows = rows
            self.table.update()

    @staticmethod
    def _row(t: TransferView, names: dict[str, str]) -> dict:
        step = STEP_TEXT.get(t.step, t.step) if t.state == "running" else ""
        state = STATE_TEXT.get(t.state, t.state) + (f" · {step}" if step else "")
        source, target = (names.get(i, "(deleted)") for i in (t.source_id, t.target_id))
        return {
            "id": t.id,
            "name": t.name or t.info_hash,
            "route": f"{source} → {target}",
            "mode": "Move" if t.mode == "move" else "Copy",
            "state_text": state,
            "error": t.error,
            "updated": fmt.local_time(t.updated_at.timestamp()),
            "active": t.state in ("queued", "running"),
        }

    async def _cancel(self, transfer_id: str) -> None:
        try:
            _, left = await self.services.transfers.cancel(self.user_id, transfer_id)
        except UserFacingError as exc:
            ui.notify(str(exc), type="negative")
            return
        ui.notify(f"Cancelled: {left}", type="info")
        await self.refresh()
