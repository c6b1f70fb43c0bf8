"""Shows the services' notices (services/notices.py) on one page: each notice once, as a toast.
Every feature that tells the user something as it happens goes through a page's Notifier."""

from __future__ import annotations

import json
from collections import deque

from nicegui import ui

from ..services.notices import Notice

ICONS = {
    "server_down": "cloud_off",
    "server_back": "cloud_done",
    "torrent_finished": "download_done",
    "action_done": "check_circle",
    "action_failed": "error",
    "slow_mode": "slow_motion_video",
}
REMEMBERED = 200  # keys of notices already shown: enough to catch a repeat
# Also a system notification while the page's tab is hidden (assets/torrentdesk-page.js; the
# user allows them once, from the user menu).
SYSTEM_KINDS = frozenset({"torrent_finished"})


class Notifier:
    def __init__(self) -> None:
        self._seen: deque[int] = deque(maxlen=REMEMBERED)

    def show(self, notice: Notice) -> bool:
        """Toast `notice` on the current page unless it was shown already; call in the page's
        context. Returns whether it was shown."""
        if notice.key in self._seen:
            return False
        self._seen.append(notice.key)
        bad_news = notice.level == "negative"  # stays longer, with a button to close it
        ui.notify(
            notice.message,
            type=notice.level,
            caption=notice.caption,
            icon=ICONS.get(notice.kind),
            multi_line=bool(notice.caption),
            timeout=15000 if bad_news else 5000,
            actions=[{"label": "Close", "color": "white"}] if bad_news else [],
            # Quasar replaces a notification of the same group still on screen.
            group=notice.topic or str(notice.key),
            badgeStyle="display: none",
        )
        if notice.kind in SYSTEM_KINDS:
            args = json.dumps([notice.message, notice.caption or "", f"td-{notice.key}"])
            ui.run_javascript(
                f"window.torrentdesk_page && torrentdesk_page.systemNotify(...{args})"
            )
        return True
