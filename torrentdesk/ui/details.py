"""Details of the selected torrent: general, files (an editable tree: wanted and priority),
trackers (add, remove or disable), peers, and speed (its recent speed from the live updates
beside its server's speed history). The panel folds away (remembered per user)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque

from nicegui import app, ui

from ..services import Services
from ..services.errors import UserFacingError
from ..services.live import ServerState
from ..services.torrents import (
    FileChange,
    LocatedTorrent,
    TrackerResult,
    file_priorities,
    server_capabilities,
)
from . import format as fmt
from .file_tree import FileEntry, FileTree
from .speed import pair_text
from .threads import io_bound

MAX_POINTS = 360  # more points than pixels is only bytes on the wire
LIVE_POINT_EVERY = 5.0
RANGES = {1: "1 hour", 6: "6 hours", 24: "24 hours"}
DETAILS_OPEN_KEY = "details_open"  # app.storage.user: the panel unfolded (default) or not
RECENT_WINDOW = 600.0  # seconds of a torrent's speed a page keeps in memory
RECENT_POINTS = 600  # per torrent (live updates come at most every second)
RECENT_TORRENTS = 2000  # torrents with a speed trail per page; the least recently moved go

GENERAL_FIELDS = (
    ("name", "Name"),
    ("server_name", "Server"),
    ("state", "State"),
    ("error", "Error"),
    ("warning", "Tracker warning"),
    ("progress", "Progress"),
    ("size", "Size"),
    ("downloaded", "Downloaded"),
    ("uploaded", "Uploaded"),
    ("ratio", "Ratio"),
    ("rates", "Speed"),
    ("eta", "ETA"),
    ("peers", "Peers / seeds"),
    ("added_at", "Added"),
    ("download_dir", "Save path"),
    ("labels", "Labels"),
    ("info_hash", "Info hash"),
)


def general_values(row: dict) -> dict[str, str]:
    """The General tab's texts for a row (all plain text)."""
    state = fmt.row_state(row)
    if row.get("stale"):
        last = fmt.state(row.get("state"))
        state += f" — server unreachable; last known: {last}"
    return {
        "name": row.get("name") or "",
        "server_name": f"{row.get('server_name', '')} ({row.get('server_type', '')})",
        "state": state,
        "error": row.get("error") or "—",
        "warning": row.get("warning") or "—",
        "progress": fmt.percent(row.get("progress")),
        "size": fmt.torrent_size(row.get("size")),
        "downloaded": fmt.size(row.get("downloaded")),
        "uploaded": fmt.size(row.get("uploaded")),
        "ratio": fmt.ratio(row.get("ratio")),
        "rates": f"↓ {fmt.speed(row.get('download_rate'))}   ↑ {fmt.speed(row.get('upload_rate'))}",
        "eta": fmt.eta(row.get("eta"), row.get("state")) or "—",
        "peers": f"{row.get('peers', 0)} / {row.get('seeds', 0)}",
        "added_at": fmt.local_time(row.get("added_at")),
        "download_dir": row.get("download_dir") or "",
        "labels": ", ".join(row.get("labels") or []) or "—",
        "info_hash": row.get("info_hash") or "",
    }


TRACKER_STATUS = {
    "working": "Working",
    "updating": "Updating…",
    "not_contacted": "Not contacted",
    "error": "Error",
    "disabled": "Disabled",
}
TRACKER_COLUMNS = [
    {"name": "url", "label": "Tracker", "field": "url", "align": "left"},
    {"name": "tier", "label": "Tier", "field": "tier"},
    {"name": "status", "label": "Status", "field": "status"},
    {"name": "message", "label": "Message", "field": "message", "align": "left"},
    {"name": "seeders", "label": "Seeders", "field": "seeders"},
    {"name": "leechers", "label": "Leechers", "field": "leechers"},
    {"name": "last_announce", "label": "Last announce", "field": "last_announce"},
]
PEER_COLUMNS = [
    {"name": "address", "label": "Address", "field": "address", "align": "left"},
    {"name": "port", "label": "Port", "field": "port"},
    {"name": "client", "label": "Client", "field": "client", "align": "left"},
    {"name": "progress", "label": "Has", "field": "progress"},
    {"name": "down", "label": "↓", "field": "down"},
    {"name": "up", "label": "↑", "field": "up"},
    {"name": "encrypted", "label": "Encrypted", "field": "encrypted"},
    {"name": "direction", "label": "Connection", "field": "direction"},
]


