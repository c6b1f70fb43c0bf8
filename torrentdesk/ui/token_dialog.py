"""API token dialog: create bearer tokens for scripts (each shown once, copyable), see when each
was created and last used, and revoke any of them."""

from __future__ import annotations

from nicegui import ui

from ..services import Services
from .format import local_time
from .theme import dialog_header
from .threads import io_bound


class TokenDialog:
    def __init__(self, services: Services, user_id: int) -> None:
        self.services = services
        self.user_id = user_id
        self.token: str | None = None
        with ui.dialog() as self.dialog, ui.card().classes("td-dialog w-[560px] max-w-full"):
            dialog_header(
                "API tokens",
                self.dialog,
                "A token lets scripts use the REST API (see /docs) as you: send it as "
                "'Authorization: Bearer <token>'. It is shown only once; keep it secret.",
            )
            with ui.row().classes("w-full items-center no-wrap") as self.token_row:
                self.field = (
                    ui.input("Your new token")
                    .props("outlined dense readonly")
                    .classes("grow td-mono")
                    .mark("token-value")
                )
                ui.button(icon="content_copy", on_click=self._copy).props(
                    'flat dense aria-label="Copy the token"'
                ).mark(
                    "token-copy"
                ).tooltip("Copy")
            self.token_row.set_visibility(False)
            self.status = ui.label("").classes("td-muted").mark("token-status")
            self.listing = ui.column().classes("w-full gap-1").mark("token-list")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Create token", on_click=self._create).props("unelevated").mark(
                    "token-create"
                )

    async def open(self) -> None:
        self.dialog.open()
        await self._show_tokens()

    async def _create(self) -> None:
        self.token = await io_bound(self.services.auth.issue_token, self.user_id)
        self.field.value = self.token
        self.token_row.set_visibility(True)
        self.status.set_text("Copy it now: it will not be shown again.")
        await self._show_tokens()

    async def _revoke(self, token_id: int) -> None:
        await io_bound(self.services.auth.revoke_token_id, self.user_id, token_id)
        self.token = None
        self.field.value = ""
        self.token_row.set_visibility(False)
        self.status.set_text("The token was revoked: it no longer signs in.")
        await self._show_tokens()

    async def _show_tokens(self) -> None:
        tokens = await io_bound(self.services.auth.list_tokens, self.user_id)
        self.listing.clear()
        with self.listing:
            if not tokens:
                ui.label("No tokens yet.").classes("td-muted")
            for token in tokens:
                used = local_time(token.last_used_at.timestamp()) if token.last_used_at else "never"
                with ui.row().classes("w-full items-center no-wrap").mark("token-row"):
                    ui.icon("key").classes("td-muted")
                    ui.label(
                        f"Created {local_time(token.created_at.timestamp())} · last used {used}"
                    ).classes("grow")
                    ui.button("Revoke", on_click=lambda _, i=token.id: self._revoke(i)).props(
                        "flat dense color=negative"
                    ).mark("token-revoke")

    def _copy(self) -> None:
        if self.token:
            ui.clipboard.write(self.token)
            ui.notify("Token copied", type="positive", position="bottom")
