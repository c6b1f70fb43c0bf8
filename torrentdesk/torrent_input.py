"""Parse what users hand us to add: magnet links and .torrent files.

A leaf module (no project imports) so clients, services and the API can all use it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import bencodepy

MAX_TORRENT_FILE_SIZE = 10 * 1024 * 1024
MAX_TRACKERS = 200  # more announce URLs than any real torrent has; the rest are ignored
# More files than any real torrent has (the largest seen carry tens of thousands); a 9 MiB
# .torrent can list 400 000, which took seconds to decode. Counted before decoding.
MAX_TORRENT_FILES = 100_000
_HEX_HASH = re.compile(r"[0-9a-fA-F]{40}")
_BASE32_HASH = re.compile(r"[A-Za-z2-7]{32}")


class InvalidTorrentInput(ValueError):
    """The input is not a magnet link, an http(s) URL or a .torrent file; says why."""


@dataclass(frozen=True, slots=True)
class MagnetLink:
    uri: str
    info_hash: str  # 40 lowercase hex
    name: str | None
    trackers: tuple[str, ...] = ()  # its `tr` announce URLs


@dataclass(frozen=True, slots=True)
class TorrentMetainfo:
    """A checked .torrent file: parsed once per request, then handed on with its bytes."""

    info_hash: str  # SHA-1 of the raw bencoded `info` dictionary, 40 lowercase hex
    name: str
    size: int
    file_count: int
    data: bytes = field(repr=False, default=b"")
    trackers: tuple[str, ...] = ()  # `announce`, then `announce-list` in tier order
    private: bool = False


def is_info_hash(value: str) -> bool:
    return bool(_HEX_HASH.fullmatch(value))


def parse_magnet(uri: str) -> MagnetLink:
    """A magnet link with a BitTorrent v1 hash, in hex or base32."""
    parts = urlsplit(uri.strip())
    if parts.scheme.lower() != "magnet":
        raise InvalidTorrentInput("not a magnet link: it must start with 'magnet:?'")
    params = parse_qs(parts.query)
    trackers = tuple(dict.fromkeys(params.get("tr", [])))[:MAX_TRACKERS]
    for topic in params.get("xt", []):
        if not topic.lower().startswith("urn:btih:"):
            continue
        value = topic[len("urn:btih:") :]
        if _HEX_HASH.fullmatch(value):
            return MagnetLink(uri.strip(), value.lower(), _first(params.get("dn")), trackers)
        if _BASE32_HASH.fullmatch(value):
            info_hash = base64.b32decode(value.upper()).hex()
            return MagnetLink(uri.strip(), info_hash, _first(params.get("dn")), trackers)
        raise InvalidTorrentInput(
            "the magnet link's btih hash must be 40 hex or 32 base32 characters"
        )
    raise InvalidTorrentInput("the magnet link has no 'xt=urn:btih:' info hash")


def parse_torrent_url(url: str) -> str:
    """An http(s) URL of a .torrent, stripped; anything else is rejected."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidTorrentInput("not a magnet link or an http(s) URL")
    return url.strip()


