"""Torrents that come from outside the page: a `magnet:` link clicked on another web page (the
browser hands it to `/add?uri=…` once torrentdesk is registered as the handler), a .torrent
file or a magnet text dropped anywhere on the page; and the offers that need the user's yes in
the browser: the magnet handler, and system notifications while the tab is hidden. Each of
them opens the add dialog pre-filled, with the last server chosen selected."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import app, ui
from nicegui.events import GenericEventArguments

from .add_dialog import AddTorrentDialog
from .page_script import above_separator
from .theme import FAVICON

ADD_PATH = "/add"
PENDING_KEY = "pending_add"  # app.storage.user: a link /add received, for the page to open
OFFER_KEY = "magnet_handler_offer"  # app.storage.user: "registered" or "dismissed"
MAX_LINK = 16384  # a magnet with many trackers is long; nothing sensible is longer
LINK_PREFIXES = ("magnet:", "http://", "https://")

INSECURE = (
    "Browsers let a page handle magnet: links only when it is served over https:// or from "
    "localhost on this computer, and this page is not. Open torrentdesk as "
    "http://localhost:PORT here, or serve it behind https (a reverse proxy); on Linux "
    "`torrentdesk install-desktop` makes the app itself the handler."
)
UNSUPPORTED = (
    "This browser cannot register a page as the handler of magnet: links. On Linux, "
    "`torrentdesk install-desktop` makes the app itself the handler."
)
PERMISSION_TEXT = {
    "granted": "You will get a system notification when a torrent finishes while this tab is "
    "in the background.",
    "denied": "Notifications are blocked for this site: allow them in the browser's site "
    "settings.",
    "default": "Notifications were not allowed (the browser's question was closed).",
    "unsupported": "This browser shows no system notifications.",
}


def link_from_outside(uri: str | None) -> str | None:
    """The link /add received when it looks like one; None otherwise."""
    uri = (uri or "").strip()
    if not uri or len(uri) > MAX_LINK or not uri.lower().startswith(LINK_PREFIXES):
        return None
    return uri


class FromOutside:
    def __init__(self, add_dialog: AddTorrentDialog, menu: ui.menu) -> None:
        self.add_dialog = add_dialog
        self.storage = app.storage.user
        self._build_protocol_dialog()
        with menu:
            self.offer_item = ui.menu_item(
                "Open magnet links here…", self.open_protocol_dialog
            ).mark("menu-magnet")
            self.offer_item.set_visibility(self.storage.get(OFFER_KEY) is None)
            notifications_item = (
                ui.menu_item("Background notifications…")
                .on(
                    "click",
                    self._permission,
                    # In the click itself: browsers ask only in answer to a user's gesture.
                    js_handler="async () => emit(await torrentdesk_page.askNotifications())",
                )
                .mark("menu-notifications")
            )
        above_separator(menu, self.offer_item, notifications_item)
        ui.on("td_drop", self._dropped)

    # -- /add?uri=… and drops --

    async def open_pending(self) -> None:
        """The link /add received (a magnet: link clicked elsewhere), if any: the add dialog
        opens with it."""
        link = self.storage.pop(PENDING_KEY, None)
        if isinstance(link, str) and link:
            await self.open_with([link])

    async def open_with(self, links: list[str]) -> None:
        await self.add_dialog.open()
        present = [line for line in (self.add_dialog.links.value or "").splitlines() if line]
        added = [link for link in links if link not in present]
        self.add_dialog.links.set_value("\n".join(present + added))

    async def _dropped(self, event: GenericEventArguments) -> None:
        args = event.args if isinstance(event.args, dict) else {}
        links = [str(x) for x in args.get("links") or [] if link_from_outside(str(x))]
        await self.open_with(links)
        if args.get("files"):
            ui.run_javascript(f"torrentdesk_page.feedUploader({self.add_dialog.upload.id})")

    # -- the magnet: handler --

    def _build_protocol_dialog(self) -> None:
        with (
            ui.dialog() as self.protocol_dialog,
            ui.card().classes("td-dialog td-protocol-dialog w-[480px]"),
        ):
            ui.label("Open magnet links with torrentdesk").classes("text-lg font-medium")
            ui.label(
                "Your browser can send the magnet: links you click on other sites here: the add "
                "dialog then opens with the link, your last server chosen."
            )
            self.support_text = ui.label("").classes("td-warning-text td-if-text").mark(
                "magnet-support"
            )
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Don't offer again", on_click=self._dismiss).props("flat").mark(
                    "magnet-dismiss"
                )
                ui.button("Not now", on_click=self.protocol_dialog.close).props("flat")
                self.register_button = (
                    ui.button("Register")
                    .props("unelevated")
                    .on(
                        "click",
                        self._registered,
                        js_handler="() => emit(torrentdesk_page.registerMagnet())",
                    )
                    .mark("magnet-register")
                )

    async def open_protocol_dialog(self) -> None:
        self.support_text.set_text("")
        self.register_button.set_enabled(True)
        self.protocol_dialog.open()
        support = await ui.run_javascript("torrentdesk_page.protocolSupport()", timeout=5)
        if support != "ok":
            self.support_text.set_text(INSECURE if support == "insecure" else UNSUPPORTED)
            self.register_button.set_enabled(False)

    def _registered(self, event: GenericEventArguments) -> None:
        result = event.args if isinstance(event.args, dict) else {}
        if result.get("ok"):
            self.storage[OFFER_KEY] = "registered"
            self.offer_item.set_visibility(False)
            self.protocol_dialog.close()
            ui.notify(
                "Asked the browser to open magnet: links here: confirm in its prompt if it "
                "shows one",
                type="positive",
                multi_line=True,
            )
        else:
            reason = str(result.get("reason") or "refused")
            text = {"insecure": INSECURE, "unsupported": UNSUPPORTED}.get(reason, reason)
            self.support_text.set_text(f"The browser refused: {text}")

    def _dismiss(self) -> None:
        self.storage[OFFER_KEY] = "dismissed"
        self.offer_item.set_visibility(False)
        self.protocol_dialog.close()

    # -- system notifications --

    def _permission(self, event: GenericEventArguments) -> None:
        permission = str(event.args) if event.args else "unsupported"
        text = PERMISSION_TEXT.get(permission, PERMISSION_TEXT["unsupported"])
        ui.notify(text, type="positive" if permission == "granted" else "warning")


def register() -> None:
    @ui.page(ADD_PATH, title="torrentdesk", favicon=FAVICON)
    def add_from_outside(uri: str = "") -> RedirectResponse:
        """The browser's magnet: handler: the main page opens the add dialog with the link."""
        link = link_from_outside(uri)
        if link is not None:
            app.storage.user[PENDING_KEY] = link
        return RedirectResponse("/")
