"""The fast XML-RPC reply reader gives exactly what xmlrpc.client gives, faults and garbage too."""

from __future__ import annotations

import random
import xmlrpc.client

import pytest

from torrentdesk.clients import xmlrpc_reply
from torrentdesk.clients.xmlrpc_reply import loads


def reply(*params: object) -> bytes:
    """A methodResponse with these params (xmlrpc.client writes one only: build the rest)."""
    body = xmlrpc.client.dumps(params)  # <params>...</params>
    return f"<?xml version='1.0'?>\n<methodResponse>\n{body}</methodResponse>\n".encode()


def fault(code: int, text: str) -> bytes:
    return xmlrpc.client.dumps(xmlrpc.client.Fault(code, text), methodresponse=True).encode()


def rtorrent_style(rows: list[list]) -> bytes:
    """What rTorrent 0.9.8 (xmlrpc-c) writes: CRLF between elements, i8 for integers."""

    def value(v) -> str:
        if isinstance(v, int):
            return f"<value><i8>{v}</i8></value>"
        escaped = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f"<value><string>{escaped}</string></value>"

    body = "".join(
        "<value><array><data>\r\n"
        + "".join(value(v) + "\r\n" for v in row)
        + "</data></array></value>\r\n"
        for row in rows
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\r\n<methodResponse>\r\n<params>\r\n'
        f"<param><value><array><data>\r\n{body}</data></array></value></param>\r\n"
        "</params>\r\n</methodResponse>\r\n"
    ).encode()


def same_as_stdlib(data: bytes):
    expected = xmlrpc.client.loads(data)[0]
    got = loads(data)
    assert got == expected
    assert [type(x) for x in got] == [type(x) for x in expected]
    return got


NAMES = ["plain", "", "a & b <c> \"d\" 'e'", "ünï çødé ☃ 𝄞", "tab\there", "line\nbreak", "]]>"]


@pytest.mark.parametrize(
    "value",
    [
        0,
        -(2**31),
        2**31 - 1,
        True,
        False,
        1.5,
        -0.0,
        1e300,
        *NAMES,
        [],
        [1, "x", [2, [3, []]]],
        {"a": 1, "b": [1, 2], "c": {"d": "e", "": ""}},
        {"faultCode": 1},  # a struct that merely looks like half a fault
        [{"faultCode": -501, "faultString": "Could not find info-hash."}, ["0.9.8"]],
    ],
)
def test_every_value_type_reads_as_the_standard_library_reads_it(value):
    same_as_stdlib(reply(value))


def test_i8_i4_int_untyped_and_self_closing_forms():
    body = (
        b"<?xml version='1.0'?><methodResponse><params><param><value><array><data>"
        b"<value><i8>9000000000</i8></value><value><i4>-7</i4></value><value><int> 3 </int></value>"
        b"<value>bare text</value><value></value><value/><value><string/></value>"
        b"<value><array><data/></array></value><value><struct></struct></value>"
        b"</data></array></value></param></params></methodResponse>"
    )
    assert same_as_stdlib(body) == ([9000000000, -7, 3, "bare text", "", "", "", [], {}],)


def test_entities_and_line_ends_as_an_xml_parser_reports_them():
    body = (
        b"<methodResponse><params><param><value><array><data>"
        b"<value><string>&lt;&gt;&amp;&quot;&apos;&#65;&#x263A;&#13;</string></value>"
        b"<value><string>cr\r\nlf\rend</string></value>"
        b"</data></array></value></param></params></methodResponse>"
    )
    assert same_as_stdlib(body) == (["<>&\"'A\u263a\r", "cr\nlf\nend"],)


def test_several_params():
    same_as_stdlib(reply(1, "two", [3]))


def test_rtorrent_multicall_rows_every_shape():
    rows = [
        ["ABCDEF" * 6 + "0123", name, 1, 0, 2**40, -1, "1700000000", ""]
        for name in [*NAMES, "x" * 5000]
    ]
    assert same_as_stdlib(rtorrent_style(rows)) == (rows,)
    assert same_as_stdlib(rtorrent_style([])) == ([],)
    assert same_as_stdlib(rtorrent_style([["only"]])) == ([["only"]],)


def test_rows_of_mixed_types_and_uneven_rows_still_read_right():
    mixed = [[1, "a"], ["b", 2], [True, 1.5]]
    same_as_stdlib(reply(mixed))
    same_as_stdlib(rtorrent_style([[1, "a"], [2, "b", 3]]))  # uneven: the general reader
    same_as_stdlib(reply([[1, [2]], [3, [4]]]))  # nested: the general reader


def test_a_big_reply_like_rtorrents_2000_torrent_listing():
    rng = random.Random(6)
    rows = [
        [
            f"{rng.getrandbits(160):040X}",
            f"Some.Name & <{i}> ü {rng.random()}",
            *[rng.choice([0, 1, rng.getrandbits(40)]) for _ in range(12)],
            str(1_700_000_000 + i),
            1_700_000_000,
            "/srv/downloads",
            i % 2,
            "" if i % 3 else "Linux%20ISOs",
            "" if i % 5 else 'Tracker: [Failure reason "x"]',
        ]
        for i in range(2000)
    ]
    data = rtorrent_style(rows)
    assert len(data) > 1_000_000
    assert same_as_stdlib(data) == (rows,)


