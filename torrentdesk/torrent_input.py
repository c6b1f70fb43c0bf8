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
    start, end = _info_span(data)
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


def _info_span(data: bytes) -> tuple[int, int]:
    """Byte range of the top-level `info` value, exactly as written (key order kept)."""
    pos = 1  # past the top-level 'd'; the decoder has already validated the structure
    while data[pos : pos + 1] != b"e":
        key_end = _skip(data, pos)
        value_end = _skip(data, key_end)
        if data[pos:key_end] == b"4:info":
            return key_end, value_end
        pos = value_end
    raise InvalidTorrentInput("not a .torrent file: it has no 'info' dictionary")


def _skip(data: bytes, pos: int) -> int:
    """Index just past the bencoded value starting at `pos`."""
    lead = data[pos : pos + 1]
    if lead == b"i":
        return data.index(b"e", pos) + 1
    if lead in (b"l", b"d"):
        pos += 1
        while data[pos : pos + 1] != b"e":
            pos = _skip(data, pos)
        return pos + 1
    colon = data.index(b":", pos)
    return colon + 1 + int(data[pos:colon])


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None
