"""The clients' session and limits verbs on what daemons may send: the units and their
rounding, and figures a daemon should never send (negative, not numbers) clamped or refused
with a message naming the server."""

from __future__ import annotations

import xmlrpc.client

import pytest

from tests.daemons.fakes import garbage_reply
from torrentdesk.clients.errors import ProtocolError
from torrentdesk.clients.rtorrent import ALLOWED_METHODS, RTorrentClient
from torrentdesk.clients.units import (
    MAX_SPEED_LIMIT,
    RTORRENT_UNIT,
    TRANSMISSION_UNIT,
    reported_count,
    to_units,
)

SCGI_HEAD = b"Status: 200 OK\r\nContent-Type: text/xml\r\n\r\n"


@pytest.mark.parametrize(
    ("limit", "unit", "units"),
    [
        (512_000, TRANSMISSION_UNIT, 512),
        (1_499, TRANSMISSION_UNIT, 1),
        (1_500, TRANSMISSION_UNIT, 2),  # halves up, not to even
        (2_500, TRANSMISSION_UNIT, 3),
        (1, TRANSMISSION_UNIT, 1),  # never 0: Transmission would stop the transfer
        (1_500_000, RTORRENT_UNIT, 1465),
        (100, RTORRENT_UNIT, 1),  # never 0: rTorrent would lift the limit
        (MAX_SPEED_LIMIT, RTORRENT_UNIT, 1024 * 1024),
        (MAX_SPEED_LIMIT * 4, RTORRENT_UNIT, 1024 * 1024),  # rTorrent's ceiling
    ],
)
def test_limits_round_to_the_nearest_unit_never_to_zero(limit, unit, units):
    assert to_units(limit, unit) == units


@pytest.mark.parametrize(("value", "count"), [(0, 0), (5, 5), (-1, 0), (2**40, 2**40)])
def test_reported_counts_are_clamped_at_zero(value, count):
    assert reported_count(value) == count


@pytest.mark.parametrize("value", ["12", 1.5, None, True, [1]])
def test_reported_counts_must_be_whole_numbers(value):
    with pytest.raises(ValueError):
        reported_count(value)


def multicall_reply(*values) -> bytes:
    body = xmlrpc.client.dumps(([[v] for v in values],), methodresponse=True)
    return SCGI_HEAD + body.encode()


def test_rtorrent_session_clamps_negative_figures():
    reply = multicall_reply(-5, 10, 1000, -1, 0, 2048, "/srv/dl")
    with garbage_reply(reply) as port:
        client = RTorrentClient("127.0.0.1", port, timeout=2, name="rt-odd")
        # Free space needs a second call, which this fake answers with the same multicall:
        # not a list of torrents, so free space is simply unknown.
        session = client.session()
    assert (session.download_rate, session.upload_rate) == (0, 10)
    assert (session.downloaded_total, session.uploaded_total) == (1000, 0)
    assert (session.limits.download, session.limits.upload) == (None, 2048)
    assert session.download_dir == "/srv/dl"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (("fast", 0, 0, 0, 0, 0, "/srv"), "throttle figures are not whole numbers"),
        ((0, 0, 0, 0, 0, 0, 42), "directory.default is not text"),
    ],
)
def test_rtorrent_session_refuses_what_is_not_a_figure(values, message):
    with garbage_reply(multicall_reply(*values)) as port:
        client = RTorrentClient("127.0.0.1", port, timeout=2, name="rt-odd")
        with pytest.raises(ProtocolError, match=rf"^rt-odd: .*{message}"):
            client.session()


def test_the_session_methods_are_in_the_allowlist_and_nothing_wider():
    for method in (
        "throttle.global_down.max_rate.set",
        "throttle.global_up.max_rate.set",
        "throttle.global_down.total",
        "throttle.global_up.rate",
    ):
        assert method in ALLOWED_METHODS
    assert not {m for m in ALLOWED_METHODS if m.startswith(("execute.", "system.shutdown"))} - {
        "execute.nothrow"
    }