@pytest.mark.parametrize(
    "data",
    [
        fault(-501, "Could not find info-hash."),
        fault(-506, "Method 'x' not defined & <y>"),
        (
            b'<?xml version="1.0" encoding="UTF-8"?>\r\n<methodResponse>\r\n<fault>\r\n'
            b"<value><struct>\r\n<member><name>faultCode</name>\r\n<value><i4>-503</i4></value>"
            b"</member>\r\n<member><name>faultString</name>\r\n<value><string>Could not find "
            b"view.</string></value></member>\r\n</struct></value>\r\n</fault>\r\n"
            b"</methodResponse>\r\n"
        ),
    ],
)
def test_faults_raise_fault(data):
    with pytest.raises(xmlrpc.client.Fault) as expected:
        xmlrpc.client.loads(data)
    with pytest.raises(xmlrpc.client.Fault) as got:
        loads(data)
    assert (got.value.faultCode, got.value.faultString) == (
        expected.value.faultCode,
        expected.value.faultString,
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"hello",
        b"<html>no</html>",
        b"<methodResponse><params><param><value><i4>1</i4></value></param></params>",  # unclosed
        b"<methodResponse><params><param><value><i4>x</i4></value></param></params>"
        b"</methodResponse>",
        b"<methodResponse><params><param><value><boolean>2</boolean></value></param></params>"
        b"</methodResponse>",
        b"<methodResponse><params><param><value><string>a & b</string></value></param>"
        b"</params></methodResponse>",
        b"<methodResponse><params><param><value><array><data><value><i8>1</i8></value>"
        b"</array></data></value></param></params></methodResponse>",  # crossed tags
        b"<methodResponse><params><param><value><string>\xff\xfe</string></value></param>"
        b"</params></methodResponse>",  # not UTF-8
        b"<methodResponse><fault><value><struct><member><name>faultCode</name><value><i4>1</i4>"
        b"</value></member></struct></value></fault></methodResponse>",  # half a fault
        rtorrent_style([["a", 1]])[:-40],  # cut short
    ],
)
def test_garbage_fails_as_it_fails_in_the_standard_library(data):
    with pytest.raises(Exception) as expected:
        xmlrpc.client.loads(data)
    with pytest.raises(Exception) as got:
        loads(data)
    assert type(got.value) is type(expected.value)


def test_what_the_fast_reader_does_not_know_goes_to_the_standard_library():
    for value in (xmlrpc.client.Binary(b"\x00\x01"), xmlrpc.client.DateTime(0), None):
        data = xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()
        assert loads(data) == xmlrpc.client.loads(data)[0]
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?><methodResponse><params><param>'
    latin += "<value><string>caf\xe9</string></value></param></params></methodResponse>"
    assert loads(latin.encode("latin-1")) == ("caf\xe9",)
    cdata = b"<methodResponse><params><param><value><string><![CDATA[<x>]]></string></value>"
    cdata += b"</param></params></methodResponse>"
    assert loads(cdata) == ("<x>",)


def test_the_fast_paths_are_the_ones_taken(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("fell back to xmlrpc.client")

    monkeypatch.setattr(xmlrpc_reply.xmlrpc.client, "loads", refuse)
    assert loads(rtorrent_style([["h", 1], ["i", 2]])) == ([["h", 1], ["i", 2]],)
    assert loads(reply({"a": [1, "b"]}, 2)) == ({"a": [1, "b"]}, 2)
    with pytest.raises(xmlrpc.client.Fault):
        loads(fault(-501, "nope"))


def test_random_structures_read_as_the_standard_library_reads_them():
    rng = random.Random(42)
    alphabet = "ab<>&\"' \r\n\tü☃𝄞]]>;#x"

    def make(depth: int):
        kind = rng.randrange(7 if depth < 4 else 4)
        if kind == 0:
            return rng.randint(-(2**31), 2**31 - 1)
        if kind == 1:
            return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        if kind == 2:
            return rng.random() * 10 ** rng.randint(-5, 5)
        if kind == 3:
            return rng.random() < 0.5
        if kind in (4, 5):
            return [make(depth + 1) for _ in range(rng.randrange(5))]
        return {make_key(): make(depth + 1) for _ in range(rng.randrange(4))}

    def make_key() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(6)))

    for _ in range(500):
        same_as_stdlib(reply(*(make(0) for _ in range(rng.randint(1, 3)))))


def test_rows_holding_arrays_are_read_right_without_scanning_every_character():
    """Such rows leave the fast row path at their first row: scanning the reply one character
    per match took 7 s for 2 000 rows (a hostile or nested reply must not cost that)."""
    import time

    rows = [["A" * 40, "name", 1, [["http://t.example/a"]], 5] for _ in range(2000)]
    data = xmlrpc.client.dumps((rows,), methodresponse=True).encode()
    started = time.perf_counter()
    assert loads(data) == xmlrpc.client.loads(data)[0]
    assert time.perf_counter() - started < 2.0  # ~0.04 s here; 7 s before


def test_a_late_row_of_other_types_reads_right_without_scanning_every_character():
    """The fast path takes each column's type from the first row; a row that differs (here the
    1 500th of 2 000) sends the whole reply to the general reader at once."""
    import time

    rows = [["A" * 40, "name", i, "1700000000"] for i in range(2000)]
    rows[1500] = ["A" * 40, "name", "not a number", 1700000000]
    data = rtorrent_style(rows)
    started = time.perf_counter()
    assert same_as_stdlib(data) == (rows,)
    assert time.perf_counter() - started < 2.0

