"""A torrent's files as an editable tree: a wanted checkbox per file and per folder (a folder's
is ticked, unticked or mixed from its files), and, where asked, a priority select offering only
the server's levels. Used by the details panel (changes go to the server) and the add dialog
(unticked files are not downloaded).

It stays quick with thousands of files: the tree is a flat, virtually scrolled table of the
rows of open folders only (big torrents start with their folders closed), and the browser
draws only the rows in view. Names are Vue text interpolations: shown as text, never HTML.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from nicegui import ui
from nicegui.events import GenericEventArguments

from ..services.torrents import FileChange
from . import format as fmt

OPEN_ALL_UP_TO = 200  # files; a bigger torrent starts with its folders closed
INDENT_PX = 16
MIXED = "mixed"
# The table's events (DOM events from its rows): each carries `detail`, a row id ("f:<index>",
# "d:<folder path>"), or for a priority {id, value}.
TOGGLE, EXPAND, PRIORITY = "tdtoggle", "tdexpand", "tdpriority"


@dataclass
class FileEntry:
    """One file as the tree shows it."""

    index: int
    path: str
    size: int
    wanted: bool = True
    priority: str = "normal"
    progress: float | None = None  # None: not downloading (the add dialog)


@dataclass
class _Folder:
    path: str
    name: str
    depth: int
    folders: dict[str, _Folder] = field(default_factory=dict)
    files: list[FileEntry] = field(default_factory=list)

    def all_files(self) -> list[FileEntry]:
        out = list(self.files)
        for child in self.folders.values():
            out += child.all_files()
        return out


# One template for the whole row. A click sends a DOM event from the row that bubbles up to the
# table, whose listeners take its `detail`: `$parent.$emit` would depend on how deep Quasar
# renders the slot (inside its virtual scroller, the parent is not the table).
_SEND = "$el.dispatchEvent(new ($el.ownerDocument.defaultView.CustomEvent)"
_ROW_START = r"""
<q-tr :props="props">
  <q-td key="wanted" :props="props" auto-width>
    <q-checkbox dense size="sm" :model-value="props.row.wanted"
      @update:model-value="() => SEND('tdtoggle', {bubbles: true, detail: props.row.id}))" />
  </q-td>
  <q-td key="name" :props="props" class="td-file-name">
    <div class="row no-wrap items-center" :style="{paddingLeft: props.row.depth * INDENT + 'px'}">
      <q-btn v-if="props.row.dir" flat dense round size="xs"
        :icon="props.row.open ? 'expand_more' : 'chevron_right'"
        @click="() => SEND('tdexpand', {bubbles: true, detail: props.row.id}))" />
      <q-icon v-else name="description" size="14px" class="td-muted q-mx-xs" />
      <q-icon v-if="props.row.dir" name="folder" size="14px" class="td-muted q-mr-xs" />
      <span class="td-ellipsis td-file-label" :title="props.row.path">{{ props.row.name }}</span>
    </div>
  </q-td>
  <q-td key="size" :props="props">{{ props.row.size_text }}</q-td>
""".replace("INDENT", str(INDENT_PX)).replace("SEND", _SEND)
_PROGRESS_CELL = r"""
  <q-td key="progress" :props="props">{{ props.row.progress_text }}</q-td>
"""
_PRIORITY_CELL = r"""
  <q-td key="priority" :props="props">
    <q-select dense borderless options-dense emit-value map-options class="td-file-priority"
      :options="props.colsMap.priority.options" :model-value="props.row.priority"
      :display-value="props.row.priority_text" :disable="props.row.wanted === false"
      @update:model-value="(value) => SEND('tdpriority',
        {bubbles: true, detail: {id: props.row.id, value}}))" />
  </q-td>
