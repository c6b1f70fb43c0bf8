"""Every value a daemon sends is checked before it leaves the clients.

A broken or hostile server must never break the listing of the others, nor the database, nor
a page: an `addedDate` of 99999999999999 once made `GET /torrents` a 500 for every server (no
datetime has that year), and an integer past 64 bits, a lone surrogate or a NUL in a name
break JSON, SQLite or PostgreSQL alike. So each torrent is checked here, on both clients:

- its info hash must be 40 hex characters, else the row is left out (and counted);
- a row whose fields cannot be read at all is left out too (and counted);
- strings are cut to a length (names, messages, paths, labels), NULs and lone surrogates go;
- counters, sizes and rates are clamped to 0..2^63-1, times outside 1970..2106 become 0 (added)
  or None (ETA), ratios and progress are finite (progress 0..1).

The common case costs one pass of cheap type checks per row; only a row that fails them is
rebuilt field by field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from .base import TorrentFile, TorrentInfo

MAX_INT = 2**63 - 1
MAX_TIME = 2**32 - 1  # 2106: later than anything a torrent was added or will finish
MAX_NAME = 1024
MAX_PATH = 4096
MAX_MESSAGE = 1024
MAX_LABEL = 255
MAX_LABELS = 64
MAX_HOST = 255

_HEX_DIGITS = "0123456789abcdef"
_ANY_CASE_HASH = re.compile(r"[0-9a-fA-F]{40}")
_STATES = frozenset({"downloading", "seeding", "stopped", "checking", "queued", "metadata"})
_PRIORITIES = frozenset({"low", "normal", "high"})
# What reading a malformed row can raise; anything else is a bug of ours and surfaces.
ROW_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError)

Row = TypeVar("Row")
Key = TypeVar("Key")


def convert_rows(
    rows: Iterable[Row], convert: Callable[[Row], tuple[Key, TorrentInfo]]
) -> tuple[list[tuple[Key, TorrentInfo]], int]:
    """`convert` (a row -> a key, e.g. the daemon's id, and its torrent) applied to every
    row, and every torrent checked: (the pairs kept, how many rows were left out). One fast
    pass when every row converts; else row by row, leaving out those that fail."""
    rows = rows if isinstance(rows, list) else list(rows)
    try:
        pairs = [convert(row) for row in rows]
    except ROW_ERRORS:
        pairs = []
        for row in rows:
            try:
                pairs.append(convert(row))
            except ROW_ERRORS:
                continue
    torrents, _ = checked([info for _, info in pairs])
    if len(torrents) != len(pairs):
        kept = set(map(id, torrents))
        pairs = [pair for pair in pairs if id(pair[1]) in kept]
    return pairs, len(rows) - len(pairs)


def checked(torrents: list[TorrentInfo]) -> tuple[list[TorrentInfo], int]:
    """The torrents with every field in range; those without a valid info hash left out."""
    if all(map(_fine, torrents)):
        return torrents, 0
    kept = []
    for torrent in torrents:
        if _fine(torrent) or _repair(torrent):
            kept.append(torrent)
    return kept, len(torrents) - len(kept)


def _fine(t: TorrentInfo) -> bool:
    """Every field already as it must be (the cheap common case)."""
    size, eta, queue = t.size, t.eta, t.queue_position
    return (
        type(t.info_hash) is str
        and len(t.info_hash) == 40
        and not t.info_hash.strip(_HEX_DIGITS)  # only lowercase hex digits
        and _text_ok(t.name, MAX_NAME)
        and type(t.state) is str
        and t.state in _STATES
        and type(t.progress) is float
        and 0.0 <= t.progress <= 1.0
        and (size is None or (type(size) is int and 0 <= size <= MAX_INT))
        and all(
            type(n) is int and 0 <= n <= MAX_INT
            for n in (t.downloaded, t.uploaded, t.download_rate, t.upload_rate, t.peers, t.seeds)
        )
        and type(t.ratio) is float
        and 0.0 <= t.ratio < math.inf
        and (eta is None or (type(eta) is int and 0 <= eta <= MAX_TIME))
        and type(t.added_at) is int
        and 0 <= t.added_at <= MAX_TIME
        and _text_ok(t.download_dir, MAX_PATH)
        and type(t.labels) is list
        and len(t.labels) <= MAX_LABELS
        and all(_text_ok(label, MAX_LABEL) and label for label in t.labels)
        and (t.error is None or _text_ok(t.error, MAX_MESSAGE))
        and (t.warning is None or _text_ok(t.warning, MAX_MESSAGE))
        and (t.tracker is None or _text_ok(t.tracker, MAX_HOST))
        and (queue is None or (type(queue) is int and 0 <= queue <= MAX_INT))
        and (t.files is None or _files_fine(t.files))
    )


def _text_ok(value: object, limit: int) -> bool:
    if type(value) is not str or len(value) > limit or "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _files_fine(files: object) -> bool:
    return type(files) is list and all(
        type(f) is TorrentFile
        and type(f.index) is int
        and 0 <= f.index <= MAX_INT
        and _text_ok(f.path, MAX_PATH)
        and type(f.size) is int
        and 0 <= f.size <= MAX_INT
        and type(f.progress) is float
        and 0.0 <= f.progress <= 1.0
        and type(f.wanted) is bool
        and type(f.priority) is str
        and f.priority in _PRIORITIES
        for f in files
    )


def _repair(t: TorrentInfo) -> bool:
    """Bring every field of `t` in range, in place; False when it has no valid info hash."""
    if type(t.info_hash) is not str or not _ANY_CASE_HASH.fullmatch(t.info_hash):
        return False
    t.info_hash = t.info_hash.lower()
    t.name = text(t.name, MAX_NAME) or ""
    t.state = t.state if type(t.state) is str and t.state in _STATES else "stopped"
    t.progress = fraction(t.progress)
    t.size = None if t.size is None else count(t.size)
    t.downloaded = count(t.downloaded)
    t.uploaded = count(t.uploaded)
    t.download_rate = count(t.download_rate)
    t.upload_rate = count(t.upload_rate)
    t.ratio = ratio(t.ratio)
    t.eta = moment(t.eta)
    t.peers = count(t.peers)
    t.seeds = count(t.seeds)
    t.added_at = moment(t.added_at) or 0
    t.download_dir = text(t.download_dir, MAX_PATH) or ""
    t.labels = labels(t.labels)
    t.error = text(t.error, MAX_MESSAGE)
    t.warning = text(t.warning, MAX_MESSAGE)
    t.tracker = text(t.tracker, MAX_HOST)
    t.queue_position = None if t.queue_position is None else count(t.queue_position)
    if t.files is not None:
        t.files = files(t.files)
    return True


def text(value: object, limit: int) -> str | None:
    """A daemon's string, safe to store and show: None if it is not one; NULs and lone
    surrogates replaced; cut to `limit` characters."""
    if type(value) is not str:
        return None
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    if not value.isascii():
        value = value.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
    return value if len(value) <= limit else value[: limit - 1] + "…"


def count(value: object) -> int:
    """A counter, size or rate: an integer in 0..2^63-1 (0 when it is not a number)."""
    if type(value) is float and math.isfinite(value):
        value = int(value)
    if type(value) is not int:
        return 0
    return min(max(value, 0), MAX_INT)


def moment(value: object) -> int | None:
    """Unix seconds (or a duration) in 0..2^32-1; None outside it or when not a number."""
    if type(value) is float and math.isfinite(value):
        value = int(value)
    if type(value) is not int or not 0 <= value <= MAX_TIME:
        return None
    return value


def fraction(value: object) -> float:
    if type(value) is int:
        value = float(value)
    if type(value) is not float or not math.isfinite(value):
        return 0.0
    return min(max(value, 0.0), 1.0)


def ratio(value: object) -> float:
    if type(value) is int:
        value = float(value)
    if type(value) is not float or not math.isfinite(value) or value < 0:
        return 0.0
    return value


def labels(value: object) -> list[str]:
    if type(value) is not list:
        return []
    kept: list[str] = []
    for label in value:
        cleaned = text(label, MAX_LABEL)
        if cleaned and cleaned not in kept:
            kept.append(cleaned)
        if len(kept) == MAX_LABELS:
            break
    return kept


def files(value: object) -> list[TorrentFile]:
    if type(value) is not list:
        return []
    return [
        TorrentFile(
            count(f.index),
            text(f.path, MAX_PATH) or "",
            count(f.size),
            fraction(f.progress),
            f.wanted is True,
            f.priority if type(f.priority) is str and f.priority in _PRIORITIES else "normal",
        )
        for f in value
        if type(f) is TorrentFile
    ]


# -- inside a torrent: trackers and peers, read one value at a time ----------------------------

MAX_URL_CHARS = 2048
MAX_CLIENT_CHARS = 100
MAX_ADDRESS_CHARS = 64  # the longest IPv6 text form is 45
MAX_PEERS = 10_000  # more than any swarm a daemon connects to at once
MAX_TRACKERS = 1_000


def shown_text(value: object, limit: int) -> str:
    """A printable one-line string of at most `limit` characters ("" for anything that is not
    one)."""
    if not isinstance(value, str):
        return ""
    value = "".join(c if c.isprintable() else " " for c in value[:limit])
    return value.strip()


def optional_text(value: object, limit: int = MAX_MESSAGE) -> str | None:
    return shown_text(value, limit) or None


def known_count(value: object, maximum: int = MAX_INT) -> int | None:
    """A non-negative integer, or None (a daemon's "-1: unknown", a wrong type)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return min(value, maximum)


def rate(value: object) -> int:
    """Bytes/s: a non-negative integer (0 for anything else)."""
    return known_count(value) or 0


def port(value: object) -> int:
    number = known_count(value)
    return number if number is not None and number <= 65535 else 0


def timestamp(value: object) -> int | None:
    """Unix seconds, or None for 0 ("never"), out-of-range values and wrong types."""
    return moment(value) or None


def flag(value: object) -> bool:
    return value is True or (isinstance(value, int) and not isinstance(value, bool) and value == 1)
