"""Synthetic .torrent files: random pieces, no data on disk needed."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import bencodepy

from torrentdesk.torrent_input import TorrentMetainfo, parse_torrent_file

PIECE_LENGTH = 16384


@dataclass(frozen=True)
class SyntheticTorrent:
    data: bytes
    info_hash: str
    name: str
    size: int

    @property
    def meta(self) -> TorrentMetainfo:
        """As the services hand it to a client: checked and parsed once."""
        return parse_torrent_file(self.data)


def make_torrent(
    name: str,
    files: list[tuple[str, int]] | None = None,
    length: int = 3 * PIECE_LENGTH + 100,
    tracker: str = "http://127.0.0.1:9/announce",
) -> SyntheticTorrent:
    """A private torrent; multi-file when `files` (path, size) is given."""
    info: dict[bytes, object] = {
        b"name": name.encode(),
        b"piece length": PIECE_LENGTH,
        b"private": 1,
    }
    if files:
        info[b"files"] = [
            {b"length": size, b"path": path.encode().split(b"/")} for path, size in files
        ]
        total = sum(size for _, size in files)
    else:
        info[b"length"] = length
        total = length
    pieces = -(-total // PIECE_LENGTH)
    info[b"pieces"] = os.urandom(20 * pieces)
    data = bencodepy.encode({b"announce": tracker.encode(), b"info": info})
    return SyntheticTorrent(data, hashlib.sha1(bencodepy.encode(info)).hexdigest(), name, total)


def magnet_for(info_hash: str, name: str = "magnet test") -> str:
    return f"magnet:?xt=urn:btih:{info_hash}&dn={name.replace(' ', '+')}"


def random_info_hash() -> str:
    return os.urandom(20).hex()


def make_real_torrent(
    download_dir: Path, name: str, files: list[tuple[str, int, bool]]
) -> tuple[bytes, str]:
    """A multi-file torrent with correct piece hashes; only files marked True are written."""
    contents = [os.urandom(size) for _, size, _ in files]
    blob = b"".join(contents)
    pieces = b"".join(
        hashlib.sha1(blob[i : i + PIECE_LENGTH]).digest() for i in range(0, len(blob), PIECE_LENGTH)
    )
    info = {
        b"name": name.encode(),
        b"piece length": PIECE_LENGTH,
        b"private": 1,
        b"pieces": pieces,
        b"files": [
            {b"length": size, b"path": path.encode().split(b"/")} for path, size, _ in files
        ],
    }
    for (path, _, present), content in zip(files, contents, strict=True):
        if present:
            target = download_dir / name / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    data = bencodepy.encode({b"announce": b"http://127.0.0.1:9/announce", b"info": info})
    return data, hashlib.sha1(bencodepy.encode(info)).hexdigest()