""".replace("SEND", _SEND)
_ROW_END = "</q-tr>"


class FileTree:
    """`on_change` gets the file changes of one click (every file of a folder at once)."""

    def __init__(
        self,
        on_change: Callable[[list[FileChange]], Awaitable[None] | None],
        *,
        priorities: bool = False,
        progress: bool = False,
        mark: str = "file-tree",
    ) -> None:
        self.on_change = on_change
        self.entries: list[FileEntry] = []
        self.root = _Folder("", "", -1)
        self.open: set[str] = set()
        self.levels: list[str] = []
        self.busy = False
        columns = [
            {"name": "wanted", "label": "", "field": "wanted"},
            {"name": "name", "label": "Name", "field": "name", "align": "left"},
            {"name": "size", "label": "Size", "field": "size_text", "align": "right"},
        ]
        if progress:
            columns.append(
                {"name": "progress", "label": "Done", "field": "progress_text", "align": "right"}
            )
        if priorities:
            columns.append(
                {"name": "priority", "label": "Priority", "field": "priority", "options": []}
            )
        self.table = (
            ui.table(columns=columns, rows=[], row_key="id")
            .props("dense flat virtual-scroll hide-bottom :virtual-scroll-item-size=28")
            .classes("td-files td-file-tree w-full")
            .mark(mark)
        )
        self.table.add_slot(
            "body",
            _ROW_START
            + (_PROGRESS_CELL if progress else "")
            + (_PRIORITY_CELL if priorities else "")
            + _ROW_END,
        )
        self.table.on(TOGGLE, self._toggled, args=["detail"])
        self.table.on(EXPAND, self._expanded, args=["detail"])
        self.table.on(PRIORITY, self._priority_chosen, args=["detail"])

    # -- content --

    def set_files(self, entries: Sequence[FileEntry], levels: Sequence[str] = ()) -> None:
        """Show these files; open folders stay open when the same torrent is shown again."""
        same = [e.path for e in entries] == [e.path for e in self.entries]
        self.entries = list(entries)
        self.root = _Folder("", "", -1)
        for entry in self.entries:
            folder = self.root
            parts = entry.path.split("/")
            for depth, part in enumerate(parts[:-1]):
                key = "/".join(parts[: depth + 1])
                folder = folder.folders.setdefault(part, _Folder(key, part, depth))
            folder.files.append(entry)
        if not same:
            self.open = (
                set(self._folder_paths(self.root))
                if len(self.entries) <= OPEN_ALL_UP_TO
                else set()
            )
        self.levels = list(levels)
        for column in self.table.columns:
            if column["name"] == "priority":
                column["options"] = [{"label": level, "value": level} for level in self.levels]
        self.render()

    def unwanted(self) -> list[int]:
        return sorted(e.index for e in self.entries if not e.wanted)

    def render(self) -> None:
        rows: list[dict] = []
        self._rows(self.root, rows)
        self.table.rows = rows
        self.table.update()

    def _folder_paths(self, folder: _Folder):
        for child in folder.folders.values():
            yield child.path
            yield from self._folder_paths(child)

    def _rows(self, folder: _Folder, rows: list[dict]) -> None:
        for child in sorted(folder.folders.values(), key=lambda f: f.name.lower()):
            files = child.all_files()
            is_open = child.path in self.open
            row_id = f"d:{child.path}"
            rows.append(self._row(row_id, child.path, child.name, child.depth, files, is_open))
            if is_open:
                self._rows(child, rows)
        for entry in sorted(folder.files, key=lambda e: e.path.lower()):
            name = entry.path.rsplit("/", 1)[-1]
            depth = folder.depth + 1
            rows.append(self._row(f"f:{entry.index}", entry.path, name, depth, [entry], None))

    @staticmethod
    def _row(
        row_id: str, path: str, name: str, depth: int, files: list[FileEntry], is_open
    ) -> dict:
        wanted = {e.wanted for e in files}
        priorities = {e.priority for e in files}
        size = sum(e.size for e in files)
        priority = next(iter(priorities)) if len(priorities) == 1 else MIXED
        row = {
            "id": row_id,
            "path": path,
            "name": name,
            "depth": max(depth, 0),
            "dir": is_open is not None,
            "open": bool(is_open),
            "size_text": fmt.size(size),
            "wanted": wanted.pop() if len(wanted) == 1 else None,
            "priority": priority,
            "priority_text": priority,
        }
        if any(e.progress is not None for e in files):
            done = sum((e.progress or 0.0) * e.size for e in files)
            row["progress_text"] = fmt.percent(done / size if size else 1.0)
        return row

    # -- events --

    def _files_of(self, row_id: str) -> list[FileEntry]:
        kind, _, key = row_id.partition(":")
        if kind == "f":
            return [e for e in self.entries if str(e.index) == key]
        folder = self.root
        for part in key.split("/"):
            folder = folder.folders.get(part)
            if folder is None:
                return []
        return folder.all_files()

    async def _toggled(self, event: GenericEventArguments) -> None:
        files = self._files_of(str(_detail(event)))
        if not files:
            return
        wanted = not all(e.wanted for e in files)  # mixed or unticked: want them all
        changes = [FileChange(e.index, wanted=wanted) for e in files if e.wanted != wanted]
        await self._change(changes)

    def _expanded(self, event: GenericEventArguments) -> None:
        kind, _, path = str(_detail(event)).partition(":")
        if kind != "d":
            return
        self.open.symmetric_difference_update({path})
        self.render()

    async def _priority_chosen(self, event: GenericEventArguments) -> None:
        args = _detail(event)
        args = args if isinstance(args, dict) else {}
        value = args.get("value")
        if value not in self.levels:
            return
        files = self._files_of(str(args.get("id", "")))
        changes = [FileChange(e.index, priority=value) for e in files if e.priority != value]
        await self._change(changes)

    async def _change(self, changes: list[FileChange]) -> None:
        if not changes or self.busy:
            return
        self.busy = True
        try:
            result = self.on_change(changes)
            if inspect.isawaitable(result):
                await result
        finally:
            self.busy = False


def _detail(event: GenericEventArguments) -> object:
    return event.args.get("detail") if isinstance(event.args, dict) else None
