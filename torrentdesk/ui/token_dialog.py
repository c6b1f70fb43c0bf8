"""API token dialog: create a bearer token for scripts, shown once, copyable, revocable."""

from __future__ import annotations

from nicegui import run, ui

from ..services import Services


class TokenDialog:
    def __init__(self, services: Services, user_id: int) -> None:
        self.services = services
        self.user_id = user_id
        self.token: str | None = None
        with ui.dialog() as self.dialog, ui.card().classes("td-dialog w-[560px] max-w-full"):
            with ui.row().classes("w-full items-center"):
                ui.label("API token").classes("text-lg font-medium")
                ui.space()
                ui.button(icon="close", on_click=self.dialog.close).props("flat round dense")
            ui.label(
                "A token lets scripts use the REST API (see /docs) as you: send it as "
                "'Authorization: Bearer <token>'. It is shown only once; keep it secret."
            ).classes("td-muted")
            with ui.row().classes("w-full items-center no-wrap") as self.token_row:
                self.field = (
                    ui.input("Your new token")
                    .props("outlined dense readonly")
                    .classes("grow td-mono")
                    .mark("token-value")
                )
                ui.button(icon="content_copy", on_click=self._copy).props("flat dense").mark(
                    "token-copy"
                ).tooltip("Copy")
            self.token_row.set_visibility(False)
            self.status = ui.label("").classes("td-muted").mark("token-status")
            with ui.row().classes("w-full justify-end gap-2"):
                self.revoke_button = (
                    ui.button("Revoke this token", on_click=self._revoke)
                    .props("flat color=negative")
                    .mark("token-revoke")
                )
                self.revoke_button.set_visibility(False)
                ui.button("Create token", on_click=self._create).props("unelevated").mark(
                    "token-create"
                )

    def open(self) -> None:
        self.dialog.open()

    async def _create(self) -> None:
        self.token = await run.io_bound(self.services.auth.issue_token, self.user_id)
        self.field.value = self.token
        self.token_row.set_visibility(True)
        self.revoke_button.set_visibility(True)
        self.status.set_text("Copy it now: it will not be shown again.")

    async def _revoke(self) -> None:
        if self.token is None:
            return
        await run.io_bound(self.services.auth.revoke_token, self.token)
        self.token = None
        self.field.value = ""
        self.token_row.set_visibility(False)
        self.revoke_button.set_visibility(False)
        self.status.set_text("The token was revoked: it no longer signs in.")

    def _copy(self) -> None:
        if self.token:
            ui.clipboard.write(self.token)
            ui.notify("Token copied", type="positive", position="bottom")
