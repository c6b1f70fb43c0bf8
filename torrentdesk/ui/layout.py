"""The shared frame of signed-in pages: header with totals, the slow-mode switch, dark-mode
toggle and the user menu (Servers, API token, Admin settings for admins, Log out), in the manner
of NiceGUI's examples/modularization. The servers' sessions are read here, for the header and
the page.

On phones the header collapses (assets/torrentdesk.css, "Phones"): elements marked
`td-wide-only` hide and `td-phone-only` ones show, so the dark-mode toggle moves into the menu."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import app, ui

from ..services import Services
from ..services.totals import Totals
from .admin_dialog import AdminSettingsDialog
from .auth import USERNAME, sign_out
from .header_totals import HeaderTotals
from .rules_dialog import RulesDialog
from .servers_dialog import ServersDialog
from .speed import ServerSessions, SlowModeSwitch
from .theme import DARK_KEY, FAVICON, setup_page
from .threads import io_bound
from .token_dialog import TokenDialog
from .transfers import TransfersList


class Frame:
    """What a page can reach in the frame: the header's totals, its action slot, the dialogs."""

    def __init__(self, services: Services, user_id: int) -> None:
        self.services = services
        self.user_id = user_id
        dark = setup_page()
        self.sessions = ServerSessions(services, user_id)
        self.servers_dialog = ServersDialog(services, user_id, self.sessions)
        self.token_dialog = TokenDialog(services, user_id)
        self.admin_dialog: AdminSettingsDialog | None = None  # built by load() for admins
        self.transfers = TransfersList(services, user_id)
        self.rules_dialog = RulesDialog(services, user_id)
        with ui.header().classes("td-header items-center no-wrap"):
            with ui.row().classes("items-center gap-2 no-wrap"):
                ui.image(FAVICON).classes("w-7 h-7").props('alt="torrentdesk"')
                ui.label("torrentdesk").classes("td-brand td-wide-only")
            self.totals = HeaderTotals()
            self.sessions.listeners.append(self.totals.set_sessions)
            ui.space()
            self.slow_mode = SlowModeSwitch(services, user_id, self.sessions)
            self.actions = ui.row().classes("items-center gap-1 no-wrap")
            with (
                ui.button(
                    icon="dark_mode" if not dark.value else "light_mode",
                    on_click=lambda: self._toggle_dark(dark),
                )
                .props('flat round dense color=white aria-label="Dark mode"')
                .classes("td-wide-only")
                .mark("dark-toggle") as self.dark_button
            ):
                ui.tooltip("Dark mode")
            username = str(app.storage.user.get(USERNAME, ""))
            with (
                ui.button(icon="account_circle")
                .props(f'flat dense no-caps color=white aria-label="Menu of {username}"')
                .classes("td-user-menu")
                .mark("user-menu")
            ):
                ui.label(username).classes("q-ml-xs td-wide-only")
                with ui.menu().props("auto-close") as self.user_menu:
                    with (
                        ui.menu_item(on_click=lambda: self._toggle_dark(dark))
                        .classes("td-phone-only")
                        .mark("menu-dark")
                    ):
                        self.dark_item = ui.item_section(self._dark_item_text(dark.value))
                    ui.menu_item("Servers", on_click=self.servers_dialog.open).mark("menu-servers")
                    ui.menu_item("Transfers", on_click=self.transfers.open).mark("menu-transfers")
                    ui.menu_item("Add rules", on_click=self.rules_dialog.open).mark("menu-rules")
                    ui.menu_item("API token", on_click=self.token_dialog.open).mark("menu-token")
                    self.admin_item = ui.menu_item(
                        "Admin settings", on_click=self._open_admin_settings
                    ).classes("text-no-wrap").mark("menu-admin")
                    self.admin_item.set_visibility(False)  # until load() finds an admin
                    ui.separator()
                    ui.menu_item("Log out", on_click=sign_out).mark("menu-logout")

    async def load(self) -> None:
        """What the frame shows from the database, before the page is sent."""
        if await io_bound(self.services.settings.is_admin, self.user_id):
            with ui.context.client.layout:
                self.admin_dialog = AdminSettingsDialog(self.services, self.user_id)
            self.admin_item.set_visibility(True)

    def start(self) -> None:
        """Once the page has loaded: what runs while it is open starts (NiceGUI sends a page as
        soon as something waits for the browser, so the page is whole before that)."""
        with ui.context.client.layout:
            self.sessions.start()

    async def _open_admin_settings(self) -> None:
        if self.admin_dialog is not None:
            await self.admin_dialog.open()

    def set_totals(self, shown: Totals, overall: Totals | None = None) -> None:
        self.totals.set_totals(shown, overall)

    def _toggle_dark(self, dark: ui.dark_mode) -> None:
        dark.value = not dark.value
        app.storage.user[DARK_KEY] = dark.value
        self.dark_button.props(f"icon={'light_mode' if dark.value else 'dark_mode'}")
        self.dark_item.set_text(self._dark_item_text(dark.value))

    @staticmethod
    def _dark_item_text(dark: bool) -> str:
        return "Light mode" if dark else "Dark mode"


@contextmanager
def frame(services: Services, user_id: int) -> Iterator[Frame]:
    """The header and dialogs of a signed-in page; the page's content goes in the block."""
    shared = Frame(services, user_id)
    with ui.column().classes("td-page w-full no-wrap"):
        yield shared
