"""Keyboard shortcuts of the main page. The browser (assets/torrentdesk-page.js) handles what it
can alone — focusing the search, selecting all shown rows, moving the selection with the
arrows, clearing it — and sends the rest here as "td_key" events. None fires while typing in a
field, nor while a dialog or menu is open (those own the keys; Esc closes them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement
from nicegui.events import GenericEventArguments

from .page_script import above_separator, dialog_title

# (keys, what they do): the help dialog, the README's table and the browser's handler agree.
SHORTCUTS = (
    ("/", "Focus the search"),
    ("n", "Add torrents"),
    ("a", "Select every shown torrent"),
    ("Space", "Start the selection, or stop it when all of it runs"),
    ("Delete", "Remove the selection (asks first)"),
    ("Esc", "Close a dialog or menu; else clear the selection"),
    ("↑ / ↓", "Move the selection; with Shift, extend it"),
    ("Home / End", "Select the first / last shown torrent"),
    ("?", "Show these shortcuts"),
)
# A running torrent stops on Space; one in any other state starts.
RUNNING_STATES = frozenset({"downloading", "seeding", "metadata", "checking", "queued"})


def toggle_action(rows: list[dict]) -> str | None:
    """What Space does to these rows: "stop" when every one runs, else "start" (None: none)."""
    if not rows:
        return None
    running = all(r.get("state") in RUNNING_STATES and not r.get("stale") for r in rows)
    return "stop" if running else "start"


class Shortcuts:
    def __init__(
        self,
        on_add: Callable[[], Awaitable[None]],
        on_toggle: Callable[[], Awaitable[None]],
        on_remove: Callable[[], Awaitable[None]],
        menu: ui.menu,
    ) -> None:
        self.handlers = {"add": on_add, "toggle": on_toggle, "remove": on_remove}
        TextElement(tag="h1", text="Torrents").classes("td-sr-only")  # the page's heading
        # Where the browser says which row the arrows reached, for screen readers.
        ui.element("div").classes("td-live td-sr-only").props('aria-live="polite"')
        with (
            ui.dialog() as self.dialog,
            ui.card().classes("td-dialog td-shortcuts-dialog w-[440px]"),
        ):
            dialog_title("Keyboard shortcuts", self.dialog.close)
            with ui.element("table").classes("td-shortcuts").mark("shortcuts"):
                for keys, text in SHORTCUTS:
                    with ui.element("tr"):
                        with ui.element("td"):
                            for key in keys.split(" / "):
                                TextElement(tag="kbd", text=key).classes("td-kbd")
                        TextElement(tag="td", text=text)
            ui.label("Not while typing in a field.").classes("td-muted text-xs")
        ui.on("td_key", self._key)
        with menu:
            item = ui.menu_item("Keyboard shortcuts  ?", self.dialog.open).classes("td-wide-only")
            item.mark("menu-shortcuts")
        above_separator(menu, item)

    async def _key(self, event: GenericEventArguments) -> None:
        action = event.args.get("action") if isinstance(event.args, dict) else None
        if action == "help":
            self.dialog.open()
        elif action in self.handlers:
            await self.handlers[action]()
