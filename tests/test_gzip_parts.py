"""Gzip bodies joined from parts compressed apart: one valid gzip member, whatever the parts."""

from __future__ import annotations

import gzip
import os
import zlib

import pytest

from torrentdesk.services.gzip_parts import crc32_combine, gzip_join, gzip_part


@pytest.mark.parametrize(
    ("a", "b"),
    [(b"", b""), (b"abc", b""), (b"", b"xyz"), (b"xx", b"y"), (os.urandom(9), os.urandom(70_001))],
)
def test_crc32_combine_is_zlibs(a: bytes, b: bytes) -> None:
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_parts_join_into_one_gzip_member() -> None:
    parts = [b'{"torrents":[', b'{"a":1},' * 5_000 + b'{"a":2}', b"", os.urandom(3_000)]
    parts.append('],"servers":["ünï"]}'.encode())
    body = gzip_join([gzip_part(p) for p in parts])
    assert gzip.decompress(body) == b"".join(parts)
    # One member, read to its end by a plain zlib stream (as httpx and browsers read it).
    stream = zlib.decompressobj(zlib.MAX_WBITS | 16)
    assert stream.decompress(body) == b"".join(parts)
    assert stream.eof and stream.unused_data == b""
    assert gzip.decompress(gzip_join([])) == b""