def _known(value: int | None) -> str:
    return "—" if value is None else str(value)


def tracker_rows(located: LocatedTorrent) -> list[dict]:
    return [
        {
            "id": i,
            "url": t.url,
            "tier": t.tier,
            "status": TRACKER_STATUS.get(t.status, t.status),
            "message": t.message or "",
            "seeders": _known(t.seeders),
            "leechers": _known(t.leechers),
            "last_announce": fmt.local_time(t.last_announce) if t.last_announce else "never",
        }
        for i, t in enumerate(located.trackers or [])
    ]


def peer_rows(located: LocatedTorrent) -> list[dict]:
    return [
        {
            "id": i,
            "address": p.address,
            "port": p.port,
            "client": p.client,
            "progress": fmt.percent(p.progress),
            "down": fmt.speed(p.download_rate) or "—",
            "up": fmt.speed(p.upload_rate) or "—",
            "encrypted": "yes" if p.encrypted else "no",
            "direction": "incoming" if p.incoming else "outgoing",
        }
        for i, p in enumerate(located.peers or [])
    ]


def tracker_notices(results: list[TrackerResult], server: str, verb: str) -> tuple[str, str]:
    """(what worked, what failed) of a tracker edit, each naming the server; "" for none."""
    done = [
        f"disabled {r.url} (it cannot remove it)" if r.disabled else f"{verb} {r.url}"
        for r in results
        if r.ok
    ]
    failed = [f"{r.url}: {r.error}" for r in results if not r.ok]
    return (
        f"{server}: {'; '.join(done)}" if done else "",
        f"{server} did not change {'; '.join(failed)}" if failed else "",
    )


def downsample(samples: list[tuple[float, int, int]], limit: int = MAX_POINTS) -> list:
    """Average into at most `limit` buckets: [(unix time, down, up)]."""
    if len(samples) <= limit:
        return list(samples)
    size = len(samples) / limit
    out = []
    for i in range(limit):
        bucket = samples[int(i * size) : int((i + 1) * size)] or [samples[-1]]
        out.append(
            (
                bucket[-1][0],
                sum(s[1] for s in bucket) // len(bucket),
                sum(s[2] for s in bucket) // len(bucket),
            )
        )
    return out


def _rates(row: dict) -> tuple[int, int]:
    return row.get("download_rate") or 0, row.get("upload_rate") or 0


class RecentSpeeds:
    """The recent speed of the torrents a page shows, taken from the live updates it receives
    (memory only; nothing is stored). A torrent with no update kept its speed all along."""

    def __init__(self, window: float = RECENT_WINDOW, clock=time.time) -> None:
        self.window = window
        self.clock = clock
        self.started = clock()
        self.trails: OrderedDict[str, deque[tuple[float, int, int]]] = OrderedDict()

    def record(self, old: dict | None, new: dict) -> None:
        """A row changed from `old` (None: new on the page) to `new`."""
        if new.get("stale"):  # an unreachable server's last values say nothing of now
            return
        row_id, rates = new["id"], _rates(new)
        now = self.clock()
        trail = self.trails.get(row_id)
        if trail is None:
            before = _rates(old) if old is not None and not old.get("stale") else (0, 0)
            if rates == before:
                return
            trail = self.trails[row_id] = deque(maxlen=RECENT_POINTS)
            trail.append((max(self.started, now - self.window), *before))
            while len(self.trails) > RECENT_TORRENTS:
                self.trails.popitem(last=False)
        else:
            self.trails.move_to_end(row_id)
            if trail[-1][1:] == rates:
                return
        trail.append((now, *rates))

    def forget(self, row_id: str) -> None:
        self.trails.pop(row_id, None)

    def points(self, row: dict) -> list[tuple[float, int, int]]:
        """(unix time, down, up) over the window, ending now with the row's current speed."""
        now = self.clock()
        start = max(self.started, now - self.window)
        trail = self.trails.get(row["id"], ())
        earlier = [p for p in trail if p[0] <= start]
        points = [(start, *earlier[-1][1:])] if earlier else []
        points += [p for p in trail if p[0] > start]
        if not points:
            points = [(start, *_rates(row))]
        points.append((now, *_rates(row)))
        return points


