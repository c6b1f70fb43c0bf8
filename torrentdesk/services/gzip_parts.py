"""A gzip body made of parts compressed apart (as pigz does): each part is a raw deflate stream
ended by a sync flush, so the parts can be compressed once, kept, and joined in any order into
one valid gzip member; the CRC-32 of the whole comes from the parts' own (zlib's
crc32_combine). `GET /torrents` keeps each server's rows compressed until they change."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

LEVEL = 1  # fast: a 50 000-row listing is ~24 MiB of JSON
_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip, deflate, no name, mtime 0
_FINAL_BLOCK = b"\x03\x00"  # an empty final block with fixed codes
_POLY = 0xEDB88320


@dataclass(frozen=True, slots=True)
class GzipPart:
    deflated: bytes  # raw deflate, sync-flushed: no final block
    crc: int
    size: int  # uncompressed bytes


def gzip_part(data: bytes, level: int = LEVEL) -> GzipPart:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    deflated = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return GzipPart(deflated, zlib.crc32(data), len(data))


def gzip_join(parts: list[GzipPart]) -> bytes:
    """One gzip member of the parts' data in this order."""
    crc = size = 0
    for part in parts:
        crc = crc32_combine(crc, part.crc, part.size)
        size += part.size
    trailer = crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little")
    return b"".join([_HEADER, *(p.deflated for p in parts), _FINAL_BLOCK, trailer])


def _multmodp(a: int, b: int) -> int:
    """a * b modulo the CRC-32 polynomial (reflected), as zlib's multmodp."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


def _powers() -> list[int]:
    """x^(2^k) modulo the polynomial, k = 0..31 (zlib's x2n_table)."""
    table, p = [], 1 << 30  # x^1
    for _ in range(32):
        table.append(p)
        p = _multmodp(p, p)
    return table


_X2N = _powers()


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from those of A and B and the length of B (zlib's crc32_combine)."""
    p, k, n = 1 << 31, 3, len2  # x^0; len2 bytes are 8 * len2 bits: start at x^(2^3)
    while n:
        if n & 1:
            p = _multmodp(_X2N[k & 31], p)
        n >>= 1
        k += 1
    return _multmodp(p, crc1) ^ crc2
