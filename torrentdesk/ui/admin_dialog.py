"""Admin settings dialog (SPEC §14): what non-admins may add and what URL adds may fetch.
Shown in the user menu of admins only; the service refuses anyone else as well."""

from __future__ import annotations

from nicegui import ui

from ..services import Services
from ..services.errors import Forbidden
from ..services.settings import DESCRIPTIONS, SETTING_NAMES
from .theme import dialog_header
from .threads import io_bound


class AdminSettingsDialog:
    def __init__(self, services: Services, user_id: int) -> None:
        self.services = services
        self.user_id = user_id
        with (
            ui.dialog().mark("admin-dialog") as self.dialog,
            ui.card().classes("td-dialog w-[560px] max-w-full"),
        ):
            dialog_header(
                "Admin settings",
                self.dialog,
                "They apply to everyone on this torrentdesk. Admins may always add servers "
                "anywhere.",
            )
            self.switches = {
                name: ui.switch(DESCRIPTIONS[name]).mark(f"admin-{name}") for name in SETTING_NAMES
            }
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                ui.button("Save", on_click=self.save).props("unelevated").mark("admin-save")

    async def open(self) -> None:
        try:
            settings = await io_bound(self.services.settings.get, self.user_id)
        except Forbidden as exc:
            ui.notify(str(exc), type="negative")
            return
        for name, switch in self.switches.items():
            switch.value = getattr(settings, name)
        self.dialog.open()

    async def save(self) -> None:
        changes = {name: bool(switch.value) for name, switch in self.switches.items()}
        try:
            await io_bound(self.services.settings.update, self.user_id, changes)
        except Forbidden as exc:
            ui.notify(str(exc), type="negative")
            return
        self.dialog.close()
        ui.notify("Admin settings saved: they apply to everyone now", type="positive")
