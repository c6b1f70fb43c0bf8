"""Servers dialog: the user's servers with live status, add/edit form with per-type defaults,
connection test, delete with confirmation. Every change goes through the audited service."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import run, ui

from ..config import transmission_defaults
from ..services import Services
from ..services.errors import ServiceError
from ..services.live import ServerState
from ..services.server_admin import ServerAdmin
from ..services.servers import (
    SERVER_KINDS,
    InvalidField,
    ServerFields,
    ServerView,
    check_host,
    check_name,
    check_port,
    check_protocol,
    check_rpc_path,
    default_rpc_path,
    server_kind,
)
from .theme import server_colors

TYPE_LABELS = {kind.server_type: kind.label for kind in SERVER_KINDS.values()}
PROTOCOLS = {
    kind.server_type: {p.name: p.label for p in kind.protocols} for kind in SERVER_KINDS.values()
}
STATUS_LABELS = {"connected": "connected", "error": "error", "unknown": "unknown"}


def default_port(server_type: str, protocol: str) -> int:
    if server_type == "transmission" and protocol == "http":
        return transmission_defaults().port  # TRANSMISSION_PORT pre-fills the form (SPEC §2)
    return server_kind(server_type).default_port(protocol)


def describe_address(view: ServerView) -> str:
    path = view.rpc_path if view.protocol != "scgi" and view.rpc_path else ""
    return f"{TYPE_LABELS[view.server_type]} · {view.protocol}://{view.host}:{view.port}{path}"


class ServerForm:
    """Add or edit one server; errors appear next to their field."""

    def __init__(self, admin: ServerAdmin, user_id: int, on_saved: Callable) -> None:
        self.admin = admin
        self.user_id = user_id
        self.on_saved = on_saved
        self.editing: ServerView | None = None
        self._last_protocol: str | None = "http"
        with (
            ui.dialog() as self.dialog,
            ui.card().classes("td-dialog td-server-form w-[520px] max-w-full"),
        ):
            self.title = ui.label("Add server").classes("text-lg font-medium")
            self.server_type = (
                ui.toggle(TYPE_LABELS, value="transmission", on_change=self._type_changed)
                .props("no-caps unelevated toggle-color=primary")
                .mark("server-type")
            )
            self.name = (
                ui.input("Name", placeholder="e.g. seedbox")
                .props("outlined dense")
                .classes("w-full")
                .mark("server-name")
            )
            with ui.row().classes("w-full no-wrap gap-2"):
                self.protocol = (
                    ui.select(
                        PROTOCOLS["transmission"],
                        value="http",
                        label="Protocol",
                        on_change=self._protocol_changed,
                    )
                    .props("outlined dense")
                    .classes("w-40")
                    .mark("server-protocol")
                )
                self.host = (
                    ui.input("Host", placeholder="localhost or 192.168.1.10")
                    .props("outlined dense")
                    .classes("grow")
                    .mark("server-host")
                )
                self.port = (
                    ui.number("Port", value=9091, format="%d")
                    .props("outlined dense")
                    .classes("w-28")
                    .mark("server-port")
                )
            self.rpc_path = (
                ui.input("RPC path")
                .props("outlined dense")
                .classes("w-full")
                .mark("server-rpc-path")
            )
            with ui.row().classes("w-full no-wrap gap-2") as self.credentials:
                self.username = (
                    ui.input("Username")
                    .props("outlined dense autocomplete=off")
                    .classes("grow")
                    .mark("server-username")
                )
                self.password = (
                    ui.input("Password", password=True, password_toggle_button=True)
                    .props("outlined dense autocomplete=new-password")
                    .classes("grow")
                    .mark("server-password")
                )
            self.clear_password = ui.checkbox("Clear the stored password").mark(
                "server-clear-password"
            )
            self.scgi_note = ui.label(
                "SCGI has no authentication: bind rTorrent's SCGI port to 127.0.0.1 or reach it "
                "through a tunnel."
            ).classes("td-muted text-xs")
            self.enabled = ui.switch("Enabled", value=True).mark("server-enabled")
            self.form_error = ui.label("").classes("td-error-text").mark("server-form-error")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                self.save_button = (
                    ui.button("Save", on_click=self.save).props("unelevated").mark("server-save")
                )

    # -- opening --

    def open_new(self) -> None:
        self.editing = None
        self.title.set_text("Add server")
        self.name.value = ""
        self.enabled.value = True
        self.username.value = ""
        self.password.value = ""
        self.host.value = ""
        self.server_type.set_value("transmission")
        self._apply_type_defaults("transmission")
        self._password_mode(has_password=False)
        self._clear_errors()
        self.dialog.open()

    def open_edit(self, view: ServerView) -> None:
        self.editing = view
        self.title.set_text(f"Edit {view.name}")
        self.server_type.set_value(view.server_type)
        self.protocol.set_options(PROTOCOLS[view.server_type], value=view.protocol)
        self.name.value = view.name
        self.host.value = view.host
        self.port.value = view.port
        self.rpc_path.value = view.rpc_path or ""
        self.username.value = view.username or ""
        self.password.value = ""
        self.enabled.value = view.enabled
        self._password_mode(has_password=view.has_password)
        self._show_for_protocol()
        self._clear_errors()
        self.dialog.open()

    # -- defaults per type and protocol --

    def _type_changed(self) -> None:
        if self.editing is not None and self.server_type.value == self.editing.server_type:
            return
        self._apply_type_defaults(self.server_type.value)

    def _apply_type_defaults(self, server_type: str) -> None:
        protocol = server_kind(server_type).default_protocol
        self.protocol.set_options(PROTOCOLS[server_type], value=protocol)
        self.port.value = default_port(server_type, protocol)
        self.rpc_path.value = default_rpc_path(server_type, protocol) or ""
        if server_type == "transmission" and self.editing is None:
            env = transmission_defaults()
            self.host.value = self.host.value or env.host
            self.username.value = self.username.value or (env.username or "")
            self.password.value = self.password.value or (env.password or "")
        self._show_for_protocol()

    def _protocol_changed(self) -> None:
        # Tracked here: a select's event carries its previous value as a raw option index.
        server_type = self.server_type.value
        old, new = self._last_protocol, self.protocol.value
        self._last_protocol = new
        if new is None:
            return
        if not old or self.port.value == default_port(server_type, old):
            self.port.value = default_port(server_type, new)
        if new != "scgi" and not self.rpc_path.value:
            self.rpc_path.value = default_rpc_path(server_type, new) or ""
        self._show_for_protocol()

    def _show_for_protocol(self) -> None:
        scgi = self.protocol.value == "scgi"
        self.rpc_path.set_visibility(not scgi)
        self.credentials.set_visibility(not scgi)
        self.scgi_note.set_visibility(scgi)
        self.clear_password.set_visibility(
            not scgi and bool(self.editing and self.editing.has_password)
        )

    def _password_mode(self, has_password: bool) -> None:
        self.clear_password.value = False
        if self.editing is not None and has_password:
            self.password.props('placeholder="unchanged"')
            self.password.props(remove="hint")
        else:
            self.password.props(remove="placeholder")
        self.clear_password.set_visibility(has_password)

    # -- saving --

    def _clear_errors(self) -> None:
        for field in self._fields().values():
            field.error = None
        self.form_error.set_text("")

    def _fields(self) -> dict:
        return {
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "rpc_path": self.rpc_path,
            "protocol": self.protocol,
            "server_type": self.server_type,
            "username": self.username,
            "password": self.password,
        }

    def _checked_values(self) -> dict | None:
        """The form's values after the services' field checks; None when one failed."""
        self._clear_errors()
        server_type = self.server_type.value
        protocol = self.protocol.value or ""
        scgi = protocol == "scgi"
        port = self.port.value
        values = {
            "server_type": server_type,
            "protocol": protocol,
            "name": self.name.value or "",
            "host": self.host.value or "",
            "port": int(port) if port is not None and float(port).is_integer() else 0,
            "rpc_path": None if scgi else (self.rpc_path.value or "").strip() or None,
            "username": None if scgi else (self.username.value or "").strip() or None,
            "enabled": bool(self.enabled.value),
        }
        checks = {
            "name": lambda: check_name(values["name"]),
            "protocol": lambda: check_protocol(protocol, server_type),
            "host": lambda: check_host(values["host"]),
            "port": lambda: check_port(values["port"]),
            "rpc_path": lambda: check_rpc_path(values["rpc_path"]),
        }
        ok = True
        for key, check in checks.items():
            try:
                checked = check()
            except InvalidField as exc:
                self._fields()[exc.field].error = str(exc)
                ok = False
            else:
                if key in ("name", "host"):
                    values[key] = checked
        return values if ok else None

    def _password_value(self) -> str | None:
        """None keeps the stored password; "" clears it."""
        if self.protocol.value == "scgi":
            return "" if self.editing is not None and self.editing.has_password else None
        if self.editing is not None and self.clear_password.value:
            return ""
        return self.password.value or None

    async def save(self) -> None:
        values = self._checked_values()
        if values is None:
            return
        password = self._password_value()
        self.save_button.props("loading")
        try:
            if self.editing is None:
                fields = ServerFields(**values, password=password)
                view = await run.io_bound(self.admin.add, self.user_id, fields)
            else:
                # Only what changed: the audit log says what was edited.
                changes = {
                    key: value
                    for key, value in values.items()
                    if getattr(self.editing, key) != value
                }
                if "username" in changes and changes["username"] is None:
                    changes["username"] = ""  # an emptied username is cleared, not kept
                if password is not None:
                    changes["password"] = password
                view = await run.io_bound(self.admin.update, self.user_id, self.editing.id, changes)
        except InvalidField as exc:
            field = self._fields().get(exc.field)
            if field is not None:
                field.error = str(exc)
            else:
                self.form_error.set_text(str(exc))
            return
        except ServiceError as exc:
            self.form_error.set_text(str(exc))
            return
        finally:
            self.save_button.props(remove="loading")
        created = self.editing is None
        self.dialog.close()
        await self.on_saved(view, created)


class ServersDialog:
    def __init__(self, services: Services, user_id: int) -> None:
        self.services = services
        self.user_id = user_id
        self.admin = services.server_admin
        self.views: list[ServerView] = []
        self.states: dict[str, ServerState] = {}
        self.test_results: dict[str, tuple[bool, str]] = {}
        self.listeners: list[Callable[[list[ServerView]], None]] = []
        self.form = ServerForm(self.admin, user_id, self._saved)
        with ui.dialog() as self.dialog, ui.card().classes("td-dialog w-[760px] max-w-full"):
            with ui.row().classes("w-full items-center"):
                ui.label("Servers").classes("text-lg font-medium")
                ui.space()
                ui.button("Add server", icon="add", on_click=self.form.open_new).props(
                    "unelevated dense no-caps"
                ).mark("server-add")
                ui.button(icon="close", on_click=self.dialog.close).props("flat round dense")
            self.list = ui.column().classes("w-full gap-0 td-server-list").mark("server-list")
        with ui.dialog() as self.confirm, ui.card().classes("td-dialog w-[440px]"):
            ui.label("Remove server").classes("text-lg font-medium")
            self.confirm_text = ui.label("").mark("server-delete-text")
            ui.label(
                "torrentdesk forgets it and its speed history; the torrents on it are not touched."
            ).classes("td-muted")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=lambda: self.confirm.submit(False)).props("flat").mark(
                    "server-delete-cancel"
                )
                ui.button("Remove", on_click=lambda: self.confirm.submit(True)).props(
                    "unelevated color=negative"
                ).mark("server-delete-confirm")

    async def open(self) -> None:
        await self.reload()
        self.dialog.open()

    async def reload(self) -> None:
        self.views = await run.io_bound(self.services.servers.list, self.user_id)
        self._render()
        for listener in self.listeners:
            listener(self.views)

    def update_states(self, states: list[ServerState]) -> None:
        changed = False
        for state in states:
            old = self.states.get(state.id)
            self.states[state.id] = state
            if old is None or (old.status, old.error, old.count) != (
                state.status,
                state.error,
                state.count,
            ):
                changed = True
        if changed and self.dialog.value:
            self._render()

    # -- the list --

    def _render(self) -> None:
        colors = server_colors([v.id for v in self.views])
        self.list.clear()
        with self.list:
            if not self.views:
                with ui.column().classes("w-full items-center q-pa-lg td-empty"):
                    ui.icon("dns", size="40px").classes("td-muted")
                    ui.label("No servers yet.").classes("text-base")
                    ui.label(
                        "Add your rTorrent or Transmission servers to see their torrents here."
                    ).classes("td-muted")
                return
            for view in self.views:
                self._render_row(view, colors[view.id])

    def _status(self, view: ServerView) -> tuple[str, str | None]:
        if not view.enabled:
            return "disabled", None
        state = self.states.get(view.id)
        if state is not None and state.status != "unknown":
            return state.status, state.error
        return view.status, view.error

    def _render_row(self, view: ServerView, color: str) -> None:
        status, error = self._status(view)
        state = self.states.get(view.id)
        with (
            ui.row()
            .classes("td-server-row w-full items-center no-wrap")
            .mark(f"server-row-{view.name}")
        ):
            ui.element("span").classes("td-dot").style(f"background:{color}")
            with ui.column().classes("gap-0 grow min-w-0"):
                with ui.row().classes("items-center gap-2 no-wrap"):
                    ui.label(view.name).classes("font-medium td-ellipsis")
                    ui.label(status).classes(f"td-status td-status-{status}").mark(
                        f"server-status-{view.name}"
                    )
                    if state is not None and view.enabled:
                        ui.label(f"{state.count} torrents").classes("td-muted text-xs")
                ui.label(describe_address(view)).classes("td-muted text-xs td-ellipsis")
                if error:
                    ui.label(error).classes("td-error-text text-xs td-ellipsis").tooltip(error)
                result = self.test_results.get(view.id)
                if result is not None:
                    ok, text = result
                    ui.label(text).classes(
                        "text-xs " + ("td-ok-text" if ok else "td-error-text")
                    ).mark(f"server-test-result-{view.name}")
            test = ui.button(icon="network_check").props("flat round dense").tooltip("Test")
            test.on_click(lambda v=view, b=test: self._test(v, b))
            test.mark(f"server-test-{view.name}")
            ui.button(icon="edit", on_click=lambda v=view: self.form.open_edit(v)).props(
                "flat round dense"
            ).tooltip("Edit").mark(f"server-edit-{view.name}")
            ui.button(icon="delete", on_click=lambda v=view: self._delete(v)).props(
                "flat round dense color=negative"
            ).tooltip("Remove").mark(f"server-delete-{view.name}")

    # -- actions --

    async def _test(self, view: ServerView, button: ui.button | None = None) -> None:
        if button is not None:
            button.props("loading")
        try:
            result = await self.admin.test(self.user_id, view.id)
        except ServiceError as exc:
            self.test_results[view.id] = (False, str(exc))
        else:
            if result.ok:
                text = f"Connected · {result.version} · {result.latency_ms:.0f} ms"
            else:
                text = result.error or "failed"
            self.test_results[view.id] = (result.ok, text)
        finally:
            if button is not None and not button.is_deleted:
                button.props(remove="loading")
        await self.reload()

    async def _delete(self, view: ServerView) -> None:
        self.confirm_text.set_text(f"Remove “{view.name}” ({describe_address(view)})?")
        if not await self.confirm:
            return
        try:
            await run.io_bound(self.admin.delete, self.user_id, view.id)
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            return
        self.test_results.pop(view.id, None)
        self.services.live.servers_changed()
        ui.notify(f"Removed {view.name}", type="info")
        await self.reload()

    async def _saved(self, view: ServerView, created: bool) -> None:
        self.services.live.servers_changed()
        self.test_results.pop(view.id, None)
        ui.notify(f"{'Added' if created else 'Saved'} {view.name}", type="positive")
        await self.reload()
        if view.enabled:
            await self._test(view)