def parse_torrent_file(data: bytes) -> TorrentMetainfo:
    """Validate a .torrent file and read its info hash, name and size."""
    if len(data) > MAX_TORRENT_FILE_SIZE:
        raise InvalidTorrentInput(
            f"the .torrent file is {len(data)} bytes; the limit is {MAX_TORRENT_FILE_SIZE}"
        )
    try:
        # One linear pass first: where `info` is, and no more files than the limit.
        start, end = _info_span(data)
    except InvalidTorrentInput:
        raise
    except (ValueError, IndexError, RecursionError):
        raise InvalidTorrentInput("not a .torrent file: it is not valid bencode") from None
    try:
        meta = bencodepy.decode(data)
    except (bencodepy.BencodeDecodeError, ValueError, TypeError, IndexError) as exc:
        raise InvalidTorrentInput(f"not a .torrent file: it is not valid bencode ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get(b"info"), dict):
        raise InvalidTorrentInput("not a .torrent file: it has no 'info' dictionary")
    info = meta[b"info"]
    name = _text(info.get(b"name.utf-8") or info.get(b"name")) or ""
    if not isinstance(info.get(b"piece length"), int) or not isinstance(info.get(b"pieces"), bytes):
        raise InvalidTorrentInput(
            "not a .torrent file: its 'info' lacks 'piece length' or 'pieces'"
        )
    if isinstance(info.get(b"length"), int):
        size, file_count = info[b"length"], 1
    elif isinstance(info.get(b"files"), list) and info[b"files"]:
        lengths = [f.get(b"length") for f in info[b"files"] if isinstance(f, dict)]
        if len(lengths) != len(info[b"files"]) or not all(isinstance(n, int) for n in lengths):
            raise InvalidTorrentInput("not a .torrent file: a file entry has no length")
        size, file_count = sum(lengths), len(lengths)
    else:
        raise InvalidTorrentInput(
            "not a .torrent file: its 'info' has neither 'length' nor 'files'"
        )
    return TorrentMetainfo(
        hashlib.sha1(data[start:end]).hexdigest(),
        name,
        size,
        file_count,
        bytes(data),
        _announce_urls(meta),
        info.get(b"private") == 1,
    )


def _announce_urls(meta: dict) -> tuple[str, ...]:
    """The announce URLs in the order clients try them (BEP 12: announce-list wins)."""
    urls = [meta.get(b"announce")]
    tiers = meta.get(b"announce-list")
    if isinstance(tiers, list):
        urls += [url for tier in tiers if isinstance(tier, list) for url in tier]
    texts = (_text(url) for url in urls)
    return tuple(dict.fromkeys(t for t in texts if t))[:MAX_TRACKERS]

def torrent_files(data: bytes) -> list[tuple[str, int]]:
    """(path, size) of each file of a checked .torrent, in its order (the daemons' file
    indices); paths relative to the torrent's own folder, as the daemons list them. A
    single-file torrent's one file is its name."""
    info = bencodepy.decode(data)[b"info"]
    name = _text(info.get(b"name.utf-8") or info.get(b"name")) or ""
    if isinstance(info.get(b"length"), int):
        return [(name, info[b"length"])]
    files = []
    for entry in info[b"files"]:
        parts = entry.get(b"path.utf-8") or entry.get(b"path") or []
        path = "/".join(_text(part) or "" for part in parts) if isinstance(parts, list) else ""
        files.append((path, entry[b"length"]))
    return files


def _info_span(data: bytes) -> tuple[int, int]:
    """Byte range of the top-level `info` value, exactly as written (key order kept), found
    in one linear pass over the structure; refuses an `info` listing more than
    MAX_TORRENT_FILES files as soon as it has counted them. ValueError: not bencode."""
    if data[:1] != b"d":
        if _skip(data, 0) == len(data):  # bencode, but not a dictionary
            raise InvalidTorrentInput("not a .torrent file: it has no 'info' dictionary")
        raise ValueError("not bencode")
    pos, span = 1, None
    while data[pos : pos + 1] != b"e":
        key_end = _skip(data, pos)
        if data[pos:key_end] == b"4:info" and data[key_end : key_end + 1] == b"d":
            value_end = _skip_info(data, key_end)
            span = span or (key_end, value_end)
        else:
            value_end = _skip(data, key_end)
        pos = value_end
    if pos + 1 != len(data):
        raise ValueError("data after the end")
    if span is None:
        raise InvalidTorrentInput("not a .torrent file: it has no 'info' dictionary")
    return span


def _skip_info(data: bytes, pos: int) -> int:
    """Past the `info` dictionary at `pos`, counting the entries of its `files` list."""
    pos += 1
    while data[pos : pos + 1] != b"e":
        key_end = _skip(data, pos)
        if data[pos:key_end] == b"5:files" and data[key_end : key_end + 1] == b"l":
            pos, count = key_end + 1, 0
            while data[pos : pos + 1] != b"e":
                count += 1
                if count > MAX_TORRENT_FILES:
                    raise InvalidTorrentInput(
                        f"the .torrent file lists more than {MAX_TORRENT_FILES:,} files; "
                        "torrentdesk accepts at most that many"
                    )
                pos = _skip(data, pos)
            pos += 1
        else:
            pos = _skip(data, key_end)
    return pos + 1


def _skip(data: bytes, pos: int) -> int:
    """Index just past the bencoded value starting at `pos` (iterative: no depth limit to
    hit; every step moves forward, so it is linear). ValueError/IndexError: not bencode."""
    depth = 0
    while True:
        lead = data[pos : pos + 1]
        if lead == b"i":
            end = data.index(b"e", pos)
            digits = data[pos + 1 : end]
            if not digits.lstrip(b"-").isdigit():
                raise ValueError("not an integer")
            pos = end + 1
        elif lead in (b"l", b"d"):
            depth += 1
            pos += 1
            continue
        elif lead == b"e" and depth:
            depth -= 1
            pos += 1
        else:
            colon = data.index(b":", pos, pos + 21)
            digits = data[pos:colon]
            if not digits.isdigit():
                raise ValueError("not a string length")
            pos = colon + 1 + int(digits)
            if pos > len(data):
                raise ValueError("a string runs past the end")
        if depth == 0:
            return pos


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None
