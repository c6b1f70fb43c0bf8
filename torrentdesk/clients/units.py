"""Speed limits between the API's bytes/s and each daemon's own unit, and the checks on what
daemons report (SPEC §9: limits are bytes/s everywhere in the API, None = unlimited).

- Transmission keeps limits in whole kB/s with K = 1000 (its `units.speed-bytes`).
- rTorrent takes bytes/s but keeps whole KiB/s: it drops the rest (1500 reads back 1024, and
  anything under 1024 becomes 0, which is unlimited), and refuses more than 2^30 (measured on
  0.9.8: "Throttle rate must be between 0 and 2^30").
So each client rounds to the nearest unit of its daemon, never below one unit (a limit that
rounded to 0 would stop the transfer on Transmission and lift the limit on rTorrent).
"""

from __future__ import annotations

MAX_SPEED_LIMIT = 2**30  # bytes/s (1 GiB/s): rTorrent's ceiling, and the API's
TRANSMISSION_UNIT = 1000  # kB/s, K = 1000
RTORRENT_UNIT = 1024  # rTorrent keeps whole KiB/s


def to_units(limit: int, unit: int) -> int:
    """A limit in bytes/s as a whole number of `unit`s: the nearest (halves up), at least one."""
    return max(1, min(MAX_SPEED_LIMIT // unit, (limit + unit // 2) // unit))


def reported_count(value: object) -> int:
    """A rate, total or size a daemon reported, as a count of bytes: integers only (no bool),
    a negative one (a daemon's "unknown") read as 0. Raises ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {value!r}")
    return max(0, value)
