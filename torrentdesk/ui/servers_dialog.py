"""Servers dialog: the user's servers with live status, add/edit form with per-type defaults,
connection test, delete with confirmation. Every change goes through the audited service."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import background_tasks, ui

from ..config import server_defaults
from ..services import Services
from ..services.errors import ServiceError
from ..services.live import ServerState
from ..services.server_admin import ServerAdmin
from ..services.servers import (
    SERVER_KINDS,
    InvalidField,
    ServerFields,
    ServerKind,
    ServerView,
    TestResult,
    check_host,
    check_name,
    check_port,
    check_protocol,
    check_rpc_path,
    server_kind,
    server_type_labels,
)
from .speed import ServerSessions, ServerSpeedDialog
from .theme import server_colors
from .threads import io_bound

# A new server's type: the environment pre-fills it (SPEC §2).
DEFAULT_TYPE = "transmission"
# What reaching a server depends on: a change to one of them is tested before it is saved.
CONNECTION_FIELDS = ("server_type", "protocol", "host", "port", "rpc_path", "username")


def default_port(kind: ServerKind, protocol: str | None) -> int:
    """The type's port for this protocol; the environment's for its default protocol."""
    if kind.protocol(protocol) is None:
        protocol = kind.default_protocol
    port = kind.default_port(protocol)
    if kind.env_prefix and protocol == kind.default_protocol:
        return server_defaults(kind.env_prefix, port).port
    return port


def describe_address(view: ServerView) -> str:
    kind = server_kind(view.server_type)
    has_path = kind.rpc_path_for(view.protocol) is not None
    path = view.rpc_path if has_path and view.rpc_path else ""
    return f"{kind.label} · {view.protocol}://{view.host}:{view.port}{path}"


def without_name(message: str, name: str) -> str:
    """A server's message where its name is shown already (its row, its form)."""
    return message.removeprefix(f"{name}: ")


def result_text(result: TestResult, name: str) -> str:
    if result.ok:
        return f"Connected · {result.version} · {result.latency_ms:.0f} ms"
    return without_name(result.error or "the test failed", name)


