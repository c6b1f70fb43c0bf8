"""Add torrent dialog: magnet links / URLs (one per line) and .torrent files (drag and drop),
to a chosen server that is remembered, started or paused, with labels and a download directory
(the server's default offered, the recent ones remembered per server) set before it starts; a
.torrent's files in a tree, to untick the ones not to download."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from nicegui import app, run, ui
from nicegui.events import GenericEventArguments, UploadEventArguments

from ..services import Services
from ..services.errors import ClientError, UserFacingError
from ..services.live import ServerState
from ..services.torrents import FileChange
from ..torrent_input import (
    MAX_TORRENT_FILE_SIZE,
    InvalidTorrentInput,
    parse_torrent_file,
    torrent_files,
)
from . import format as fmt
from .file_tree import FileEntry, FileTree
from .torrent_actions import recent_dirs, remember_dir

LAST_SERVER_KEY = "last_server_id"
START_KEY = "add_start"
EXPECTED_ERRORS = (UserFacingError, InvalidTorrentInput)


@dataclass
class StagedFile:
    filename: str
    data: bytes | None
    error: str | None = None
    title: str | None = None  # the torrent's own name and size, when it parses
    files: list[FileEntry] = field(default_factory=list)  # its files; unticked: not wanted

    def unwanted(self) -> list[int]:
        return [f.index for f in self.files if not f.wanted]

    def files_title(self) -> str:
        wanted = sum(f.wanted for f in self.files)
        return f"Files: {wanted} of {len(self.files)} to download"


class AddTorrentDialog:
    def __init__(
        self,
        services: Services,
        user_id: int,
        on_added: Callable[[str], Awaitable[None]],
        known_labels: Callable[[], list[str]] = list,
    ) -> None:
        self.services = services
        self.user_id = user_id
        self.on_added = on_added
        self.known_labels = known_labels
        self.files: list[StagedFile] = []
        # Files still being checked (in a thread): Add waits for them.
        self._checking: list[asyncio.Future] = []
        self.servers: dict[str, str] = {}
        # Captured now: live updates call set_servers outside the page's request context.
        self.storage = app.storage.user
        with (
            ui.dialog() as self.dialog,
            ui.card().classes("td-dialog td-add-dialog w-[620px] max-w-full"),
        ):
            with ui.row().classes("w-full items-center"):
                ui.label("Add torrents").classes("text-lg font-medium")
                ui.space()
                ui.button(icon="close", on_click=self.dialog.close).props("flat round dense")
            self.server = (
                ui.select({}, label="Server", on_change=self._server_chosen)
                .props("outlined dense")
                .classes("w-full")
                .mark("add-server")
            )
            self.links = (
                ui.textarea(
                    "Magnet links or .torrent URLs",
                    placeholder="magnet:?xt=urn:btih:…  or  https://…/file.torrent — one per line",
                )
                .props("outlined dense autogrow")
                .classes("w-full td-mono")
                .mark("add-links")
            )
            self.upload = (
                ui.upload(
                    multiple=True,
                    auto_upload=True,
                    max_file_size=MAX_TORRENT_FILE_SIZE,
                    on_upload=self._uploaded,
                    label="Drop .torrent files here or click to choose",
                )
                .props('accept=".torrent,application/x-bittorrent" flat bordered hide-upload-btn')
                .classes("w-full td-upload")
                .mark("add-upload")
            )
            # Quasar rejects files over the limit in the browser; say which ones.
            self.upload.on(
                "rejected",
                self._rejected,
                js_handler="(entries) => emit(entries.map(e => "
                "({name: e.file.name, size: e.file.size, reason: e.failedPropValidation})))",
            )
            self.file_list = ui.column().classes("w-full gap-1").mark("add-files")
            with ui.row().classes("w-full no-wrap gap-2 td-add-options"):
                self.labels = (
                    ui.select(
                        [],
                        label="Labels",
                        multiple=True,
                        with_input=True,
                        new_value_mode="add-unique",
                    )
                    .props("outlined dense use-chips hide-dropdown-icon")
                    .classes("grow")
                    .mark("add-labels")
                )
                self.directory = (
                    ui.input("Download directory")
                    .props("outlined dense clearable")
                    .classes("grow td-mono")
                    .mark("add-directory")
                )
            with ui.row().classes("w-full items-center"):
                self.start = ui.switch(
                    "Start downloading", value=bool(self.storage.get(START_KEY, True))
                ).mark("add-start")
                ui.space()
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                self.add_button = (
                    ui.button("Add", icon="add", on_click=self.submit)
                    .props("unelevated")
                    .mark("add-submit")
                )
            self.no_servers = ui.label("Add a server first (user menu → Servers).").classes(
                "td-error-text"
            )
            self.no_servers.set_visibility(False)

    # -- servers --

    def set_servers(self, states: list[ServerState]) -> None:
        """The enabled servers to choose from; keeps the remembered choice when it still exists."""
        self.servers = {s.id: s.name for s in states}
        remembered = self.storage.get(LAST_SERVER_KEY)
        current = self.server.value
        value = next(
            (v for v in (current, remembered) if v in self.servers), next(iter(self.servers), None)
        )
        self.server.set_options(dict(self.servers), value=value)
        self.no_servers.set_visibility(not self.servers)
        self.add_button.set_enabled(bool(self.servers))

    async def _server_chosen(self) -> None:
        if self.server.value:
            self.storage[LAST_SERVER_KEY] = self.server.value
            await self._offer_directories(self.server.value)

    async def open(self) -> None:
        known = self.known_labels()
        self.labels.set_options(sorted({*known, *(self.labels.value or [])}))
        self.dialog.open()
        if self.server.value:
            await self._offer_directories(self.server.value)

    async def _offer_directories(self, server_id: str) -> None:
        """The server's own default as the placeholder (empty: it applies), and its recent
        directories as suggestions."""
        default = await self.services.torrents.default_download_dir(self.user_id, server_id)
        if self.server.value != server_id:  # chosen another meanwhile
            return
        # Set as a value, never parsed as a props string: the daemon chose this text.
        self.directory._props["placeholder"] = default or "the server's default"
        self.directory.update()
        suggestions = recent_dirs(self.storage, [server_id]) + ([default] if default else [])
        self.directory.set_autocomplete(list(dict.fromkeys(suggestions)))

    # -- files --

    async def _uploaded(self, event: UploadEventArguments) -> None:
        checked = asyncio.get_running_loop().create_future()
        self._checking.append(checked)
        try:
            await self._stage(event.file)
        finally:
            self._checking.remove(checked)
            checked.set_result(None)

    async def _stage(self, file) -> None:
        if file.size() > MAX_TORRENT_FILE_SIZE:
            self.files.append(StagedFile(file.name, None, "larger than 10 MiB"))
        else:
            data = await file.read()
            try:
                # In a thread: a big .torrent takes a while to check; the page stays live.
                meta = await run.io_bound(parse_torrent_file, data)
            except InvalidTorrentInput as exc:
                self.files.append(StagedFile(file.name, None, str(exc)))
            else:
                title = f"{meta.name} · {fmt.size(meta.size)}"
                entries = [FileEntry(i, p, n) for i, (p, n) in enumerate(torrent_files(data))]
                self.files.append(StagedFile(file.name, data, title=title, files=entries))
        self._render_files()
        self.upload.reset()

    def _rejected(self, event: GenericEventArguments) -> None:
        entries = event.args if isinstance(event.args, list) else [event.args]
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            reason = entry.get("reason")
            message = "larger than 10 MiB" if reason == "max-file-size" else f"rejected ({reason})"
            self.files.append(StagedFile(str(entry.get("name", "file")), None, message))
        self._render_files()

    def _render_files(self) -> None:
        self.file_list.clear()
        with self.file_list:
            for staged in self.files:
                with ui.row().classes("td-staged w-full items-center no-wrap gap-2"):
                    ui.icon("error" if staged.error else "description").classes(
                        "td-error-text" if staged.error else "td-muted"
                    )
                    with ui.column().classes("gap-0 grow min-w-0"):
                        ui.label(staged.filename).classes("td-ellipsis")
                        if staged.error:
                            ui.label(staged.error).classes("td-error-text text-xs").mark(
                                "add-file-error"
                            )
                        elif staged.title:
                            ui.label(staged.title).classes("td-muted text-xs td-ellipsis")
                    ui.button(icon="close", on_click=lambda s=staged: self._unstage(s)).props(
                        "flat round dense size=sm"
                    )
                if staged.data is not None and len(staged.files) > 1:
                    self._file_tree(staged)

    def _file_tree(self, staged: StagedFile) -> None:
        """The .torrent's files, all ticked; what is unticked is not downloaded."""
        with (
            ui.expansion(staged.files_title(), icon="account_tree")
            .props("dense")
            .classes("w-full td-add-tree")
            .mark("add-file-tree-toggle") as expansion
        ):
            tree = FileTree(lambda changes: None, mark="add-file-tree")

            def changed(changes: list[FileChange]) -> None:
                by_index = {f.index: f for f in staged.files}
                for change in changes:
                    if change.wanted is not None:
                        by_index[change.index].wanted = change.wanted
                tree.set_files(staged.files)
                expansion.set_text(staged.files_title())

            tree.on_change = changed
            tree.set_files(staged.files)

    def _unstage(self, staged: StagedFile) -> None:
        self.files.remove(staged)
        self._render_files()

    # -- adding --

    async def submit(self) -> None:
        if self._checking:  # files dropped a moment ago are added with the rest
            await asyncio.gather(*self._checking)
        server_id = self.server.value
        if not server_id:
            ui.notify("Choose a server first", type="warning")
            return
        server_name = self.servers.get(server_id, "server")
        start = bool(self.start.value)
        self.storage[START_KEY] = start
        labels = [str(label) for label in self.labels.value or []]
        directory = (self.directory.value or "").strip() or None
        lines = [line.strip() for line in (self.links.value or "").splitlines() if line.strip()]
        files = [f for f in self.files if f.data is not None]
        if not lines and not files:
            ui.notify("Paste a magnet link or URL, or drop a .torrent file", type="warning")
            return
        self.add_button.props("loading")
        added: list[str] = []
        failed_lines: list[str] = []
        try:
            for line in lines:
                try:
                    result = await self.services.torrents.add(
                        self.user_id, server_id, line, start, labels, directory
                    )
                except EXPECTED_ERRORS as exc:
                    failed_lines.append(line)
                    self._failure(server_name, _short(line), exc)
                else:
                    added.append(result.name or result.info_hash or _short(line))
            for staged in files:
                try:
                    result = await self.services.torrents.upload(
                        self.user_id,
                        server_id,
                        staged.data,
                        start,
                        labels,
                        directory,
                        staged.unwanted(),
                    )
                except EXPECTED_ERRORS as exc:
                    staged.error = _message(server_name, exc)
                    staged.data = None
                    self._failure(server_name, staged.filename, exc)
                else:
                    self.files.remove(staged)
                    added.append(result.name or staged.filename)
        finally:
            self.add_button.props(remove="loading")
        self.links.value = "\n".join(failed_lines)
        self._render_files()
        if added:
            if directory:
                remember_dir(self.storage, server_id, directory)
            await self.on_added(server_id)
            names = ", ".join(added[:3]) + (f" and {len(added) - 3} more" if len(added) > 3 else "")
            ui.notify(f"Added to {server_name}: {names}", type="positive")
        if not failed_lines and not any(f.error for f in self.files):
            self.files.clear()
            self._render_files()
            self.dialog.close()

    def _failure(self, server_name: str, what: str, exc: Exception) -> None:
        ui.notify(f"Could not add {what}: {_message(server_name, exc)}", type="negative")


def _message(server_name: str, exc: Exception) -> str:
    """Client errors already start with the server's name; say it for the others."""
    text = str(exc)
    return text if isinstance(exc, ClientError) else f"{server_name}: {text}"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
