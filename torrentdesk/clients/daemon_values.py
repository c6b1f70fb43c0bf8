"""What a daemon sends inside a torrent (trackers, peers), taken with care: every value is
checked for its type, clamped to its range and cut to a sane length, so a confused or hostile
daemon yields odd values at worst, never an exception or megabytes of text on a page."""

from __future__ import annotations

MAX_URL_CHARS = 2048
MAX_MESSAGE_CHARS = 500
MAX_CLIENT_CHARS = 100
MAX_ADDRESS_CHARS = 64  # the longest IPv6 text form is 45
MAX_PEERS = 10_000  # more than any swarm a daemon connects to at once
MAX_TRACKERS = 1_000


def text(value: object, limit: int) -> str:
    """A printable string of at most `limit` characters ("" for anything that is not one)."""
    if not isinstance(value, str):
        return ""
    value = "".join(c if c.isprintable() else " " for c in value[:limit])
    return value.strip()


def optional_text(value: object, limit: int = MAX_MESSAGE_CHARS) -> str | None:
    return text(value, limit) or None


def count(value: object, maximum: int = 2**53) -> int | None:
    """A non-negative integer, or None (a daemon's "-1: unknown", a wrong type)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return min(value, maximum)


def rate(value: object) -> int:
    """Bytes/s: a non-negative integer (0 for anything else)."""
    return count(value) or 0


def port(value: object) -> int:
    number = count(value)
    return number if number is not None and number <= 65535 else 0


def fraction(value: object) -> float:
    """0.0-1.0 from a number (NaN and wrong types are 0)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return 0.0
    return min(max(float(value), 0.0), 1.0)


def timestamp(value: object) -> int | None:
    """Unix seconds, or None for 0 ("never"), negatives and wrong types."""
    number = count(value)
    return number or None


def flag(value: object) -> bool:
    return value is True or (isinstance(value, int) and not isinstance(value, bool) and value == 1)
