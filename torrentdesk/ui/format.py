"""Human-readable sizes, speeds, durations, dates and states for text the server renders
(header totals, details panel, chips, charts). The grid formats in the browser with the same
rules (assets/torrentdesk.js), so its rows stay raw numbers."""

from __future__ import annotations

import math
from datetime import datetime

from ..services.totals import ACTIVE_STATES as ACTIVE_STATES  # the filter's and the header's
from ..services.totals import Totals, shown_state

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
DATE_FORMAT = "%Y-%m-%d %H:%M"  # the grid's torrentdesk.date() writes the same

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
STALE = "Stale"  # a row of an unreachable server, whatever its last known state
UNKNOWN_SIZE = "unknown"  # a magnet without its metadata has no size yet


def state(value: str | None) -> str:
    if value == "stale":
        return STALE
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


def eta(seconds: float | None, state: str | None) -> str:
    """Only a downloading torrent has an ETA: a stopped, seeding or checking one shows none."""
    if state != "downloading":
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
    return datetime.fromtimestamp(unix_seconds).strftime(DATE_FORMAT)


def row_state(row: dict) -> str:
    """The state a row shows, spelled as everywhere else."""
    return state(shown_state(row))


def speed_axis(peak: float) -> dict:
    """A speed axis (ECharts `yAxis` keys) from 0 to above `peak` bytes/s, with 2 to 5 steps
    of 1, 2 or 5 times a power of ten in one unit, labelled in that unit: "0, 0.5 MiB/s, 1 MiB/s, …"
    rather than one rounded unit repeated ("1 B/s, 1 B/s, 1 B/s")."""
    peak = float(peak) if peak and peak > 0 else 1024.0  # nothing moved: 0 to 1 KiB/s
    unit = 0
    while peak >= 1024 ** (unit + 1) and unit < len(_UNITS) - 1:
        unit += 1
    scale = 1024**unit
    raw_step = peak / scale / 5
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    if unit == 0:
        step = max(1.0, step)  # never a fraction of a byte
    top = math.ceil(peak / scale / step - 1e-9) * step
    return {
        "type": "value",
        "min": 0,
        "max": top * scale,
        "interval": step * scale,
        "axisLabel": {":formatter": f"v => torrentdesk.speedTick(v, {scale}, '{_UNITS[unit]}')"},
    }


def totals_texts(shown: Totals, overall: Totals | None = None) -> dict[str, str]:
    """The header's texts (count, active, down, up, size) for the rows shown; with `overall` (a
    filter is on) each says "X of Y"."""

    def pair(value: int, whole: int, text=str) -> str:
        return text(value) if overall is None else f"{text(value)} of {text(whole)}"

    whole = overall or shown
    noun = "torrent" if whole.count == 1 else "torrents"
    return {
        "count": f"{pair(shown.count, whole.count)} {noun}",
        "active": f"{pair(shown.active, whole.active)} active",
        "down": f"↓ {pair(shown.download_rate, whole.download_rate, speed)}",
        "up": f"↑ {pair(shown.upload_rate, whole.upload_rate, speed)}",
        "size": pair(shown.size, whole.size, size),
    }
