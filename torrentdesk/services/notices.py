"""Notices: what the app tells a user once, as it happens (a server went down or came back, a
torrent finished, what a batch action did; transfers later). The services make them; each
open page shows each notice once (torrentdesk/ui/notifications.py). A new kind of news is
one more constructor here.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .actions import TargetResult

Level = Literal["positive", "negative", "warning", "info"]

_keys = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Notice:
    kind: str  # server_down | server_back | torrent_finished | ...
    level: Level
    message: str  # one line: what happened, and where
    caption: str | None = None  # the detail: why, and what to do
    server_id: str | None = None
    # News of one thing: a newer notice replaces an older one still on screen ("is back"
    # replaces "is down"). None: each notice stands alone.
    topic: str | None = None
    # Unique per event: a page that is handed the same notice twice shows it once.
    key: int = field(default_factory=lambda: next(_keys))


def server_down(server_id: str, name: str, summary: str, detail: str) -> Notice:
    """A server stopped answering (or answers wrongly): once per transition, not per poll."""
    return Notice(
        "server_down",
        "negative",
        f"{name} is down: {summary}",
        down_detail(detail),
        server_id,
        f"server:{server_id}",
    )


def down_detail(detail: str) -> str:
    """Why a server is down and what to do (its error without its name), and what the user
    sees meanwhile: for the notice and for the server's chip alike."""
    detail = detail.strip()
    if not detail.endswith((".", "?", "!")):
        detail += "."
    return f"{detail} Its torrents stay listed, greyed, until it answers again."


def server_back(server_id: str, name: str) -> Notice:
    return Notice(
        "server_back",
        "positive",
        f"{name} is back",
        "Its torrents are live again.",
        server_id,
        f"server:{server_id}",
    )


def torrent_finished(row: dict) -> Notice:
    return Notice(
        "torrent_finished",
        "positive",
        f"Finished: {row['name']} on {row['server_name']}",
        server_id=row.get("server_id"),
    )


MAX_REASONS = 5  # distinct failure reasons spelled out in one notice


def action_results(done_text: str, results: Sequence[TargetResult]) -> list[Notice]:
    """What a batch action did, as at most two notices: how many worked, and one readable
    notice for every failure — grouped by reason (each reason names its server), counted."""
    notices = []
    done = sum(r.ok for r in results)
    if done:
        noun = "torrent" if done == 1 else "torrents"
        notices.append(Notice("action_done", "positive", f"{done_text} {done} {noun}"))
    reasons = Counter(r.message for r in results if not r.ok)
    if reasons:
        failed = sum(reasons.values())
        lines = [
            f"{count} torrents: {reason}" if count > 1 else str(reason)
            for reason, count in reasons.most_common(MAX_REASONS)
        ]
        if len(reasons) > MAX_REASONS:
            lines.append(f"… and {len(reasons) - MAX_REASONS} more reasons")
        noun = "torrent" if failed == 1 else "torrents"
        notices.append(
            Notice("action_failed", "negative", f"{failed} {noun} failed", "\n".join(lines))
        )
    return notices


def slow_mode_results(enabled: bool, outcomes: Sequence) -> list[Notice]:
    """What switching slow mode on every server did (services/speed.py's ServerOutcome): the
    servers it worked on, and one notice listing each failure (each names its server)."""
    state = "on" if enabled else "off"
    done = [o.server_name for o in outcomes if o.ok]
    failed = [o.message for o in outcomes if not o.ok]
    notices = []
    if done or not failed:
        noun = "server" if len(done) == 1 else "servers"
        notices.append(
            Notice(
                "slow_mode",
                "info",
                f"Slow mode {state}: {len(done)} {noun}",
                ", ".join(done) or None,
                topic="slow_mode",
            )
        )
    if failed:
        noun = "server" if len(failed) == 1 else "servers"
        notices.append(
            Notice(
                "action_failed",
                "negative",
                f"Slow mode not switched {state}: {len(failed)} {noun} failed",
                "\n".join(str(message) for message in failed),
            )
        )
    return notices
