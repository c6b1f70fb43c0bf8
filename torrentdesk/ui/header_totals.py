"""The header's figures, in one component: the rows' counts and rates (following the filters:
"12 of 340 torrents"), and the servers' own figures summed across servers — their rates now and
what they moved since each daemon started (from the sessions, ui/speed.py). Later figures
(sizes, more counts) join here."""

from __future__ import annotations

from nicegui import ui

from ..services.totals import Totals
from . import format as fmt
from .speed import Session, SessionInfo


def sessions_texts(sessions: dict[str, Session]) -> tuple[str, str]:
    """(label, tooltip) of the servers' figures summed: what they moved since their daemons
    started, and their rates now."""
    known = [s for s in sessions.values() if isinstance(s, SessionInfo)]
    down = sum(s.downloaded_total for s in known)
    up = sum(s.uploaded_total for s in known)
    down_rate = sum(s.download_rate for s in known)
    up_rate = sum(s.upload_rate for s in known)
    missing = len(sessions) - len(known)
    noun = "server" if len(known) == 1 else "servers"
    tip = (
        f"{len(known)} {noun}: ↓ {fmt.speed(down_rate)} ↑ {fmt.speed(up_rate)} now; "
        f"↓ {fmt.size(down)} ↑ {fmt.size(up)} since their daemons started"
    )
    if missing:
        tip += f" ({missing} not answering)"
    return f"⇅ {fmt.size(down)} / {fmt.size(up)}", tip


class HeaderTotals:
    def __init__(self) -> None:
        with ui.row().classes("td-totals items-center no-wrap").mark("totals"):
            self.down = ui.label("↓ 0 B/s").classes("td-total td-total-down").mark("total-down")
            self.up = ui.label("↑ 0 B/s").classes("td-total td-total-up").mark("total-up")
            self.count = ui.label("0 torrents").classes("td-total").mark("total-count")
            self.active = ui.label("0 active").classes("td-total").mark("total-active")
            self.size = ui.label("0 B").classes("td-total td-wide-only").mark("total-size")
            self.size.tooltip("The size of the torrents shown (of all, with a filter on)")
            with ui.label("").classes("td-total td-total-moved").mark("total-moved") as moved:
                self.moved = moved
                self.moved_tip = ui.tooltip("").mark("total-moved-tip")
            moved.set_visibility(False)

    def set_totals(self, shown: Totals, overall: Totals | None = None) -> None:
        """The rows' figures: of the rows shown, and with a filter on, of all beside them
        ("12 of 340 torrents", "↓ 1.2 MiB/s of 3.4 MiB/s")."""
        texts = fmt.totals_texts(shown, overall)
        for label, key in (
            (self.count, "count"),
            (self.active, "active"),
            (self.down, "down"),
            (self.up, "up"),
            (self.size, "size"),
        ):
            if label.text != texts[key]:
                label.set_text(texts[key])

    def set_sessions(self, sessions: dict[str, Session]) -> None:
        """The servers' own figures, summed across servers."""
        text, tip = sessions_texts(sessions)
        self.moved.set_text(text)
        self.moved_tip.set_text(tip)
        self.moved.set_visibility(bool(sessions))
