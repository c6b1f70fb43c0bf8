"""Every action on the selected torrents, across servers (SPEC §9, §10): one menu, opened by a
right click on the table or by the toolbar's ⋯ button, and the dialogs it opens (labels, move,
limits, replace tracker).
Each action is one `TorrentService.apply` call; what it did comes back as notices."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import app, ui

from ..services import Services
from ..services.actions import Target
from ..services.errors import UserFacingError
from ..services.notices import action_results
from .notifications import Notifier
from .speed import bytes_value, limit_input
from .transfers import TransferDialog

RECENT_DIRS_KEY = "recent_dirs"  # per server id, most recent first
MAX_RECENT_DIRS = 8
QUEUE_MOVES = (("top", "To the top"), ("up", "Up"), ("down", "Down"), ("bottom", "To the bottom"))
LABEL_MODES = {"set_labels": "Replace with", "add_labels": "Add", "remove_labels": "Remove"}


def split_row_id(row_id: str) -> tuple[str, str]:
    server_id, _, info_hash = row_id.rpartition(":")
    return server_id, info_hash


def remember_dir(storage, server_id: str, directory: str) -> None:
    """Keep `directory` first among the server's recent ones (user storage, every browser)."""
    recent = dict(storage.get(RECENT_DIRS_KEY) or {})
    dirs = [directory, *(d for d in recent.get(server_id, []) if d != directory)]
    recent[server_id] = dirs[:MAX_RECENT_DIRS]
    storage[RECENT_DIRS_KEY] = recent


def known_labels(rows) -> list[str]:
    """Every label on these rows, sorted: what the label pickers offer."""
    return sorted({label for row in rows for label in row.get("labels", [])})


def recent_dirs(storage, server_ids) -> list[str]:
    recent = storage.get(RECENT_DIRS_KEY) or {}
    return list(dict.fromkeys(d for s in server_ids for d in recent.get(s, [])))


