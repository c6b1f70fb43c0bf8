import base64
import hashlib

import bencodepy
import pytest

from tests.torrent_factory import make_torrent
from torrentdesk.torrent_input import (
    MAX_TORRENT_FILE_SIZE,
    InvalidTorrentInput,
    is_info_hash,
    parse_magnet,
    parse_torrent_file,
    parse_torrent_url,
)

HASH = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"


def test_magnet_with_hex_hash_is_lowercased_and_named():
    link = parse_magnet(f"magnet:?xt=urn:btih:{HASH.upper()}&dn=Some+Linux&tr=http://t/a")
    assert link.info_hash == HASH
    assert link.name == "Some Linux"


def test_magnet_with_base32_hash_decodes_to_hex():
    b32 = base64.b32encode(bytes.fromhex(HASH)).decode()
    assert len(b32) == 32
    assert parse_magnet(f"magnet:?xt=urn:btih:{b32}").info_hash == HASH
    assert parse_magnet(f"magnet:?xt=urn:btih:{b32.lower()}").info_hash == HASH


def test_magnet_picks_the_btih_topic_among_others():
    uri = f"magnet:?xt=urn:sha1:ABCDEF&xt=urn:btih:{HASH}"
    assert parse_magnet(uri).info_hash == HASH


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://example.org/x.torrent", "not a magnet link"),
        ("magnet:?dn=nothing", "no 'xt=urn:btih:' info hash"),
        ("magnet:?xt=urn:btih:1234", "40 hex or 32 base32"),
        (f"magnet:?xt=urn:btih:{HASH}00", "40 hex or 32 base32"),
        ("magnet:?xt=urn:btih:" + "1" * 32, "40 hex or 32 base32"),  # '1' is not base32
    ],
)
def test_bad_magnets_are_rejected_with_the_reason(uri, message):
    with pytest.raises(InvalidTorrentInput, match=message):
        parse_magnet(uri)


def test_torrent_urls_must_be_http_or_https_with_a_host():
    assert parse_torrent_url(" https://tracker.lan/x.torrent ") == "https://tracker.lan/x.torrent"
    for bad in (
        "ftp://host/x.torrent",
        "file:///etc/passwd",
        "http://",
        "x.torrent",
        "javascript:1",
    ):
        with pytest.raises(InvalidTorrentInput, match="http"):
            parse_torrent_url(bad)


def test_single_file_torrent_metainfo():
    torrent = make_torrent("single.bin", length=40000)
    meta = parse_torrent_file(torrent.data)
    assert (meta.info_hash, meta.name, meta.size, meta.file_count) == (
        torrent.info_hash,
        "single.bin",
        40000,
        1,
    )


def test_multi_file_torrent_metainfo():
    torrent = make_torrent("album", files=[("cd1/a.flac", 1000), ("cd2/b.flac", 2500)])
    meta = parse_torrent_file(torrent.data)
    assert (meta.info_hash, meta.size, meta.file_count) == (torrent.info_hash, 3500, 2)


def test_non_canonical_torrent_hashes_the_raw_info_bytes():
    # Unsorted keys inside `info` (as some old tools wrote): re-encoding would sort them and
    # give another hash, which the swarm would not know.
    raw_info = b"d4:name1:x6:lengthi5e12:piece lengthi16384e6:pieces20:" + b"p" * 20 + b"e"
    canonical = bencodepy.encode(bencodepy.decode(raw_info))
    assert canonical != raw_info
    data = b"d8:announce3:url4:info" + raw_info + b"e"
    meta = parse_torrent_file(data)
    assert meta.info_hash == hashlib.sha1(raw_info).hexdigest()
    assert meta.info_hash != hashlib.sha1(canonical).hexdigest()


def test_info_key_after_other_containers_is_found():
    info = {b"name": b"n", b"piece length": 1, b"pieces": b"x" * 20, b"length": 1}
    data = bencodepy.encode({b"a-list": [1, [b"x"], {b"k": b"v"}], b"info": info, b"z": 1})
    assert parse_torrent_file(data).info_hash == hashlib.sha1(bencodepy.encode(info)).hexdigest()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not valid bencode"),
        (b"<html>Not found</html>", "not valid bencode"),
        (b"d4:infod", "not valid bencode"),
        (b"i42e", "no 'info' dictionary"),
        (b"d8:announce3:urle", "no 'info' dictionary"),
        (b"d4:info3:abce", "no 'info' dictionary"),
        (b"d4:infod4:name1:xee", "lacks 'piece length' or 'pieces'"),
        (b"d4:infod4:name1:x12:piece lengthi1e6:pieces0:ee", "neither 'length' nor 'files'"),
        (
            b"d4:infod5:filesld4:pathl1:aeee4:name1:x12:piece lengthi1e6:pieces0:ee",
            "a file entry has no length",
        ),
    ],
)
def test_malformed_torrent_files_are_rejected_with_the_reason(data, message):
    with pytest.raises(InvalidTorrentInput, match=message):
        parse_torrent_file(data)


def test_oversized_torrent_file_is_rejected_before_decoding():
    with pytest.raises(InvalidTorrentInput, match="the limit is 10485760"):
        parse_torrent_file(b"d" + b"0" * MAX_TORRENT_FILE_SIZE)


def test_is_info_hash():
    assert is_info_hash(HASH) and is_info_hash(HASH.upper())
    assert not is_info_hash(HASH[:-1]) and not is_info_hash("g" * 40)