class ServerForm:
    """Add or edit one server. Save tests the connection first: a server that does not answer
    is saved only when asked ("Save anyway"). Errors appear next to their field."""

    def __init__(self, admin: ServerAdmin, user_id: int, on_saved: Callable) -> None:
        self.admin = admin
        self.user_id = user_id
        self.on_saved = on_saved
        self.editing: ServerView | None = None
        first = server_kind(DEFAULT_TYPE)
        self._last_protocol: str | None = first.default_protocol
        self._attempt = 0  # bumped by every edit: a test of older values is dropped
        self._failed: TestResult | None = None  # the failed test of the values shown
        with (
            ui.dialog() as self.dialog,
            ui.card().classes("td-dialog td-server-form w-[520px] max-w-full"),
        ):
            self.title = ui.label("Add server").classes("text-lg font-medium")
            self.server_type = (
                ui.toggle(
                    {kind.server_type: kind.label for kind in SERVER_KINDS.values()},
                    value=first.server_type,
                    on_change=self._type_changed,
                )
                .props("no-caps unelevated toggle-color=primary")
                .mark("server-type")
            )
            self.name = (
                ui.input("Name", placeholder="e.g. seedbox")
                .props("outlined dense")
                .classes("w-full")
                .mark("server-name")
            )
            with ui.row().classes("td-address-row w-full no-wrap gap-2"):
                self.protocol = (
                    ui.select(
                        self._protocol_options(first),
                        value=first.default_protocol,
                        label="Protocol",
                        on_change=self._protocol_changed,
                    )
                    .props("outlined dense")
                    .classes("td-protocol w-40")
                    .mark("server-protocol")
                )
                self.host = (
                    ui.input("Host", placeholder="localhost or 192.168.1.10")
                    .props("outlined dense")
                    .classes("td-host grow")
                    .mark("server-host")
                )
                self.port = (
                    ui.number("Port", value=default_port(first, None), format="%d")
                    .props("outlined dense")
                    .classes("td-port w-28")
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
            self.protocol_note = ui.label("").classes("td-muted text-xs")
            self.enabled = ui.switch("Enabled", value=True).mark("server-enabled")
            with ui.row().classes("items-center gap-2 no-wrap") as self.testing:
                ui.spinner("dots", size="1.4em")
                ui.label("Testing the connection…").classes("td-muted")
            self.testing.mark("server-form-testing").set_visibility(False)
            self.result = (
                ui.label("").classes("td-test-result td-if-text").mark("server-form-result")
            )
            self.hint = (
                ui.label("").classes("td-muted text-xs td-if-text").mark("server-form-hint")
            )
            self.form_error = (
                ui.label("").classes("td-error-text td-if-text").mark("server-form-error")
            )
            with ui.row().classes("td-form-actions w-full items-center gap-2"):
                self.test_button = (
                    ui.button("Test", icon="network_check", on_click=self.test)
                    .props("flat")
                    .mark("server-form-test")
                )
                ui.space()
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                self.save_anyway_button = (
                    ui.button("Save anyway", on_click=self.save_anyway)
                    .props("flat color=warning")
                    .mark("server-save-anyway")
                )
                self.save_button = (
                    ui.button("Save", on_click=self.save).props("unelevated").mark("server-save")
                )
        for field in (
            self.server_type,
            self.protocol,
            self.host,
            self.port,
            self.rpc_path,
            self.username,
            self.password,
            self.clear_password,
        ):
            field.on_value_change(self._connection_edited)
        self._connection_edited()

    # -- opening --

    def open_new(self) -> None:
        self.editing = None
        self.title.set_text("Add server")
        self.name.value = ""
        self.enabled.value = True
        self.username.value = ""
        self.password.value = ""
        self.host.value = ""
        self.server_type.set_value(DEFAULT_TYPE)
        self._apply_type_defaults(DEFAULT_TYPE)
        self._password_mode(has_password=False)
        self._clear_errors()
        self._connection_edited()
        self.dialog.open()

    def open_edit(self, view: ServerView) -> None:
        self.editing = view
        self.title.set_text(f"Edit {view.name}")
        self.server_type.set_value(view.server_type)
        self.protocol.set_options(
            self._protocol_options(server_kind(view.server_type)), value=view.protocol
        )
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
        self._connection_edited()
        self.dialog.open()

    # -- defaults per type and protocol, all from the registry --

    @staticmethod
    def _protocol_options(kind: ServerKind) -> dict[str, str]:
        return {p.name: p.label for p in kind.protocols}

    def _kind(self) -> ServerKind:
        return server_kind(self.server_type.value)

    def _type_changed(self) -> None:
        if self.editing is not None and self.server_type.value == self.editing.server_type:
            return
        self._apply_type_defaults(self.server_type.value)

    def _apply_type_defaults(self, server_type: str) -> None:
        kind = server_kind(server_type)
        protocol = kind.default_protocol
        self.protocol.set_options(self._protocol_options(kind), value=protocol)
        self.port.value = default_port(kind, protocol)
        self.rpc_path.value = kind.rpc_path_for(protocol) or ""
        if kind.env_prefix and self.editing is None:
            env = server_defaults(kind.env_prefix, kind.default_port(protocol))
            self.host.value = self.host.value or env.host
            self.username.value = self.username.value or (env.username or "")
            self.password.value = self.password.value or (env.password or "")
        self._show_for_protocol()

    def _protocol_changed(self) -> None:
        # Tracked here: a select's event carries its previous value as a raw option index.
        kind = self._kind()
        old, new = self._last_protocol, self.protocol.value
        self._last_protocol = new
        if kind.protocol(new) is None:
            return
        if not old or kind.protocol(old) is None or self.port.value == default_port(kind, old):
            self.port.value = default_port(kind, new)
        path = kind.rpc_path_for(new)
        if path and not self.rpc_path.value:
            self.rpc_path.value = path
        self._show_for_protocol()

    def _show_for_protocol(self) -> None:
        has_path, auth = self._path_and_auth()
        note = dict(self._kind().protocol_notes).get(self.protocol.value, "")
        self.rpc_path.set_visibility(has_path)
        self.credentials.set_visibility(auth)
        self.protocol_note.set_text(note)
        self.protocol_note.set_visibility(bool(note))
        self.clear_password.set_visibility(
            auth and bool(self.editing and self.editing.has_password)
        )

    def _password_mode(self, has_password: bool) -> None:
        self.clear_password.value = False
        if self.editing is not None and has_password:
            self.password.props('placeholder="unchanged"')
            self.password.props(remove="hint")
        else:
            self.password.props(remove="placeholder")
        self.clear_password.set_visibility(has_password)

    # -- values --

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

    def _show_error(self, exc: InvalidField) -> None:
        field = self._fields().get(exc.field)
        if field is not None:
            field.error = str(exc)
        else:
            self.form_error.set_text(str(exc))

    def _path_and_auth(self) -> tuple[bool, bool]:
        """Whether the chosen protocol has an RPC path, and takes a username and password."""
        kind, protocol = self._kind(), self.protocol.value
        chosen = kind.protocol(protocol)
        if chosen is None:
            return True, True
        return kind.rpc_path_for(protocol) is not None, chosen.auth

    def _checked_values(self) -> dict | None:
        """The form's values after the services' field checks; None when one failed."""
        self._clear_errors()
        server_type = self.server_type.value
        protocol = self.protocol.value or ""
        has_path, auth = self._path_and_auth()
        port = self.port.value
        values = {
            "server_type": server_type,
            "protocol": protocol,
            "name": self.name.value or "",
            "host": self.host.value or "",
            "port": int(port) if port is not None and float(port).is_integer() else 0,
            "rpc_path": ((self.rpc_path.value or "").strip() or None) if has_path else None,
            "username": ((self.username.value or "").strip() or None) if auth else None,
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
        if not self._path_and_auth()[1]:
            return "" if self.editing is not None and self.editing.has_password else None
        if self.editing is not None and self.clear_password.value:
            return ""
        return self.password.value or None

    def _needs_test(self, values: dict, password: str | None) -> bool:
        """A new server always; an edit when how to reach it changed, or it is enabled again."""
        if self.editing is None:
            return True
        changed = any(getattr(self.editing, key) != values[key] for key in CONNECTION_FIELDS)
        enabled_again = values["enabled"] and not self.editing.enabled
        return changed or password is not None or enabled_again

    # -- testing --

    def _connection_edited(self) -> None:
        """How to reach the server changed: an earlier result no longer applies."""
        self._attempt += 1
        self._failed = None
        self.result.set_text("")
        self.hint.set_text("")
        self.save_anyway_button.set_visibility(False)

    def _set_testing(self, testing: bool, button: ui.button) -> None:
        if self.dialog.is_deleted:
            return
        self.testing.set_visibility(testing)
        if testing:
            self.result.set_text("")
            self.hint.set_text("")
            self.save_anyway_button.set_visibility(False)
        for each in (self.test_button, self.save_button, self.save_anyway_button):
            each.set_enabled(not testing)
        if testing:
            button.props("loading")
        else:
            button.props(remove="loading")

    async def _run_test(self, values: dict, button: ui.button) -> TestResult | None:
        """Test the values typed; None when the test could not run or its values changed."""
        attempt = self._attempt
        draft = ServerFields(**values, password=self._password_value())
        editing = self.editing.id if self.editing is not None else None
        self._set_testing(True, button)
        try:
            result = await self.admin.test_draft(self.user_id, draft, editing)
        except InvalidField as exc:
            self._show_error(exc)
            return None
        except ServiceError as exc:
            self.form_error.set_text(str(exc))
            return None
        finally:
            self._set_testing(False, button)
        if attempt != self._attempt or not self.dialog.value:
            return None  # edited, closed or reopened meanwhile
        self._show_result(result, values["name"])
        return result

    def _show_result(self, result: TestResult, name: str) -> None:
        self.result.set_text(result_text(result, name))
        self.result.classes(
            replace="td-test-result td-if-text " + ("td-ok-text" if result.ok else "td-error-text")
        )
        self._failed = None if result.ok else result
        if not result.ok:
            self.hint.set_text(
                "Fix the values and test again, or save it anyway: it shows as unreachable "
                "until it answers."
            )
        self.save_anyway_button.set_visibility(not result.ok)

    async def test(self) -> None:
        values = self._checked_values()
        if values is not None:
            await self._run_test(values, self.test_button)

    # -- saving --

    async def save(self) -> None:
        values = self._checked_values()
        if values is None:
            return
        tested = None
        if self._needs_test(values, self._password_value()):
            tested = await self._run_test(values, self.save_button)
            if tested is None or not tested.ok:
                return  # the error and "Save anyway" are shown
        await self._store(values, tested)

    async def save_anyway(self) -> None:
        """Save values whose test failed; the server is recorded as unreachable."""
        values = self._checked_values()
        if values is not None:
            await self._store(values, self._failed)

    async def _store(self, values: dict, tested: TestResult | None) -> None:
        password = self._password_value()
        self.save_button.props("loading")
        try:
            if self.editing is None:
                fields = ServerFields(**values, password=password)
                view = await io_bound(self.admin.add, self.user_id, fields, tested)
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
                view = await io_bound(
                    self.admin.update, self.user_id, self.editing.id, changes, tested
                )
        except InvalidField as exc:
            self._show_error(exc)
            return
        except ServiceError as exc:
            self.form_error.set_text(str(exc))
            return
        finally:
            self.save_button.props(remove="loading")
        created = self.editing is None
        self.dialog.close()
        await self.on_saved(view, created, tested)


class ServersDialog:
    def __init__(
        self, services: Services, user_id: int, sessions: ServerSessions | None = None
    ) -> None:
        self.services = services
        self.user_id = user_id
        self.sessions = sessions
        self.admin = services.server_admin
        self.views: list[ServerView] = []
        self.states: dict[str, ServerState] = {}
        self.test_results: dict[str, TestResult] = {}
        self.testing: set[str] = set()
        self.listeners: list[Callable[[list[ServerView]], None]] = []
        self.form = ServerForm(self.admin, user_id, self._saved)
        self.speed = ServerSpeedDialog(services, user_id, self._limits_saved)
        with (
            ui.dialog() as self.dialog,
            ui.card().classes("td-dialog td-servers-dialog w-[760px] max-w-full"),
        ):
            with ui.row().classes("w-full items-center"):
                ui.label("Servers").classes("text-lg font-medium")
                ui.space()
                ui.button("Add server", icon="add", on_click=self.form.open_new).props(
                    "unelevated dense no-caps"
                ).mark("server-add")
                ui.button(icon="close", on_click=self.dialog.close).props(
                    'flat round dense aria-label="Close"'
                )
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
        self.views = await io_bound(self.services.servers.list, self.user_id)
        self._render()
        for listener in self.listeners:
            listener(self.views)
        if self.sessions is not None:  # a server added or changed: its session too
            background_tasks.create(self.sessions.refresh(), name="read sessions")

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
            # A test result the server has since contradicted (it went down, or came back)
            # is old news: the live status speaks instead.
            result = self.test_results.get(state.id)
            if (
                result is not None
                and state.status in ("connected", "error")
                and result.ok != (state.status == "connected")
            ):
                del self.test_results[state.id]
                changed = True
        if changed and self.dialog.value:
            self._render()

    # -- the list --

    def _render(self) -> None:
        colors = server_colors(self.views)
        self.list.clear()
        with self.list:
            if not self.views:
                with ui.column().classes("w-full items-center q-pa-lg td-empty"):
                    ui.icon("dns", size="40px").classes("td-muted")
                    ui.label("No servers yet.").classes("text-base")
                    ui.label(
                        f"Add your {server_type_labels()} servers to see their torrents here."
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

    def _message(self, view: ServerView, error: str | None) -> tuple[str, str, str] | None:
        """The one line under a server's address: its latest test, else its error. Returns
        (text, CSS class, marker)."""
        name = view.name
        result = self.test_results.get(view.id)
        if view.id in self.testing:
            return "Testing the connection…", "td-muted", f"server-testing-{name}"
        if result is not None:
            css = "td-ok-text" if result.ok else "td-error-text"
            return result_text(result, name), css, f"server-test-result-{name}"
        if error:
            return without_name(error, name), "td-error-text", f"server-error-{name}"
        return None

    def _render_row(self, view: ServerView, color: str) -> None:
        status, error = self._status(view)
        state = self.states.get(view.id)
        with (
            ui.row()
            .classes("td-server-row w-full items-center no-wrap")
            .mark(f"server-row-{view.name}")
        ):
            ui.element("span").classes("td-dot").style(f"background:{color}").mark(
                f"server-color-{view.name}"
            )
            with ui.column().classes("gap-0 grow min-w-0"):
                with ui.row().classes("td-server-title items-center gap-2 no-wrap"):
                    ui.label(view.name).classes("font-medium td-ellipsis")
                    ui.label(status).classes(f"td-status td-status-{status}").mark(
                        f"server-status-{view.name}"
                    )
                    if state is not None and view.enabled:
                        ui.label(f"{state.count} torrents").classes(
                            "td-muted text-xs whitespace-nowrap"
                        )
                ui.label(describe_address(view)).classes("td-muted text-xs td-ellipsis")
                message = self._message(view, error)
                if message is not None:
                    text, css, marker = message
                    ui.label(text).classes(f"text-xs td-ellipsis {css}").tooltip(text).mark(
                        marker, f"server-message-{view.name}"
                    )
            test = ui.button(icon="network_check").props("flat round dense").tooltip("Test")
            test.props["aria-label"] = f"Test {view.name}"  # a value: never parsed as props
            test.on_click(lambda v=view: self._test(v))
            test.mark(f"server-test-{view.name}")
            if view.id in self.testing:
                test.props("loading")
                test.disable()
            speed = ui.button(icon="speed", on_click=lambda v=view: self.speed.open(v))
            speed.props("flat round dense").tooltip("Session and speed limits")
            speed.mark(f"server-speed-{view.name}").set_enabled(view.enabled)
            speed.props["aria-label"] = f"Session and speed limits of {view.name}"
            edit = ui.button(icon="edit", on_click=lambda v=view: self.form.open_edit(v)).props(
                "flat round dense"
            )
            edit.tooltip("Edit").mark(f"server-edit-{view.name}")
            edit.props["aria-label"] = f"Edit {view.name}"
            delete = ui.button(icon="delete", on_click=lambda v=view: self._delete(v)).props(
                "flat round dense color=negative"
            )
            delete.tooltip("Remove").mark(f"server-delete-{view.name}")
            delete.props["aria-label"] = f"Remove {view.name}"

    # -- actions --

    async def _test(self, view: ServerView) -> None:
        self.testing.add(view.id)
        self.test_results.pop(view.id, None)
        self._render()
        try:
            result = await self.admin.test(self.user_id, view.id)
        except ServiceError as exc:
            result = TestResult(False, "error", None, None, str(exc))
        finally:
            self.testing.discard(view.id)
        self.test_results[view.id] = result
        await self.reload()

    async def _limits_saved(self) -> None:
        if self.sessions is not None:
            await self.sessions.refresh(max_age=0)

    async def _delete(self, view: ServerView) -> None:
        self.confirm_text.set_text(f"Remove “{view.name}” ({describe_address(view)})?")
        if not await self.confirm:
            return
        try:
            await io_bound(self.admin.delete, self.user_id, view.id)
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            return
        self.test_results.pop(view.id, None)
        self.services.live.servers_changed()
        ui.notify(f"Removed {view.name}", type="info")
        await self.reload()

    async def _saved(self, view: ServerView, created: bool, tested: TestResult | None) -> None:
        self.services.live.servers_changed()
        self.test_results.pop(view.id, None)
        verb = "Added" if created else "Saved"
        if tested is not None:
            self.test_results[view.id] = tested
        if tested is None or tested.ok:
            ui.notify(f"{verb} {view.name}", type="positive")
        else:
            ui.notify(
                f"{verb} {view.name}, but it is unreachable "
                f"({without_name(tested.error or 'no answer', view.name)}). "
                "Its torrents show once it answers.",
                type="warning",
                multi_line=True,
            )
        await self.reload()
        if tested is None and view.enabled:
            await self._test(view)  # nothing about reaching it changed: refresh its status
