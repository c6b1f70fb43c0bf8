"""Human-readable sizes, speeds and durations for text the server renders (header totals,
details panel, chips). The grid formats in the browser with the same rules
(assets/torrentdesk.js), so its rows stay raw numbers."""

from __future__ import annotations

from datetime import datetime

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")

# One spelling per torrent state everywhere (the grid's stateLabel in assets/torrentdesk.js
# spells them the same).
STATE_LABELS = {
    "downloading": "Downloading",
    "seeding": "Seeding",
    "stopped": "Stopped",
    "checking": "Checking",
    "queued": "Queued",
    "metadata": "Metadata",
}
# What counts as active: the "Active" filter and the header's count (ACTIVE_STATES in the JS).
ACTIVE_STATES = frozenset({"downloading", "seeding", "metadata"})
UNKNOWN_SIZE = "unknown"  # a magnet without its metadata has no size yet


def state(value: str | None) -> str:
    return STATE_LABELS.get(value or "", value or "")


def torrent_size(num_bytes: int | None) -> str:
    """A torrent's size; unknown (None) while a magnet fetches its metadata."""
    return UNKNOWN_SIZE if num_bytes is None else size(num_bytes)


def size(num_bytes: float | None) -> str:
    if num_bytes is None:
        return ""
    value = float(num_bytes)
    unit = 0
    while abs(value) >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    if unit == 0:
        return f"{round(value)} B"
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{digits}f} {_UNITS[unit]}"


def speed(rate: float | None) -> str:
    """Bytes per second; "0 B/s" for nothing (the grid leaves idle cells empty instead)."""
    return f"{size(rate or 0)}/s"


def eta(seconds: float | None, progress: float = 0.0) -> str:
    if progress >= 1:
        return ""
    if seconds is None or seconds < 0:
        return "∞"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def ratio(value: float | None) -> str:
    return "" if value is None or value < 0 else f"{value:.2f}"


def percent(progress: float | None) -> str:
    p = max(0.0, min(1.0, progress or 0.0)) * 100
    return "100%" if p >= 100 else f"{p:.1f}%"


def local_time(unix_seconds: float | None) -> str:
    if not unix_seconds:
        return ""
    return datetime.fromtimestamp(unix_seconds).strftime("%Y-%m-%d %H:%M")
