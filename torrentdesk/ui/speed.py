"""Servers' sessions and speed limits in the UI (SPEC §10): the sessions read while a page is
open, their texts (chip tooltips, the servers dialog, the header), the header's slow-mode
switch, and the dialog that edits one server's limits.

Limits are typed in KiB/s, as speeds are shown; empty is unlimited. The services take bytes/s
and each daemon rounds to its own unit (Transmission whole kB/s, rTorrent whole KiB/s)."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import background_tasks, ui

from ..services import Services
from ..services.errors import UserFacingError
from ..services.notices import slow_mode_results
from ..services.servers import ServerView
from ..services.speed import SessionInfo, SpeedLimits
from . import format as fmt
from .notifications import Notifier

SESSION_REFRESH = 10.0  # seconds between two reads of the sessions while a page is open
KIB = 1024
FREE_SPACE_NOTES = {
    "exact": "",
    "approximate": " (approximate: what its open torrents there see)",
}
Session = SessionInfo | UserFacingError  # a server's session, or why there is none


class ServerSessions:
    """The sessions of the user's enabled servers, read every SESSION_REFRESH seconds while the
    page is open (and when the servers list loads); each listener gets them after every read."""

    def __init__(self, services: Services, user_id: int) -> None:
        self.services = services
        self.user_id = user_id
        self.latest: dict[str, Session] = {}
        self.listeners: list[Callable[[dict[str, Session]], None]] = []
        self.timer: ui.timer | None = None

    def start(self) -> None:
        """Read every SESSION_REFRESH seconds from now on: called once the page has loaded,
        since NiceGUI sends a page as soon as a timer waits for the browser."""
        self.timer = ui.timer(SESSION_REFRESH, self.refresh, immediate=False)

    async def refresh(self, max_age: float | None = None) -> None:
        kwargs = {} if max_age is None else {"max_age": max_age}
        self.latest = await self.services.speed.sessions(self.user_id, **kwargs)
        for listener in self.listeners:
            listener(self.latest)


def limit_text(limit: int | None) -> str:
    return "unlimited" if limit is None else fmt.speed(limit)


def pair_text(download: int | None, upload: int | None) -> str:
    return f"↓ {limit_text(download)} ↑ {limit_text(upload)}"


def session_lines(session: Session, capabilities: dict | None = None) -> list[str]:
    """A server's session as lines of plain text; its error (without the server's name, which
    the caller shows) when it has none."""
    if isinstance(session, UserFacingError):
        message = getattr(session, "message", None) or str(session)
        return [f"Session unavailable: {message}"]
    limits = session.limits
    free = session.free_space
    if free is None:
        free_text = "unknown"
    else:
        note = FREE_SPACE_NOTES.get((capabilities or {}).get("free_space", "exact"), "")
        free_text = f"{fmt.size(free.bytes)} in {free.path}{note}"
    slow = "on" if limits.alt_enabled else "off"
    return [
        f"Now: ↓ {fmt.speed(session.download_rate)} ↑ {fmt.speed(session.upload_rate)}",
        f"Since the daemon started: ↓ {fmt.size(session.downloaded_total)} "
        f"↑ {fmt.size(session.uploaded_total)}",
        f"Free space: {free_text}",
        f"Default directory: {session.download_dir}",
        f"Limits: {pair_text(limits.download, limits.upload)}",
        f"Slow mode {slow}: {pair_text(limits.alt_download, limits.alt_upload)}",
    ]


def slow_mode_state(sessions: dict[str, Session]) -> bool:
    """The header switch: on when every server that answered is in slow mode."""
    known = [s for s in sessions.values() if isinstance(s, SessionInfo)]
    return bool(known) and all(s.limits.alt_enabled for s in known)


def kib_value(limit: int | None) -> float | None:
    return None if limit is None else round(limit / KIB, 1)


def bytes_value(value: float | None, what: str) -> int | None:
    """A limit typed in KiB/s as bytes/s; empty is unlimited. ValueError says what is wrong."""
    if value is None or value == "":
        return None
    if value <= 0:
        raise ValueError(f"{what} must be more than 0 KiB/s; leave it empty for unlimited")
    return max(1, round(float(value) * KIB))


def limit_input(label: str, mark: str) -> ui.number:
    return (
        ui.number(label, placeholder="unlimited", min=0, format="%.1f")
        .props("outlined dense suffix=KiB/s clearable")
        .classes("td-limit-input")
        .mark(mark)
    )


class SlowModeSwitch:
    """The header's switch: slow mode on or off on every server at once."""

    def __init__(self, services: Services, user_id: int, sessions: ServerSessions) -> None:
        self.services = services
        self.user_id = user_id
        self.sessions = sessions
        self.notifier = Notifier()
        self._showing = False
        with ui.row().classes("td-slow-mode items-center no-wrap gap-0"):
            ui.icon("slow_motion_video", size="20px").classes("td-slow-icon")
            self.switch = (
                ui.switch(on_change=self._changed)
                .props('dense color=amber aria-label="Slow mode"')
                .mark("slow-mode")
            )
            with self.switch:
                self.tip = ui.tooltip("Slow mode: the alternative limits on every server")
        sessions.listeners.append(self.show)

    def show(self, sessions: dict[str, Session]) -> None:
        on = slow_mode_state(sessions)
        if self.switch.value != on:
            self._showing = True
            try:
                self.switch.set_value(on)
            finally:
                self._showing = False
        state = "on" if on else "off"
        self.tip.set_text(f"Slow mode is {state}: the alternative limits on every server")

    def _changed(self) -> None:
        # Synchronous on purpose: `show` sets the value with `_showing` on, and an async
        # handler would only run after it is off again — switching every server as if the
        # user had (seen: a server that failed to switch on turned the others off again).
        if not self._showing:
            background_tasks.create(self._switch(bool(self.switch.value)), name="slow mode")

    async def _switch(self, enabled: bool) -> None:
        with self.switch:  # a task of its own: the notices go to this switch's page
            try:
                outcomes = await self.services.speed.set_alt_speed(self.user_id, enabled)
            except UserFacingError as exc:
                ui.notify(str(exc), type="negative", multi_line=True)
                return
            for notice in slow_mode_results(enabled, outcomes):
                self.notifier.show(notice)
            await self.sessions.refresh(max_age=0)