class DetailsPanel:
    def __init__(self, services: Services, user_id: int, recent: RecentSpeeds) -> None:
        self.services = services
        self.user_id = user_id
        self.recent = recent
        self.row: dict | None = None
        self.values: dict[str, ui.label] = {}
        self._files_task: asyncio.Task | None = None
        self._tab_task: asyncio.Task | None = None
        self.chart_server: str | None = None
        self.chart_hours = 1
        self.last_live_point = 0.0
        self.server_names: dict[str, str] = {}
        self.open = bool(app.storage.user.get(DETAILS_OPEN_KEY, True))
        with (
            ui.card()
            .classes("td-details w-full")
            .props("flat bordered")
            .mark("details") as self.card
        ):
            with ui.row().classes("td-details-bar w-full items-center no-wrap"):
                with (
                    ui.tabs()
                    .props("dense align=left no-caps inline-label")
                    .classes("td-tabs") as self.tabs
                ):
                    self.general_tab = ui.tab("General", icon="info").mark("tab-general")
                    self.files_tab = ui.tab("Files", icon="folder").mark("tab-files")
                    self.trackers_tab = ui.tab("Trackers", icon="dns").mark("tab-trackers")
                    self.peers_tab = ui.tab("Peers", icon="group").mark("tab-peers")
                    self.speed_tab = ui.tab("Speed", icon="show_chart").mark("tab-speed")
                ui.space()
                with (
                    ui.button(on_click=lambda: self.set_open(not self.open))
                    .props("flat dense round")
                    .mark("details-toggle") as self.toggle
                ):
                    self.toggle_tip = ui.tooltip("")
            self.tabs.on_value_change(self._tab_changed)
            tabs = (self.general_tab, self.files_tab, self.trackers_tab, self.peers_tab)
            for tab in (*tabs, self.speed_tab):
                tab.on("click", lambda: self.set_open(True))  # a tab click unfolds the panel
            with ui.tab_panels(self.tabs, value=self.general_tab).classes(
                "td-tab-panels w-full"
            ) as self.panels:
                with ui.tab_panel(self.general_tab).classes("td-tab-panel"):
                    self.placeholder = ui.label("Select a torrent to see its details.").classes(
                        "td-muted"
                    )
                    with ui.element("div").classes("td-general") as self.general:
                        for key, title in GENERAL_FIELDS:
                            ui.label(title).classes("td-key")
                            self.values[key] = (
                                ui.label("").classes("td-value").mark(f"detail-{key}")
                            )
                    self.general.set_visibility(False)
                with ui.tab_panel(self.files_tab).classes("td-tab-panel"):
                    self.files_status = ui.label("Select a torrent to see its files.").classes(
                        "td-muted"
                    )
                    self.file_tree = FileTree(
                        self._set_files, priorities=True, progress=True, mark="details-files"
                    )
                    self.files = self.file_tree.table
                    self.files.set_visibility(False)
                with ui.tab_panel(self.trackers_tab).classes("td-tab-panel"):
                    self._build_trackers()
                with ui.tab_panel(self.peers_tab).classes("td-tab-panel"):
                    with ui.row().classes("w-full items-center no-wrap gap-2"):
                        self.peers_status = ui.label("Select a torrent to see its peers.").classes(
                            "td-muted"
                        )
                        ui.space()
                        ui.button(icon="refresh", on_click=self._reload_tab).props(
                            "flat dense round size=sm"
                        ).mark("peers-refresh").tooltip("Refresh")
                    self.peers = (
                        ui.table(columns=PEER_COLUMNS, rows=[], row_key="id")
                        .props("dense flat virtual-scroll hide-bottom")
                        .classes("td-files w-full")
                        .mark("details-peers")
                    )
                with (
                    ui.tab_panel(self.speed_tab).classes("td-tab-panel"),
                    ui.element("div").classes("td-speed w-full"),
                ):
                    with ui.element("div").classes("td-speed-part"):
                        self.recent_title = (
                            ui.label("Select a torrent to see its recent speed.")
                            .classes("td-speed-title td-ellipsis")
                            .mark("recent-title")
                        )
                        self.limits_label = (
                            ui.label("").classes("td-muted text-xs td-ellipsis")
                            .mark("detail-limits")
                        )
                        self.recent_chart = _speed_chart("recent-chart")
                    with ui.element("div").classes("td-speed-part"):
                        with ui.row().classes("items-center gap-2 no-wrap"):
                            self.chart_select = (
                                ui.select({}, label="Server", on_change=self._chart_server_chosen)
                                .props("outlined dense options-dense")
                                .classes("w-48")
                                .mark("chart-server")
                            )
                            self.range_select = (
                                ui.select(
                                    RANGES, value=1, label="Range", on_change=self._range_chosen
                                )
                                .props("outlined dense options-dense")
                                .classes("w-32")
                            )
                        self.chart = _speed_chart("speed-chart")
        self._show_open()

    def _build_trackers(self) -> None:
        with ui.row().classes("w-full items-center no-wrap gap-2"):
            self.trackers_status = ui.label("Select a torrent to see its trackers.").classes(
                "td-muted td-ellipsis"
            )
            ui.space()
            self.tracker_url = (
                ui.input(placeholder="https://tracker.example/announce")
                .props("outlined dense")
                .classes("td-mono w-72")
                .mark("tracker-url")
            )
            self.tracker_url.on("keydown.enter", self._add_tracker)
            ui.button("Add", icon="add", on_click=self._add_tracker).props(
                "flat dense no-caps"
            ).mark("tracker-add")
            self.tracker_remove = (
                ui.button("Remove", icon="remove_circle_outline", on_click=self._remove_trackers)
                .props("flat dense no-caps")
                .mark("tracker-remove")
            )
        self.trackers = (
            ui.table(columns=TRACKER_COLUMNS, rows=[], row_key="id", selection="multiple")
            .props("dense flat hide-bottom")
            .classes("td-files w-full")
            .mark("details-trackers")
        )

    # -- folding --

    async def set_open(self, open_: bool) -> None:
        if open_ == self.open:
            return
        self.open = open_
        app.storage.user[DETAILS_OPEN_KEY] = open_
        self._show_open()
        self._reload_tab()
        if self._speed_visible():
            self._draw_recent()
            await self.load_chart()

    def _show_open(self) -> None:
        """Folded, the panel is its tab bar and the table gets the height."""
        if self.open:
            self.card.classes(remove="td-details--collapsed")
        else:
            self.card.classes(add="td-details--collapsed")
        self.panels.set_visibility(self.open)
        self.toggle.props(f"icon={'expand_more' if self.open else 'expand_less'}")
        self.toggle_tip.set_text("Hide the details" if self.open else "Show the details")
        self.toggle.props["aria-label"] = self.toggle_tip.text
        self.toggle.props["aria-expanded"] = "true" if self.open else "false"

    # -- selection --

    def show(self, row: dict | None, selected_count: int) -> None:
        self.row = row
        if row is None:
            self.placeholder.set_text(
                f"{selected_count} torrents selected."
                if selected_count > 1
                else "Select a torrent to see its details."
            )
            self.placeholder.set_visibility(True)
            self.general.set_visibility(False)
            self.files.set_visibility(False)
            self.files_status.set_text(self.placeholder.text)
            self.trackers.rows, self.peers.rows = [], []
            self.trackers_status.set_text(self.placeholder.text)
            self.peers_status.set_text(self.placeholder.text)
            self._draw_recent()
            return
        self.placeholder.set_visibility(False)
        self.general.set_visibility(True)
        self._show_values(row)
        if row.get("server_id") and row["server_id"] != self.chart_server:
            self.chart_select.set_value(row["server_id"])
        if self._files_task is not None:
            self._files_task.cancel()
        self._files_task = asyncio.create_task(self._load_files(row))
        self._reload_tab()

    def update_row(self, row: dict) -> None:
        """Live values of the shown torrent (from the page's change stream)."""
        if self.row is None or row.get("id") != self.row.get("id") or row is self.row:
            return
        self.row = row
        self._show_values(row)

    def _show_values(self, row: dict) -> None:
        for key, text in general_values(row).items():
            label = self.values[key]
            if label.text != text:
                label.set_text(text)
        for key, css in (("error", "td-error-text"), ("warning", "td-warning-text")):
            if row.get(key):
                self.values[key].classes(add=css)
            else:
                self.values[key].classes(remove=css)
        self._draw_recent()

    async def _load_files(self, row: dict) -> None:
        self.files_status.set_text("Loading files…")
        self.files_status.set_visibility(True)
        self.files.set_visibility(False)
        try:
            located = await self.services.torrents.get(
                self.user_id, row["info_hash"], row["server_id"], files=True
            )
        except asyncio.CancelledError:
            raise
        except UserFacingError as exc:
            self.files_status.set_text(f"Could not load the files: {exc}")
            return
        self._show_files(located)

    def _show_files(self, located: LocatedTorrent) -> None:
        files = located.torrent.files or []
        self.file_tree.set_files(
            [FileEntry(f.index, f.path, f.size, f.wanted, f.priority, f.progress) for f in files],
            file_priorities(located.server),
        )
        wanted = sum(f.wanted for f in files)
        self.files_status.set_text(
            f"{len(files)} file{'s' if len(files) != 1 else ''}, {wanted} wanted — untick what "
            "not to download; a folder's box sets all of its files"
        )
        self.files.set_visibility(True)

    async def _set_files(self, changes: list[FileChange]) -> None:
        row = self.row
        if row is None:
            return
        try:
            located = await self.services.torrents.set_files(
                self.user_id, row["info_hash"], changes, row["server_id"]
            )
        except UserFacingError as exc:
            ui.notify(f"Could not change the files: {exc}", type="negative", multi_line=True)
            return
        if self.row is not None and self.row.get("id") == row.get("id"):
            self._show_files(located)

    # -- trackers and peers (loaded while their tab shows) --

    def _visible(self, tab: ui.tab) -> bool:
        return self.open and self.tabs.value in (tab._props.get("name"), tab)

    def _reload_tab(self) -> None:
        if self._tab_task is not None:
            self._tab_task.cancel()
            self._tab_task = None
        row = self.row
        if row is None:
            return
        if self._visible(self.trackers_tab):
            self._tab_task = asyncio.create_task(self._load_trackers(row))
        elif self._visible(self.peers_tab):
            self._tab_task = asyncio.create_task(self._load_peers(row))
        elif self._speed_visible():
            self._tab_task = asyncio.create_task(self._load_limits(row))

    async def _fetch(
        self, row: dict, what: str, status: ui.label, table: ui.table
    ) -> LocatedTorrent | None:
        """The torrent with its `what` (trackers or peers); None, said in `status`, if not."""
        status.set_text(f"Loading {what}…")
        try:
            return await self.services.torrents.get(
                self.user_id, row["info_hash"], row["server_id"], **{what: True}
            )
        except UserFacingError as exc:
            table.rows = []
            status.set_text(f"Could not load the {what}: {exc}")
            return None

    async def _load_trackers(self, row: dict) -> None:
        located = await self._fetch(row, "trackers", self.trackers_status, self.trackers)
        if located is None:
            return
        disables = server_capabilities(located.server).get("tracker_edit") == "add_disable"
        self.tracker_remove.set_text("Disable" if disables else "Remove")
        self.trackers.selected = []
        self.trackers.rows = tracker_rows(located)
        self.trackers.update()
        count = len(located.trackers or [])
        self.trackers_status.set_text(
            f"{count} tracker{'s' if count != 1 else ''}"
            + (
                f" — {located.server.name} cannot remove the trackers a .torrent came with: "
                "Disable turns them off"
                if disables
                else ""
            )
        )

    async def _add_tracker(self) -> None:
        url = (self.tracker_url.value or "").strip()
        if not url:
            ui.notify("Type the tracker's announce URL", type="warning")
            return
        if await self._edit_trackers([url], []):
            self.tracker_url.set_value("")

    async def _remove_trackers(self) -> None:
        urls = [r["url"] for r in self.trackers.selected]
        if not urls:
            ui.notify("Tick the trackers to remove first", type="warning")
            return
        await self._edit_trackers([], urls)

    async def _edit_trackers(self, add: list[str], remove: list[str]) -> bool:
        row = self.row
        if row is None:
            return False
        try:
            results = await self.services.torrents.edit_trackers(
                self.user_id, row["info_hash"], add, remove, row["server_id"]
            )
        except UserFacingError as exc:
            ui.notify(f"Could not change the trackers: {exc}", type="negative", multi_line=True)
            return False
        server = row.get("server_name") or "server"
        done, failed = tracker_notices(results, server, "added" if add else "removed")
        if done:
            ui.notify(done, type="positive", multi_line=True)
        if failed:
            ui.notify(failed, type="negative", multi_line=True)
        if self.row is not None and self.row.get("id") == row.get("id"):
            await self._load_trackers(row)
        return not failed

    async def _load_peers(self, row: dict) -> None:
        located = await self._fetch(row, "peers", self.peers_status, self.peers)
        if located is None:
            return
        self.peers.rows = peer_rows(located)
        self.peers.update()
        count = len(located.peers or [])
        self.peers_status.set_text(
            f"{count} connected peer{'s' if count != 1 else ''}" if count else "No peers connected"
        )

    # -- speed charts --

    def _speed_visible(self) -> bool:
        return self.open and self.tabs.value in ("Speed", self.speed_tab)

    async def _tab_changed(self) -> None:
        self._reload_tab()
        if self._speed_visible():
            self._draw_recent()
            await self.load_chart()

    async def _load_limits(self, row: dict) -> None:
        """The shown torrent's own limits, read from its server while the Speed tab shows."""
        self.limits_label.set_text("Limits: …")
        try:
            limits = await self.services.speed.torrent_limits(
                self.user_id, row["server_id"], row["info_hash"]
            )
        except asyncio.CancelledError:
            raise
        except UserFacingError as exc:
            self.limits_label.set_text(f"Could not read its limits: {exc}")
            return
        if limits is None:
            text = "Limits: its server limits whole servers only (see Servers → speed)"
        else:
            text = f"Limits: {pair_text(limits.download, limits.upload)}"
        self.limits_label.set_text(text)

    def _draw_recent(self) -> None:
        """The selected torrent's speed over the last minutes, while the Speed tab shows."""
        if not self._speed_visible():
            return
        row = self.row
        if row is None:
            self.recent_title.set_text("Select a torrent to see its recent speed.")
            points = []
        else:
            minutes = round(self.recent.window / 60)
            self.recent_title.set_text(f"{row.get('name') or ''} · last {minutes} minutes")
            points = self.recent.points(row)
        _set_series(self.recent_chart, points, time.time() - self.recent.window)

    def set_servers(self, states: list[ServerState]) -> None:
        names = {s.id: s.name for s in states}
        if names == self.server_names:
            return
        self.server_names = names
        value = self.chart_server if self.chart_server in names else next(iter(names), None)
        self.chart_select.set_options(names, value=value)

    async def _chart_server_chosen(self) -> None:
        self.chart_server = self.chart_select.value
        await self.load_chart()

    async def _range_chosen(self) -> None:
        self.chart_hours = int(self.range_select.value or 1)
        await self.load_chart()

    async def load_chart(self) -> None:
        """The chosen server's speed history (kept 24 h in the database)."""
        samples = []
        if self.chart_server:
            samples = await io_bound(
                self.services.history.samples, self.user_id, self.chart_server, self.chart_hours
            )
        _set_series(self.chart, downsample(samples), time.time() - self.chart_hours * 3600)

    def live_point(self, state: ServerState) -> None:
        """Extend the server chart with a live sample, while the Speed tab shows."""
        if state.id != self.chart_server or not self._speed_visible():
            return
        now = time.time()
        if now - self.last_live_point < LIVE_POINT_EVERY:
            return
        self.last_live_point = now
        series = self.chart.options["series"]
        series[0]["data"].append([now * 1000, state.download_rate])
        series[1]["data"].append([now * 1000, state.upload_rate])
        for s in series:
            with contextlib.suppress(IndexError):
                while len(s["data"]) > MAX_POINTS * 2:
                    s["data"].pop(0)
        peak = max((v for s in series for _, v in s["data"]), default=0)
        self.chart.options["yAxis"] = _y_axis(peak)
        self.chart.update()