class TorrentActions:
    """The page hands it the selected rows (ids), the rows, each server's capabilities, and
    what to do for Remove (the page's own confirmation)."""

    def __init__(
        self,
        services: Services,
        user_id: int,
        selection: Callable[[], list[str]],
        rows: dict[str, dict],
        capabilities: Callable[[], dict[str, dict]],
        notifier: Notifier,
        ask_remove: Callable[[], Awaitable[None]],
    ) -> None:
        self.services = services
        self.user_id = user_id
        self.selection = selection
        self.rows = rows
        self.capabilities = capabilities
        self.notifier = notifier
        self.ask_remove = ask_remove
        self.storage = app.storage.user
        self.limits_items: list[tuple[ui.menu_item, ui.tooltip]] = []
        self._build_labels_dialog()
        self._build_move_dialog()
        self._build_limits_dialog()
        self.transfer_dialog = TransferDialog(services, user_id)
        self._build_tracker_dialog()

    # -- the menu --

    def menu_items(self) -> None:
        """The menu's entries, in the current context (a ui.context_menu or a ui.menu)."""
        item = ui.menu_item
        item("Start", lambda: self.run("start", "Started")).mark("action-start")
        item("Stop", lambda: self.run("stop", "Stopped")).mark("action-stop")
        item("Recheck", lambda: self.run("recheck", "Rechecking")).mark("action-recheck")
        item("Reannounce", lambda: self.run("reannounce", "Reannounced")).mark(
            "action-reannounce"
        )
        ui.separator()
        item("Labels…", self.open_labels).mark("action-labels")
        item("Move…", self.open_move).mark("action-move")
        with item("Limits…", self.open_limits).mark("action-limits") as limits:
            self.limits_items.append((limits, ui.tooltip("").mark("action-limits-why")))
        item("Copy or move to server…", self.open_transfer).mark("action-transfer")
        item("Replace tracker…", self.open_replace_tracker).mark("action-replace-tracker")
        with ui.menu_item("Queue", auto_close=False).mark("action-queue"):
            with ui.item_section().props("side"):
                ui.icon("keyboard_arrow_right")
            with ui.menu().props('anchor="top end" self="top start" auto-close'):
                for where, text in QUEUE_MOVES:
                    item(text, lambda w=where: self.run(f"queue_{w}", "Moved in the queue")).mark(
                        f"action-queue-{where}"
                    )
        ui.separator()
        item("Remove…", self.ask_remove).mark("action-remove")

    # -- running --

    def targets(self) -> list[Target]:
        return [Target(*split_row_id(row_id)) for row_id in self.selection()]

    async def run(
        self,
        action: str,
        done_text: str,
        params: dict | None = None,
        targets: list[Target] | None = None,
    ) -> bool:
        """Apply to the selection (or these of its targets); one notice for what worked, one
        for every failure."""
        if not self._selected_or_warn():
            return False
        targets = self.targets() if targets is None else targets
        try:
            results = await self.services.torrents.apply(self.user_id, action, targets, params)
        except UserFacingError as exc:
            ui.notify(str(exc), type="negative", multi_line=True)
            return False
        for notice in action_results(done_text, results):
            self.notifier.show(notice)
        return all(r.ok for r in results)

    def _selected_servers(self) -> list[str]:
        return list(dict.fromkeys(t.server_id for t in self.targets()))

    # -- labels --

    def _build_labels_dialog(self) -> None:
        with (
            ui.dialog() as self.labels_dialog,
            ui.card().classes("td-dialog td-labels-dialog w-[480px] max-w-full"),
        ):
            self.labels_title = ui.label("").classes("text-lg font-medium")
            self.label_mode = (
                ui.toggle(LABEL_MODES, value="add_labels").props("no-caps dense").mark("label-mode")
            )
            # Known labels offered, new ones typed (Enter adds one).
            self.label_input = (
                ui.select(
                    [], label="Labels", multiple=True, with_input=True, new_value_mode="add-unique"
                )
                .props("outlined dense use-chips hide-dropdown-icon")
                .classes("w-full")
                .mark("label-input")
            )
            self.label_note = ui.label("").classes("td-muted text-sm")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.labels_dialog.close).props("flat")
                ui.button("Apply", on_click=self._apply_labels).props("unelevated").mark(
                    "label-apply"
                )

    def _selected_or_warn(self) -> list[str]:
        ids = self.selection()
        if not ids:
            ui.notify("Select torrents first", type="warning")
        return ids

    def _servers_where(self, capability: str, value: object) -> list[str]:
        """Names of the selection's servers whose `capability` is `value`."""
        capabilities = self.capabilities()
        return [
            name
            for server_id, name in self._server_names().items()
            if capabilities.get(server_id, {}).get(capability) == value
        ]

    def open_labels(self) -> None:
        ids = self._selected_or_warn()
        if not ids:
            return
        current = sorted({label for i in ids for label in self.rows.get(i, {}).get("labels", [])})
        self.labels_title.set_text(f"Labels of {len(ids)} torrent{'s' if len(ids) != 1 else ''}")
        value = current if len(ids) == 1 else []
        self.label_input.set_options(
            sorted({*known_labels(self.rows.values()), *value}), value=value
        )
        self.label_mode.set_value("set_labels" if len(ids) == 1 else "add_labels")
        unable = self._servers_where("labels", "none")
        self.label_note.set_text(
            f"No labels on {', '.join(unable)} (its version has none)." if unable else ""
        )
        self.labels_dialog.open()

    async def _apply_labels(self) -> None:
        labels = [str(label) for label in self.label_input.value or []]
        mode = self.label_mode.value
        if mode != "set_labels" and not labels:
            ui.notify("Type a label first", type="warning")
            return
        verb = {"set_labels": "Labelled", "add_labels": "Labelled", "remove_labels": "Unlabelled"}
        self.labels_dialog.close()
        await self.run(mode, verb[mode], {"labels": labels})

    # -- move --

    def _build_move_dialog(self) -> None:
        with (
            ui.dialog() as self.move_dialog,
            ui.card().classes("td-dialog td-move-dialog w-[560px] max-w-full"),
        ):
            self.move_title = ui.label("").classes("text-lg font-medium")
            self.move_dir = (
                ui.input("Download directory on the server", placeholder="/srv/downloads/…")
                .props("outlined dense")
                .classes("w-full td-mono")
                .mark("move-dir")
            )
            self.move_data = ui.checkbox("Move the data too", value=True).mark("move-data")
            self.move_note = ui.label("").classes("td-muted text-sm").mark("move-note")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.move_dialog.close).props("flat")
                ui.button("Move", on_click=self._apply_move).props("unelevated").mark(
                    "move-apply"
                )

    def open_move(self) -> None:
        ids = self._selected_or_warn()
        if not ids:
            return
        servers = self._selected_servers()
        first = self.rows.get(ids[0], {})
        self.move_title.set_text(f"Move {len(ids)} torrent{'s' if len(ids) != 1 else ''}")
        self.move_dir.set_value(first.get("download_dir") or "")
        self.move_dir.set_autocomplete(recent_dirs(self.storage, servers))
        relocating = self._servers_where("move_data", False)
        self.move_note.set_text(
            f"{', '.join(relocating)} cannot move data over RPC: untick “Move the data too” "
            "to only point its torrents at the new directory (after moving their files on "
            "the server yourself)."
            if relocating
            else ""
        )
        self.move_data.set_value(len(relocating) < len(servers))
        self.move_dialog.open()

    async def _apply_move(self) -> None:
        directory = (self.move_dir.value or "").strip()
        if not directory:
            ui.notify("Type the directory on the server", type="warning")
            return
        servers = self._selected_servers()
        params = {"download_dir": directory, "move_data": bool(self.move_data.value)}
        self.move_dialog.close()
        # A server that cannot move data fails its torrents with that reason: relocating them
        # instead would leave their data behind where the user asked for it to move.
        if await self.run("move", "Moved", params):
            for server_id in servers:
                remember_dir(self.storage, server_id, directory)

    # -- limits --

    def _build_limits_dialog(self) -> None:
        with (
            ui.dialog() as self.limits_dialog,
            ui.card().classes("td-dialog td-limits-dialog w-[440px] max-w-full"),
        ):
            self.limits_title = ui.label("").classes("text-lg font-medium")
            with ui.element("div").classes("td-limit-grid w-full"):
                self.limit_down = limit_input("Download limit", "torrent-limit-download")
                self.limit_up = limit_input("Upload limit", "torrent-limit-upload")
            self.limits_note = ui.label("").classes("td-muted text-sm").mark("limits-note")
            self.limits_error = ui.label("").classes("td-error-text text-sm")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.limits_dialog.close).props("flat")
                ui.button("Apply", on_click=self._apply_limits).props("unelevated").mark(
                    "limits-apply"
                )

    def _without_torrent_limits(self) -> list[str]:
        return self._servers_where("torrent_limits", False)

    def selection_changed(self) -> None:
        """Grey "Limits…" when no selected server has per-torrent limits, saying why."""
        names = self._server_names()
        unable = self._without_torrent_limits()
        enabled = not names or len(unable) < len(names)
        why = (
            f"{', '.join(unable)} limit{'s' if len(unable) == 1 else ''} whole servers only "
            "(rTorrent): set the server's limits in Servers"
            if unable
            else "Speed limits of the selected torrents"
        )
        for item, tip in self.limits_items:
            item.set_enabled(enabled)
            tip.set_text(why)

    def open_limits(self) -> None:
        ids = self._selected_or_warn()
        if not ids:
            return
        self.limits_title.set_text(
            f"Speed limits of {len(ids)} torrent{'s' if len(ids) != 1 else ''}"
        )
        self.limit_down.set_value(None)
        self.limit_up.set_value(None)
        self.limits_error.set_text("")
        unable = self._without_torrent_limits()
        self.limits_note.set_text(
            "Empty is unlimited. "
            + (
                f"{', '.join(unable)} cannot limit single torrents (rTorrent limits whole "
                "servers): its torrents stay as they are."
                if unable
                else ""
            )
        )
        self.limits_dialog.open()

    async def _apply_limits(self) -> None:
        try:
            params = {
                "download_limit": bytes_value(self.limit_down.value, "The download limit"),
                "upload_limit": bytes_value(self.limit_up.value, "The upload limit"),
            }
        except ValueError as exc:
            self.limits_error.set_text(str(exc))
            return
        self.limits_dialog.close()
        # Only the torrents of servers that can: the others were named in the dialog.
        capabilities = self.capabilities()
        targets = [
            t
            for t in self.targets()
            if capabilities.get(t.server_id, {}).get("torrent_limits") is not False
        ]
        await self.run("set_limits", "Limited", params, targets)

    # -- to another server --

    async def open_transfer(self) -> None:
        targets = [
            (server_id, info_hash, self.rows.get(row_id, {}).get("name") or info_hash)
            for row_id in self._selected_or_warn()
            for server_id, info_hash in [split_row_id(row_id)]
        ]
        if targets:
            await self.transfer_dialog.open(targets)

    # -- replace tracker --

    def _build_tracker_dialog(self) -> None:
        with (
            ui.dialog() as self.tracker_dialog,
            ui.card().classes("td-dialog td-tracker-dialog w-[560px] max-w-full"),
        ):
            self.tracker_title = ui.label("").classes("text-lg font-medium")
            self.old_tracker = (
                ui.input("Tracker to replace (announce URL)")
                .props("outlined dense")
                .classes("w-full td-mono")
                .mark("replace-old")
            )
            self.new_tracker = (
                ui.input("New announce URL", placeholder="https://tracker.example/announce")
                .props("outlined dense")
                .classes("w-full td-mono")
                .mark("replace-new")
            )
            self.tracker_note = ui.label("").classes("td-muted text-sm").mark("replace-note")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.tracker_dialog.close).props("flat")
                ui.button("Replace", on_click=self._apply_replace_tracker).props(
                    "unelevated"
                ).mark("replace-apply")

    async def open_replace_tracker(self) -> None:
        ids = self._selected_or_warn()
        if not ids:
            return
        self.tracker_title.set_text(
            f"Replace a tracker of {len(ids)} torrent{'s' if len(ids) != 1 else ''}"
        )
        disabling = self._servers_where("tracker_edit", "add_disable")
        self.tracker_note.set_text(
            "Torrents without that tracker are left as they are (and listed as failed). "
            + (
                f"On {', '.join(disabling)} the old tracker is disabled, not removed: it cannot "
                "remove the trackers a .torrent came with."
                if disabling
                else ""
            )
        )
        self.tracker_dialog.open()
        # The first torrent's trackers as suggestions for the one to replace.
        server_id, info_hash = split_row_id(ids[0])
        try:
            located = await self.services.torrents.get(
                self.user_id, info_hash, server_id, trackers=True
            )
        except UserFacingError:
            return
        urls = [t.url for t in located.trackers or []]
        self.old_tracker.set_autocomplete(urls)
        if not self.old_tracker.value and urls:
            self.old_tracker.set_value(urls[0])

    async def _apply_replace_tracker(self) -> None:
        old = (self.old_tracker.value or "").strip()
        new = (self.new_tracker.value or "").strip()
        if not old or not new:
            ui.notify("Type the tracker to replace and its new URL", type="warning")
            return
        self.tracker_dialog.close()
        if await self.run(
            "replace_tracker", "Replaced the tracker of", {"old_url": old, "new_url": new}
        ):
            self.old_tracker.set_value("")
            self.new_tracker.set_value("")

    def _server_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for row_id in self.selection():
            row = self.rows.get(row_id)
            if row is not None:
                names[row["server_id"]] = row["server_name"]
        return names
