""""While you were away" (SPEC §11): shown once when a page opens, when something finished,
failed, was added or was removed on the user's servers since their last visit; dismissed, or
seen by closing the page, it starts afresh."""

from __future__ import annotations

from nicegui import ui

from ..services import Services
from ..services.away import AwaySummary
from .threads import io_bound

KIND_TEXT = {
    "finished": "Finished",
    "failed": "Failed",
    "added": "Added",
    "removed": "Removed",
}
KIND_ICON = {"finished": "check_circle", "failed": "error", "added": "add", "removed": "remove"}


class AwaySummaryDialog:
    def __init__(self, services: Services, user_id: int) -> None:
        self.services = services
        self.user_id = user_id
        with (
            ui.dialog().mark("away-dialog") as self.dialog,
            ui.card().classes("td-dialog td-away-dialog w-[640px] max-w-full"),
        ):
            ui.label("While you were away").classes("text-lg font-medium")
            self.since = ui.label("").classes("td-muted text-sm")
            self.body = ui.column().classes("w-full gap-2").mark("away-body")
            with ui.row().classes("w-full justify-end"):
                ui.button("Dismiss", on_click=self.dismiss).props("unelevated").mark(
                    "away-dismiss"
                )

    async def show_if_any(self) -> None:
        """On opening the app: the summary, if anything happened; a first visit starts the
        count."""
        summary = await io_bound(self.services.away.summary, self.user_id)
        if summary.since is None:
            await io_bound(self.services.away.first_visit, self.user_id)
            return
        if summary.empty:
            return
        self._render(summary)
        self.dialog.open()

    async def dismiss(self) -> None:
        await self.seen()
        self.dialog.close()

    async def seen(self) -> None:
        await io_bound(self.services.away.seen, self.user_id)

    def _render(self, summary: AwaySummary) -> None:
        self.since.set_text(f"Since {summary.since.astimezone():%Y-%m-%d %H:%M}")
        self.body.clear()
        with self.body:
            for server in summary.servers:
                kinds = [event.kind for event in server.events]
                told = ", ".join(
                    f"{kinds.count(kind)} {text.lower()}"
                    for kind, text in KIND_TEXT.items()
                    if kind in kinds
                )
                with ui.expansion(f"{server.server_name} — {told}", value=True).classes(
                    "w-full"
                ).mark(f"away-server-{server.server_name}"):
                    for event in server.events[:50]:
                        with ui.row().classes("items-center no-wrap gap-2 w-full"):
                            ui.icon(KIND_ICON[event.kind]).classes(
                                "td-error-text" if event.kind == "failed" else "td-muted"
                            )
                            ui.label(KIND_TEXT[event.kind]).classes("w-20 shrink-0")
                            ui.label(event.name).classes("td-ellipsis grow")
                            if event.detail:
                                ui.tooltip(event.detail)
                    if len(server.events) > 50:
                        ui.label(f"and {len(server.events) - 50} more").classes("td-muted")
            if summary.more:
                ui.label(f"… and {summary.more} more events").classes("td-muted")
