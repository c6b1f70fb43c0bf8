"""The async facade: timeouts, one call at a time per server, servers in parallel.

A scripted in-process client stands in for a daemon here because these are properties of the
facade's scheduling; the real daemons go through it in the client and API tests.
"""

import asyncio
import threading
import time

import pytest

from tests.torrent_factory import magnet_for, make_torrent
from torrentdesk.clients import AddedTorrent, AsyncTorrentClient, BaseTorrentClient, TimeoutError
from torrentdesk.clients.errors import ConnectError
from torrentdesk.torrent_input import parse_magnet


class ScriptedClient(BaseTorrentClient):
    """Each call sleeps `delay` seconds and records how many calls overlapped."""

    server_type = "scripted"

    def __init__(self, name: str, delay: float) -> None:
        super().__init__(name, timeout=5)
        self.delay = delay
        self.running = 0
        self.most_at_once = 0
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def _work(self, label: str):
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.delay)
        with self._lock:
            self.running -= 1
            self.calls.append(label)

    def list_torrents(self, info_hash=None, files=False):
        self._work("list")
        return []

    def add_torrent(self, meta, start=True, options=None):
        self._work("add")
        return AddedTorrent("a" * 40, "x")

    def add_magnet(self, magnet, start=True, options=None):
        self._work("magnet")
        return AddedTorrent("b" * 40, None)

    def magnet_of(self, info_hash):
        self._work(f"magnet of {info_hash}")
        return f"magnet:?xt=urn:btih:{info_hash}", False

    def start(self, hashes):
        self._work(f"start {','.join(hashes)}")
        return {}

    def stop(self, hashes):
        self._work(f"stop {','.join(hashes)}")
        return {}

    def erase(self, hashes, delete_data=False):
        self._work(f"erase {','.join(hashes)} {delete_data}")
        return {}

    def recheck(self, hashes):
        self._work(f"recheck {','.join(hashes)}")
        return {}

    def reannounce(self, hashes):
        self._work(f"reannounce {','.join(hashes)}")
        return {}

    def labels_of(self, hashes):
        return {h: [] for h in hashes}, {}

    def set_labels_each(self, labels):
        self._work(f"labels {sorted(labels.items())}")
        return {}

    def move(self, hashes, download_dir, move_data):
        self._work(f"move {','.join(hashes)} {download_dir} {move_data}")
        return {}

    def default_download_dir(self):
        return "/d"

    def version(self):
        if self.delay < 0:
            raise ConnectError(self.name, "refused")
        self._work("version")
        return "Scripted 1.0"


async def test_calls_to_one_server_are_serialized_in_order():
    client = ScriptedClient("one", delay=0.05)
    facade = AsyncTorrentClient(client)
    await asyncio.gather(*(facade.start([str(i)]) for i in range(5)))
    assert client.most_at_once == 1
    assert client.calls == [f"start {i}" for i in range(5)]
    facade.close()


async def test_different_servers_run_concurrently():
    clients = [ScriptedClient(f"s{i}", delay=1.0) for i in range(4)]
    facades = [AsyncTorrentClient(c) for c in clients]
    started = time.monotonic()
    results = await asyncio.gather(*(f.list_torrents() for f in facades))
    elapsed = time.monotonic() - started
    assert results == [[], [], [], []]
    # One after the other would take 4 s.
    assert elapsed < 3.0, f"4 servers x 1 s took {elapsed:.2f} s: not concurrent"
    for facade in facades:
        facade.close()


async def test_a_slow_call_times_out_naming_the_server_and_blocks_nothing_else():
    slow = AsyncTorrentClient(ScriptedClient("slow box", delay=4.0), timeout=0.3)
    fast = AsyncTorrentClient(ScriptedClient("fast box", delay=0.01))
    started = time.monotonic()
    outcomes = await asyncio.gather(
        slow.list_torrents(), fast.list_torrents(), return_exceptions=True
    )
    elapsed = time.monotonic() - started
    assert isinstance(outcomes[0], TimeoutError)
    assert str(outcomes[0]).startswith("slow box: no answer within 0.3 s")
    assert outcomes[1] == []
    assert elapsed < 3.0  # not the slow call's 4 s
    fast.close()
    slow.close()


async def test_a_call_after_a_timeout_waits_for_the_stuck_one_instead_of_overlapping():
    client = ScriptedClient("stuck", delay=0.4)
    facade = AsyncTorrentClient(client, timeout=0.1)
    with pytest.raises(TimeoutError):
        await facade.stop(["x"])
    facade.timeout = 2
    await facade.start(["y"])
    assert client.most_at_once == 1
    assert client.calls == ["stop x", "start y"]
    facade.close()


async def test_every_method_reaches_the_client_with_its_arguments():
    client = ScriptedClient("all", delay=0)
    facade = AsyncTorrentClient(client)
    assert await facade.add_torrent(make_torrent("t").meta) == AddedTorrent("a" * 40, "x")
    assert await facade.add_magnet(parse_magnet(magnet_for("c" * 40))) == AddedTorrent(
        "b" * 40, None
    )
    assert await facade.erase(["h", "i"], delete_data=True) == {}
    assert await facade.recheck(["h"]) == {}
    assert await facade.reannounce(["i"]) == {}
    assert await facade.add_labels(["h"], ["x"]) == {}
    assert await facade.move(["i"], "/d", False) == {}
    assert await facade.magnet_of("h") == ("magnet:?xt=urn:btih:h", False)
    assert await facade.version() == "Scripted 1.0"
    assert await facade.check_connection() is True
    assert client.calls == [
        "add",
        "magnet",
        "erase h,i True",
        "recheck h",
        "reannounce i",
        "labels [('h', ['x'])]",
        "move i /d False",
        "magnet of h",
        "version",
        "version",
    ]
    client.delay = -1
    assert await facade.check_connection() is False
    facade.close()
