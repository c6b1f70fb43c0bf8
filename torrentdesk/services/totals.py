"""What a torrent list adds up to: the state a row shows, which rows a filter keeps, and the
totals of the kept rows beside those of all rows (the header's figures, SPEC §6 and §11).

Rows are the live service's dicts (services/live.py). The browser's grid filters with the same
rules (`passes` in assets/torrentdesk.js); keep the two in step. Later figures (sizes, totals
across servers) are more fields of `Totals`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# What counts as active: the "Active" filter and the header's count (ACTIVE_STATES in the JS).
ACTIVE_STATES = frozenset({"downloading", "seeding", "metadata"})


def shown_state(row: dict) -> str:
    """The one state a row shows everywhere (table, details, filters, counts): `stale` while its
    server is unreachable, else its state (a torrent's error and a tracker's warning are markers
    beside its name, not states)."""
    return "stale" if row.get("stale") else row.get("state") or ""


def is_active(row: dict) -> bool:
    return shown_state(row) in ACTIVE_STATES


def search_words(text: str) -> tuple[str, ...]:
    return tuple(text.lower().split())


def search_text(row: dict) -> str:
    """What the search looks in: name, labels, info hash and server name."""
    fields = (
        row.get("name"),
        *(row.get("labels") or ()),
        row.get("info_hash"),
        row.get("server_name"),
    )
    return "\n".join(str(f) for f in fields if f).lower()


@dataclass(frozen=True, slots=True)
class RowFilter:
    """A page's filter: a server, a state choice and the search words (all must match)."""

    server: str | None = None
    state: str | None = None  # a shown state, or "active", "complete", "error" (errors, stale)
    words: tuple[str, ...] = ()

    @property
    def narrows(self) -> bool:
        return bool(self.server or self.state or self.words)

    def passes(self, row: dict) -> bool:
        if self.server and row.get("server_id") != self.server:
            return False
        if self.words:
            text = search_text(row)
            if not all(word in text for word in self.words):
                return False
        match self.state:
            case None | "":
                return True
            case "active":
                return is_active(row)
            case "error":
                return bool(row.get("error") or row.get("stale"))
            case "complete":
                return (row.get("progress") or 0) >= 1
            case state:
                return shown_state(row) == state


@dataclass(slots=True)
class Totals:
    count: int = 0
    active: int = 0
    download_rate: int = 0
    upload_rate: int = 0

    def add(self, row: dict, sign: int = 1) -> None:
        self.count += sign
        if is_active(row):
            self.active += sign
        if not row.get("stale"):  # an unreachable server moves nothing
            self.download_rate += sign * (row.get("download_rate") or 0)
            self.upload_rate += sign * (row.get("upload_rate") or 0)


class TotalsTracker:
    """The totals of all rows and of the rows the filter keeps, kept up to date row by row (a
    poll that changes 10 rows of 10 000 costs 10 steps, not 10 000)."""

    def __init__(self) -> None:
        self.filter = RowFilter()
        self.overall = Totals()
        self.shown = Totals()

    def reset(self, rows: Iterable[dict], row_filter: RowFilter | None = None) -> None:
        if row_filter is not None:
            self.filter = row_filter
        self.overall, self.shown = Totals(), Totals()
        for row in rows:
            self.replace(None, row)

    def replace(self, old: dict | None, new: dict | None) -> None:
        """One row changed: `old` is what was counted (None: new row), `new` what is now
        (None: removed)."""
        for row, sign in ((old, -1), (new, 1)):
            if row is not None:
                self.overall.add(row, sign)
                if self.filter.passes(row):
                    self.shown.add(row, sign)
