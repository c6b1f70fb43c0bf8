"""The shared frame of signed-in pages: header with totals, dark-mode toggle and the user menu
(Servers, API token, Log out), in the manner of NiceGUI's examples/modularization.

On phones the header collapses (assets/torrentdesk.css, "Phones"): elements marked
`td-wide-only` hide and `td-phone-only` ones show, so the dark-mode toggle moves into the menu."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import app, ui

from ..services import Services
from ..services.totals import Totals
from . import format as fmt
from .auth import USERNAME, sign_out
from .rules_dialog import RulesDialog
from .servers_dialog import ServersDialog
from .theme import DARK_KEY, FAVICON, setup_page
from .token_dialog import TokenDialog
from .transfers import TransfersList


class Frame:
    """What a page can reach in the frame: the header's totals, its action slot, the dialogs."""

    def __init__(self, services: Services, user_id: int) -> None:
        self.services = services
        self.user_id = user_id
        dark = setup_page()
        self.servers_dialog = ServersDialog(services, user_id)
        self.token_dialog = TokenDialog(services, user_id)
        self.transfers = TransfersList(services, user_id)
        self.rules_dialog = RulesDialog(services, user_id)
        with ui.header().classes("td-header items-center no-wrap"):
            with ui.row().classes("items-center gap-2 no-wrap"):
                ui.image(FAVICON).classes("w-7 h-7")
                ui.label("torrentdesk").classes("td-brand td-wide-only")
            with ui.row().classes("td-totals items-center no-wrap").mark("totals"):
                self.down = ui.label("↓ 0 B/s").classes("td-total td-total-down").mark("total-down")
                self.up = ui.label("↑ 0 B/s").classes("td-total td-total-up").mark("total-up")
                self.count = ui.label("0 torrents").classes("td-total").mark("total-count")
                self.active = ui.label("0 active").classes("td-total").mark("total-active")
            ui.space()
            self.actions = ui.row().classes("items-center gap-1 no-wrap")
            with (
                ui.button(
                    icon="dark_mode" if not dark.value else "light_mode",
                    on_click=lambda: self._toggle_dark(dark),
                )
                .props("flat round dense color=white")
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
                with ui.menu().props("auto-close"):
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
                    ui.separator()
                    ui.menu_item("Log out", on_click=sign_out).mark("menu-logout")

    def set_totals(self, shown: Totals, overall: Totals | None = None) -> None:
        """The header's figures: of the rows shown, and with a filter on, of all beside them
        ("12 of 340 torrents", "↓ 1.2 MiB/s of 3.4 MiB/s")."""
        texts = fmt.totals_texts(shown, overall)
        for label, key in (
            (self.count, "count"),
            (self.active, "active"),
            (self.down, "down"),
            (self.up, "up"),
        ):
            if label.text != texts[key]:
                label.set_text(texts[key])

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
