"""rTorrent polled in two tiers (SPEC §13) against a real rTorrent: between full lists only the
torrents that can change are asked for, and no change made from outside — a torrent stopped,
one added, one erased — stays unseen for longer than one full cycle."""

from __future__ import annotations

import asyncio
import time
import xmlrpc.client

import pytest

from tests.api_fixtures import rtorrent_scgi_fields
from tests.daemons.common import wait_until
from tests.torrent_factory import make_torrent
from torrentdesk.clients import rtorrent as rtorrent_module
from torrentdesk.db import open_database
from torrentdesk.services import build_services
from torrentdesk.services.live import TorrentChanges
from torrentdesk.services.secrets import SecretStore
from torrentdesk.services.servers import ServerFields

pytestmark = pytest.mark.daemon


def load(daemon, name: str, start: bool = False) -> str:
    """Add a torrent behind torrentdesk's back, as another tool would; its hash."""
    torrent = make_torrent(name)
    daemon.rpc("load.raw_start" if start else "load.raw", "", xmlrpc.client.Binary(torrent.data))
    wait_until(lambda: torrent.info_hash in daemon.hashes(), message=f"{name} loaded")
    return torrent.info_hash


def states(torrents) -> dict[str, str]:
    return {t.info_hash: t.state for t in torrents}


def started(torrents) -> set[str]:
    """The hashes listed, each in a started state: rTorrent checks a torrent as it starts it,
    so under load a torrent just started may still read checking (seen in CI)."""
    found = states(torrents)
    assert set(found.values()) <= {"checking", "downloading"}, found
    return set(found)


def test_between_full_lists_only_what_can_change_is_asked_for(rtorrent_clean, rtorrent_client):
    d, client = rtorrent_clean, rtorrent_client
    idle = [load(d, f"idle {i}") for i in range(6)]
    running = load(d, "running", start=True)
    assert client.list_active() is None  # no full list yet: only a full list is right
    full = client.list_torrents()
    assert {t.info_hash for t in full} >= {*idle, running}

    # The hot tier: the started torrent only (rTorrent's "started" view), none of the idle.
    torrents, removed = client.list_active()
    assert started(torrents) == {running} and removed == []

    # Stopped from outside: it leaves the view; asked for by hash, it reads stopped.
    d.rpc("d.stop", running.upper())
    d.rpc("d.close", running.upper())
    torrents, removed = client.list_active()
    assert states(torrents) == {running: "stopped"} and removed == []
    # Changed lately: asked for once more, then settled (stopped and the same): no longer.
    assert states(client.list_active()[0]) == {running: "stopped"}
    assert client.list_active() == ([], [])

    # Erased from outside while in no tier: the hot tier cannot see it; the next full list,
    # due after FULL_LIST_EVERY, does.
    d.rpc("d.erase", running.upper())
    assert client.list_active() == ([], [])
    client._last_full -= rtorrent_module.FULL_LIST_EVERY
    assert client.list_active() is None
    assert running not in {t.info_hash for t in client.list_torrents()}

    # Started, then stopped and erased at once from outside: it left the view, so it is asked
    # for by hash, and reported removed.
    other = idle[0]
    d.rpc("d.start", other.upper())
    assert started(client.list_active()[0]) == {other}
    d.rpc("d.stop", other.upper())
    d.rpc("d.erase", other.upper())
    assert client.list_active() == ([], [other])
    assert client.list_active() == ([], [])


def test_our_own_actions_are_seen_at_the_next_hot_poll(rtorrent_clean, rtorrent_client):
    d, client = rtorrent_clean, rtorrent_client
    idle = load(d, "idle, then erased through us")
    other = load(d, "idle, then started through us")
    client.list_torrents()
    assert client.list_active() == ([], [])
    assert client.start([other]) == {}
    assert client.erase([idle]) == {}
    torrents, removed = client.list_active()
    assert started(torrents) == {other} and removed == [idle]


@pytest.fixture
def live_rtorrent(tmp_path, rtorrent_clean, monkeypatch):
    """The live service polling the rTorrent every second with a 4 s full cycle; the changes
    it publishes, and how many full lists it made."""
    monkeypatch.setattr(rtorrent_module, "FULL_LIST_EVERY", 4.0)
    full_lists: list[float] = []
    original = rtorrent_module.RTorrentClient.list_torrents

    def counting(self, info_hash=None, files=False):
        if info_hash is None:
            full_lists.append(time.monotonic())
        return original(self, info_hash, files)

    monkeypatch.setattr(rtorrent_module.RTorrentClient, "list_torrents", counting)
    data_dir = tmp_path / "data"
    services = build_services(
        open_database(f"sqlite:///{data_dir / 'torrentdesk.sqlite'}"), SecretStore(data_dir)
    )
    services.live.fast_interval = 1.0
    user = services.users.create("alice", "password-123", is_admin=True)
    server = services.servers.create(user.id, ServerFields(**rtorrent_scgi_fields(rtorrent_clean)))
    published: list[tuple[float, TorrentChanges]] = []
    yield services, user.id, server.id, published, full_lists
    services.close()


async def test_no_change_from_outside_is_missed_longer_than_one_full_cycle(
    live_rtorrent, rtorrent_clean
) -> None:
    services, user_id, server_id, published, full_lists = live_rtorrent
    d = rtorrent_clean
    live = services.live
    running = load(d, "running, stopped from outside", start=True)
    stopped = load(d, "stopped, erased from outside")
    await live.start()
    try:
        live.subscribe(user_id, lambda c: published.append((time.monotonic(), c)))

        def row(info_hash: str) -> dict | None:
            return live._pollers[server_id].rows.get(info_hash)

        await until(lambda: row(running) and row(stopped), "the first list")
        await until(lambda: row(running)["state"] == "downloading", "running")
        cycle = 4.0 + live.fast_interval  # a full list is due, and the poll that makes it

        # Stopped from outside: seen by the hot tier, well within one cycle.
        changed_at = time.monotonic()
        d.rpc("d.stop", running.upper())
        d.rpc("d.close", running.upper())
        await until(lambda: row(running)["state"] == "stopped", "stopped from outside", cycle)
        stopped_seen = time.monotonic() - changed_at

        # Added (stopped) and erased (while stopped) from outside: in no view, so seen at the
        # next full list — within one cycle.
        changed_at = time.monotonic()
        added = load(d, "added from outside")
        d.rpc("d.erase", stopped.upper())
        await until(lambda: row(added) and row(stopped) is None, "added and erased", cycle + 2)
        added_seen = time.monotonic() - changed_at
        print(f"\nseen after: stopped {stopped_seen:.1f} s, added/erased {added_seen:.1f} s")
        assert stopped_seen < cycle and added_seen < cycle + 1.0

        # Between full lists the polls were the hot tier: about one full list per cycle.
        span = full_lists[-1] - full_lists[0]
        polls_between = len(full_lists) - 1
        assert polls_between <= span / 4.0 + 1, (len(full_lists), span)
        # The pages were told: a removal and both rows' updates reached the subscriber.
        removed = {r for _, c in published for r in c.removed}
        assert f"{server_id}:{stopped}" in removed
    finally:
        await live.stop()


async def until(predicate, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except (KeyError, TypeError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(0.05)