def _speed_chart(mark: str) -> ui.echart:
    return ui.echart(_chart_options([], [])).classes("td-chart w-full").mark(mark)


def _set_series(chart: ui.echart, points: list[tuple[float, int, int]], since: float) -> None:
    """Show `points` (unix time, down, up) on a time axis from `since` on."""
    down = [[t * 1000, d] for t, d, _ in points]
    chart.options.update(_chart_options(down, [[t * 1000, u] for t, _, u in points]))
    # From `since` to the latest point (or now, with none): not ECharts' guess of days around.
    chart.options["xAxis"] = {"type": "time", "min": since * 1000}
    if not points:
        chart.options["xAxis"]["max"] = time.time() * 1000
    chart.update()


def _y_axis(peak: float) -> dict:
    return {**fmt.speed_axis(peak), "splitLine": {"lineStyle": {"opacity": 0.3}}}


def _chart_options(down: list, up: list) -> dict:
    peak = max((v for _, v in down + up), default=0)
    return {
        "animation": False,
        "grid": {"left": 76, "right": 16, "top": 28, "bottom": 28},
        "legend": {"data": ["Download", "Upload"], "top": 0, "right": 10},
        "tooltip": {
            "trigger": "axis",
            ":valueFormatter": "v => torrentdesk.speed(v) || '0 B/s'",
        },
        "xAxis": {"type": "time"},
        "yAxis": _y_axis(peak),
        "series": [
            {
                "name": "Download",
                "type": "line",
                "showSymbol": False,
                "data": down,
                "areaStyle": {"opacity": 0.15},
                "color": "#2f81f7",
            },
            {
                "name": "Upload",
                "type": "line",
                "showSymbol": False,
                "data": up,
                "areaStyle": {"opacity": 0.15},
                "color": "#3fb950",
            },
        ],
    }
