"""Add torrent dialog: magnet links / URLs (one per line) and .torrent files (drag and drop),
to a chosen server that is remembered, started or paused, with labels and a download directory
(the server's default offered, the recent ones remembered per server) set before it starts; a
.torrent's files in a tree, to untick the ones not to download."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from nicegui import app, ui
from nicegui.events import GenericEventArguments, UploadEventArguments

from ..services import Services
from ..services.errors import ClientError, UserFacingError
from ..services.live import ServerState
from ..services.torrents import AddedTorrent, FileChange
from ..torrent_input import (
    MAX_TORRENT_FILE_SIZE,
    InvalidTorrentInput,
    TorrentMetainfo,
    parse_magnet,
    parse_torrent_file,
    torrent_files,
)
from . import format as fmt
from .file_tree import FileEntry, FileTree
from .threads import io_bound
from .torrent_actions import recent_dirs, remember_dir

LAST_SERVER_KEY = "last_server_id"
BY_RULES = "__rules__"  # the server select's option: the user's add rules choose (SPEC §11)
START_KEY = "add_start"
EXPECTED_ERRORS = (UserFacingError, InvalidTorrentInput)


@dataclass
class StagedFile:
    filename: str
    data: bytes | None
    error: str | None = None
    title: str | None = None  # the torrent's own name and size, when it parses
    files: list[FileEntry] = field(default_factory=list)  # its files; unticked: not wanted
    meta: TorrentMetainfo | None = None

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
                ui.button(icon="close", on_click=self.dialog.close).props(
                    'flat round dense aria-label="Close"'
                )
            self.server = (
                ui.select({}, label="Server", on_change=self._server_chosen)
                .props("outlined dense")
                .classes("w-full")
                .mark("add-server")
            )
            self.more_servers = (
                ui.select({}, label="Also add to", multiple=True)
                .props("outlined dense use-chips clearable")
                .classes("w-full")
                .mark("add-more-servers")
            )
            self.rule_preview = ui.label("").classes("td-muted text-sm").mark("add-rule-preview")
            self.rule_preview.set_visibility(False)
            self.links = (
                ui.textarea(
                    "Magnet links or .torrent URLs",
                    placeholder="magnet:?xt=urn:btih:…  or  https://…/file.torrent — one per line",
                )
                .props("outlined dense autogrow")
                .classes("w-full td-mono")
                .mark("add-links")
            )
            self.links.on("blur", self.preview_rules)
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
            with ui.row().classes("w-full items-center td-add-actions"):
                self.start = (
                    ui.switch("Start downloading", value=bool(self.storage.get(START_KEY, True)))
                    .classes("td-add-start")
                    .mark("add-start")
                )
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
        """The enabled servers to choose from; keeps the remembered choice when it still exists.
        "By add rules" leaves the choice to the user's rules."""
        self.servers = {s.id: s.name for s in states}
        options = {**self.servers, BY_RULES: "By add rules"} if len(self.servers) > 1 else {
            **self.servers
        }
        remembered = self.storage.get(LAST_SERVER_KEY)
        current = self.server.value
        value = next(
            (v for v in (current, remembered) if v in options), next(iter(self.servers), None)
        )
        self.server.set_options(options, value=value)
        self._offer_more_servers()
        self.no_servers.set_visibility(not self.servers)
        self.add_button.set_enabled(bool(self.servers))

    def _offer_more_servers(self) -> None:
        """Every other server, to add the same torrents there too (not with the rules)."""
        primary = self.server.value
        others = {i: n for i, n in self.servers.items() if i != primary}
        chosen = [i for i in self.more_servers.value or [] if i in others]
        self.more_servers.set_options(others, value=chosen)
        self.more_servers.set_visibility(bool(others) and primary != BY_RULES)

    def targets(self) -> list[str] | None:
        """The servers chosen, the primary first; None: the add rules choose."""
        if self.server.value == BY_RULES:
            return None
        more = [i for i in self.more_servers.value or [] if i != self.server.value]
        return [self.server.value, *more] if self.server.value else []

    async def _server_chosen(self) -> None:
        self._offer_more_servers()
        if self.server.value:
            self.storage[LAST_SERVER_KEY] = self.server.value
        await self.preview_rules()
        if self.server.value and self.server.value != BY_RULES:
            await self._offer_directories(self.server.value)

    async def preview_rules(self) -> None:
        """With "By add rules": what the rules do with the first torrent staged (SPEC §11)."""
        if self.server.value != BY_RULES:
            self.rule_preview.set_visibility(False)
            return
        self.rule_preview.set_visibility(True)
        source = self._first_source()
        if source is None:
            self.rule_preview.set_text("The add rules choose the servers of each torrent.")
            return
        labels = [str(label) for label in self.labels.value or []]
        try:
            choice = await self.services.torrents.preview(self.user_id, source, labels)
        except EXPECTED_ERRORS as exc:
            self.rule_preview.set_text(f"Add rules: {exc}")
            return
        if choice.rule is None:
            self.rule_preview.set_text(
                f"No add rule matches {source.name or 'this torrent'}: choose a server"
            )
            return
        names = ", ".join(self.servers.get(i, "a deleted server") for i in choice.server_ids)
        parts = [f"Rule {choice.rule + 1}: {source.name or 'this torrent'} → {names}"]
        if choice.labels:
            parts.append("labels " + ", ".join(choice.labels))
        if choice.download_dir:
            parts.append(f"into {choice.download_dir}")
        self.rule_preview.set_text(" · ".join(parts))

    def _first_source(self):
        """The first magnet link or staged .torrent, parsed; None when there is none (a URL
        is previewed only once torrentdesk has fetched it, when it is added)."""
        for line in (self.links.value or "").splitlines():
            if line.strip().lower().startswith("magnet:"):
                try:
                    return parse_magnet(line)
                except InvalidTorrentInput:
                    return None
        staged = next((f for f in self.files if f.data is not None), None)
        return staged.meta if staged else None

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
                meta = await io_bound(parse_torrent_file, data)
            except InvalidTorrentInput as exc:
                self.files.append(StagedFile(file.name, None, str(exc)))
            else:
                title = f"{meta.name} · {fmt.size(meta.size)}"
                entries = [FileEntry(i, p, n) for i, (p, n) in enumerate(torrent_files(data))]
                self.files.append(
                    StagedFile(file.name, data, title=title, files=entries, meta=meta)
                )
        self._render_files()
        await self.preview_rules()
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
                    unstage = ui.button(
                        icon="close", on_click=lambda s=staged: self._unstage(s)
                    ).props("flat round dense size=sm")
                    unstage.props["aria-label"] = f"Leave out {staged.filename}"
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
        targets = self.targets()
        if targets == []:
            ui.notify("Choose a server first", type="warning")
            return
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
        added: dict[str, list[str]] = {}  # server id -> names added there
        failed_lines: list[str] = []
        try:
            for item in [*lines, *files]:
                what = item if isinstance(item, str) else item.filename
                outcomes = await self._add_item(targets, item, start, labels, directory)
                for server_id, outcome in outcomes:
                    name = self.servers.get(server_id or "", "the add rules")
                    if isinstance(outcome, Exception):
                        self._failure(name, _short(what), outcome)
                    else:
                        added.setdefault(server_id, []).append(outcome.name or _short(what))
                if any(not isinstance(o, Exception) for _, o in outcomes):
                    if not isinstance(item, str):
                        self.files.remove(item)
                elif isinstance(item, str):
                    failed_lines.append(item)
                else:
                    item.error = "; ".join(
                        _message(self.servers.get(s or "", "the add rules"), o)
                        for s, o in outcomes
                    )
                    item.data = None
        finally:
            self.add_button.props(remove="loading")
        self.links.value = "\n".join(failed_lines)
        self._render_files()
        for server_id, names in added.items():
            if directory:
                remember_dir(self.storage, server_id, directory)
            await self.on_added(server_id)
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            where = self.servers.get(server_id, "a server")
            ui.notify(f"Added to {where}: {shown}", type="positive")
        if not failed_lines and not any(f.error for f in self.files):
            self.files.clear()
            self._render_files()
            self.dialog.close()

    async def _add_item(
        self,
        targets: list[str] | None,
        item: str | StagedFile,
        start: bool,
        labels: list[str],
        directory: str | None,
    ) -> list[tuple[str | None, AddedTorrent | Exception]]:
        """One link or staged file to one server, several, or where the rules say: what each
        server did with it (server None: it failed before reaching any)."""
        torrents = self.services.torrents
        unwanted = [] if isinstance(item, str) else item.unwanted()
        try:
            if targets is not None and len(targets) == 1:
                if isinstance(item, str):
                    result = await torrents.add(
                        self.user_id, targets[0], item, start, labels, directory
                    )
                else:
                    result = await torrents.upload(
                        self.user_id, targets[0], item.data, start, labels, directory, unwanted
                    )
                return [(targets[0], result)]
            if isinstance(item, str):
                source = await torrents.source_of(item)
            else:
                source = item.meta or await io_bound(parse_torrent_file, item.data)
            if targets is None:
                _, results = await torrents.add_by_rules(
                    self.user_id, source, start, labels, directory, unwanted
                )
            else:
                results = await torrents.add_to_servers(
                    self.user_id, targets, source, start, labels, directory, unwanted
                )
        except EXPECTED_ERRORS as exc:
            return [(targets[0] if targets else None, exc)]
        return [(r.server_id, r if r.ok else r.error) for r in results]

    def _failure(self, server_name: str, what: str, exc: Exception) -> None:
        ui.notify(f"Could not add {what}: {_message(server_name, exc)}", type="negative")


def _message(server_name: str, exc: Exception) -> str:
    """Client errors already start with the server's name; say it for the others."""
    text = str(exc)
    return text if isinstance(exc, ClientError) else f"{server_name}: {text}"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