class ServerSpeedDialog:
    """One server's session, and its limits and slow mode to edit (servers dialog)."""

    FIELDS = (
        ("download", "Download limit"),
        ("upload", "Upload limit"),
        ("alt_download", "Slow mode: download"),
        ("alt_upload", "Slow mode: upload"),
    )

    def __init__(self, services: Services, user_id: int, on_saved: Callable | None = None):
        self.services = services
        self.user_id = user_id
        self.on_saved = on_saved
        self.view: ServerView | None = None
        self.loaded: SpeedLimits | None = None
        with (
            ui.dialog() as self.dialog,
            ui.card().classes("td-dialog td-speed-dialog w-[520px] max-w-full"),
        ):
            self.title = ui.label("").classes("text-lg font-medium").mark("speed-title")
            self.lines = ui.column().classes("gap-0 w-full").mark("speed-session")
            with ui.element("div").classes("td-limit-grid w-full"):
                self.inputs = {
                    key: limit_input(text, f"limit-{key.replace('_', '-')}")
                    for key, text in self.FIELDS
                }
            self.alt_enabled = ui.switch("Slow mode on").mark("limit-alt-enabled")
            self.note = ui.label("").classes("td-muted text-xs")
            self.error = ui.label("").classes("td-error-text text-sm").mark("speed-error")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Close", on_click=self.dialog.close).props("flat")
                self.save_button = (
                    ui.button("Save", on_click=self.save).props("unelevated").mark("limit-save")
                )

    async def open(self, view: ServerView) -> None:
        self.view = view
        self.title.set_text(f"Speed of {view.name}")
        self.note.set_text(_note(view.capabilities))
        self.error.set_text("")
        self.dialog.open()
        try:
            session: Session = await self.services.speed.session(self.user_id, view.id)
        except UserFacingError as exc:
            session = exc
        self._show(session)

    def _show(self, session: Session) -> None:
        assert self.view is not None
        self.lines.clear()
        with self.lines:
            for line in session_lines(session, self.view.capabilities):
                ui.label(line).classes("text-sm td-ellipsis w-full")
        usable = isinstance(session, SessionInfo)
        for element in (*self.inputs.values(), self.alt_enabled, self.save_button):
            element.set_enabled(usable)
        if not usable:
            self.loaded = None
            return
        self.loaded = session.limits
        for key, element in self.inputs.items():
            element.set_value(kib_value(getattr(session.limits, key)))
        self.alt_enabled.set_value(session.limits.alt_enabled)

    async def save(self) -> None:
        if self.view is None or self.loaded is None:
            return
        try:
            wanted = {
                key: bytes_value(self.inputs[key].value, text) for key, text in self.FIELDS
            }
        except ValueError as exc:
            self.error.set_text(str(exc))
            return
        wanted["alt_enabled"] = bool(self.alt_enabled.value)
        # Only what changed: a value shown rounded to 0.1 KiB/s and left alone stays as is.
        shown = {key: kib_value(getattr(self.loaded, key)) for key, _ in self.FIELDS}
        changes = {
            key: value
            for key, value in wanted.items()
            if (key == "alt_enabled" and value != self.loaded.alt_enabled)
            or (key != "alt_enabled" and kib_value(value) != shown[key])
        }
        if not changes:
            self.dialog.close()
            return
        try:
            session = await self.services.speed.set_limits(self.user_id, self.view.id, changes)
        except UserFacingError as exc:
            self.error.set_text(str(exc))
            return
        self.error.set_text("")
        self._show(session)
        ui.notify(f"Saved the limits of {self.view.name}", type="positive")
        if self.on_saved is not None:
            await self.on_saved()


def _note(capabilities: dict) -> str:
    if capabilities.get("alt_speed") == "emulated":
        return (
            "This server has one pair of limits: torrentdesk remembers both and switches its "
            "limits for slow mode."
        )
    if capabilities.get("alt_unlimited") is False:
        return "This server's slow-mode limits are always a number."
    return ""
