"""The live view (SPEC §7): shared background polls, snapshot diffs, deltas, stale rows."""

import asyncio
import contextlib
import shutil
import time

import pytest
import transmission_rpc

from tests.api_fixtures import (
    allow_loopback_servers,
    qbittorrent_fields,
    rtorrent_scgi_fields,
    transmission_fields,
)
from tests.daemons.transmission import running_transmission
from tests.torrent_factory import make_real_torrent, make_torrent
from tests.ui_fixtures import eventually
from torrentdesk.clients import QBittorrentClient, TransmissionClient
from torrentdesk.db import open_database
from torrentdesk.services import build_services
from torrentdesk.services.live import MIN_INTERVAL, TorrentChanges
from torrentdesk.services.secrets import SecretStore
from torrentdesk.services.servers import ServerFields

pytestmark = pytest.mark.daemon


@pytest.fixture
def services(tmp_path, db_url):
    """On SQLite and on PostgreSQL (`db_url`)."""
    built = build_services(open_database(db_url), SecretStore(tmp_path), timeout=2)
    built.live.fast_interval = 1.0
    allow_loopback_servers(built)
    built.users.create("alice", "password-123")
    built.users.create("bob", "password-123")
    yield built
    built.close()


def add_server(services, user_id, fields) -> str:
    return services.servers.create(user_id, ServerFields(**fields)).id


class Recorder:
    """Collects what a subscription receives and waits for what a test expects."""

    def __init__(self) -> None:
        self.batches: list[TorrentChanges] = []
        self.event = asyncio.Event()

    def __call__(self, changes: TorrentChanges) -> None:
        self.batches.append(changes)
        self.event.set()

    async def wait_for(self, predicate, timeout: float = 10.0, what: str = "changes"):
        deadline = time.monotonic() + timeout
        while True:
            for changes in self.batches:
                found = predicate(changes)
                if found:
                    return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{what} not received within {timeout}s: {self.batches}")
            self.event.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self.event.wait()


def rows_by_hash(rows):
    return {row["info_hash"]: row for row in rows}


async def test_changes_reach_only_the_owner_keyed_by_server_and_hash(
    services, transmission_clean, rtorrent_clean
):
    tr = add_server(services, 1, transmission_fields(transmission_clean))
    rt = add_server(services, 1, rtorrent_scgi_fields(rtorrent_clean))
    await services.live.start()
    try:
        alice, bob = Recorder(), Recorder()
        services.live.subscribe(1, alice)
        services.live.subscribe(2, bob)
        torrent = make_torrent("live-one.bin")
        await services.torrents.upload(1, tr, torrent.data, start=False)
        await services.torrents.upload(1, rt, torrent.data, start=False)
        ids = {f"{tr}:{torrent.info_hash}", f"{rt}:{torrent.info_hash}"}
        seen: set[str] = set()

        def both_added(changes):
            seen.update(row["id"] for row in changes.added)
            return ids <= seen

        await alice.wait_for(both_added, what="both rows added")
        rows, states = services.live.view(1)
        by_id = {row["id"]: row for row in rows}
        assert set(by_id) == ids
        assert by_id[f"{rt}:{torrent.info_hash}"]["server_name"] == "seedbox-rt"
        assert by_id[f"{tr}:{torrent.info_hash}"]["server_type"] == "transmission"
        assert {row["stale"] for row in rows} == {False}
        assert "files" not in rows[0]
        assert [(s.name, s.status, s.count) for s in states] == [
            ("seedbox-rt", "connected", 1),
            ("seedbox-tr", "connected", 1),
        ]
        assert services.live.view(2) == ([], [])
        assert not any(c.added or c.updated for c in bob.batches)

        await services.torrents.start(1, torrent.info_hash, rt)
        updated = await alice.wait_for(
            lambda c: next(
                (
                    r
                    for r in c.updated
                    if r["id"] == f"{rt}:{torrent.info_hash}" and r["state"] != "stopped"
                ),
                None,
            ),
            what="started row",
        )
        assert updated["state"] in ("downloading", "checking")

        await services.torrents.remove(1, torrent.info_hash, rt)
        await alice.wait_for(lambda c: f"{rt}:{torrent.info_hash}" in c.removed, what="removal")
        assert {row["id"] for row in services.live.view(1)[0]} == {f"{tr}:{torrent.info_hash}"}
    finally:
        await services.live.stop()


async def test_transmission_is_polled_with_deltas_between_full_lists(
    services, transmission_clean, mocker
):
    tr = add_server(services, 1, transmission_fields(transmission_clean))
    full = mocker.spy(TransmissionClient, "list_torrents")
    delta = mocker.spy(TransmissionClient, "list_active")
    await services.live.start()
    try:
        recorder = Recorder()
        services.live.subscribe(1, recorder)
        torrent = make_torrent("delta.bin")
        await services.torrents.upload(1, tr, torrent.data, start=False)
        await recorder.wait_for(lambda c: c.added, what="added")
        full.reset_mock()
        delta.reset_mock()
        await eventually(lambda: delta.call_count >= 2, message="two fast polls")
        assert full.call_count == 0
        # The removal shows up through the delta's `removed` ids, not a full list.
        await services.torrents.remove(1, torrent.info_hash, tr)
        await recorder.wait_for(lambda c: f"{tr}:{torrent.info_hash}" in c.removed, what="removal")
        full_lists = [c for c in full.call_args_list if not c.args[1:] and not c.kwargs]
        assert full_lists == []
    finally:
        await services.live.stop()


async def test_an_unreachable_server_keeps_its_rows_marked_stale_and_says_why(
    services, transmission_clean, tmp_path
):
    add_server(services, 1, transmission_fields(transmission_clean))
    with running_transmission(tmp_path / "doomed") as doomed:
        doomed_id = add_server(services, 1, transmission_fields(doomed, name="doomed"))
        torrent = make_torrent("will-be-stale.bin")
        await services.torrents.upload(1, doomed_id, torrent.data, start=False)
        await services.live.start()
        try:
            recorder = Recorder()
            services.live.subscribe(1, recorder)
            await recorder.wait_for(lambda c: c.added or services.live.view(1)[0], what="rows")
            doomed.process.terminate()
            doomed.process.wait(10)
            state = await recorder.wait_for(
                lambda c: next(
                    (s for s in c.servers if s.id == doomed_id and s.status == "error"), None
                ),
                what="error state",
            )
            assert state.error.startswith("doomed: cannot connect")
            assert (state.stale, state.count, state.download_rate) == (True, 1, 0)
            rows = rows_by_hash(services.live.view(1)[0])
            assert rows[torrent.info_hash]["stale"] is True
            other = services.live.view(1)[1]
            assert {s.name: s.status for s in other}["seedbox-tr"] == "connected"
            stored = services.servers.get(1, doomed_id)
            assert (stored.status, stored.error) == ("error", state.error)
            # Backoff: a failing server is not hammered every second.
            poller = services.live._pollers[doomed_id]
            assert services.live.interval_for(poller) >= 2.0

            doomed.restart()
            # The daemon answers a moment before it has reloaded its torrents.
            for _ in range(50):
                await services.live.refresh(doomed_id)
                rows = rows_by_hash(services.live.view(1)[0])
                if torrent.info_hash in rows:
                    break
                await asyncio.sleep(0.2)
            assert rows[torrent.info_hash]["stale"] is False
            recovered = services.servers.get(1, doomed_id)
            assert recovered.status == "connected"
            # The poll that saw it back asked its version: its capabilities are known.
            assert recovered.capabilities["move_data"] is True
        finally:
            await services.live.stop()


async def test_after_a_restart_a_dead_servers_last_known_list_comes_from_the_database(
    services, tmp_path
):
    with running_transmission(tmp_path / "brief") as brief:
        server_id = add_server(services, 1, transmission_fields(brief, name="brief"))
        torrent = make_torrent("remembered-across-restarts.bin")
        await services.torrents.upload(1, server_id, torrent.data, start=False)
        await services.torrents.list(1)  # writes the snapshot
    # The daemon is gone; a fresh app (same database) starts, a page already open.
    recorder = Recorder()
    services.live.subscribe(1, recorder)
    await services.live.start()
    try:
        await recorder.wait_for(lambda c: any(s.status == "error" for s in c.servers), what="error")
        rows, states = services.live.view(1)
        assert [(r["info_hash"], r["name"], r["size"], r["stale"]) for r in rows] == [
            (torrent.info_hash, "remembered-across-restarts.bin", torrent.size, True)
        ]
        assert (states[0].status, states[0].stale, states[0].count) == ("error", True, 1)
    finally:
        await services.live.stop()


async def test_a_finished_download_is_announced(services, transmission_clean, tmp_path):
    tr = add_server(services, 1, transmission_fields(transmission_clean))
    staging = tmp_path / "staging"
    data, info_hash = make_real_torrent(staging, "finishing", [("a.bin", 40000, True)])
    await services.live.start()
    try:
        recorder = Recorder()
        services.live.subscribe(1, recorder)
        await services.torrents.upload(1, tr, data, start=False)
        await recorder.wait_for(lambda c: c.added, what="added")
        # The data "arrives", and the daemon verifies it: 0 % -> 100 %.
        shutil.copytree(staging / "finishing", transmission_clean.download_dir / "finishing")
        d = transmission_clean
        with transmission_rpc.Client(
            host=d.host, port=d.port, username=d.username, password=d.password
        ) as rpc:
            rpc.verify_torrent(info_hash)
        finished = await recorder.wait_for(lambda c: c.finished, what="finished", timeout=15)
        assert [(r["info_hash"], r["progress"]) for r in finished] == [(info_hash, 1.0)]
    finally:
        await services.live.stop()


async def test_servers_added_and_removed_start_and_stop_their_polls(services, transmission_clean):
    await services.live.start()
    try:
        recorder = Recorder()
        services.live.subscribe(1, recorder)
        server_id = add_server(services, 1, transmission_fields(transmission_clean))
        await recorder.wait_for(lambda c: any(s.id == server_id for s in c.servers), what="new")
        services.servers.update(1, server_id, {"enabled": False})
        await recorder.wait_for(lambda c: server_id in c.removed_servers, what="disabled")
        assert services.live.view(1) == ([], [])
    finally:
        await services.live.stop()


def test_poll_intervals(services):
    live = services.live
    poller = type("P", (), {"user_id": 1, "failures": 0})()
    assert live.interval_for(poller) == live.idle_interval == 60.0
    subscription = live.subscribe(1, lambda changes: None)
    assert live.interval_for(poller) == 1.0
    poller.failures = 3
    assert live.interval_for(poller) == 8.0
    poller.failures = 50
    assert live.interval_for(poller) == 60.0
    subscription.close()
    poller.failures = 0
    assert live.interval_for(poller) == 60.0
    live.fast_interval = 0.1
    assert (
        type(live)(
            services.torrents._db,
            services.servers,
            services.torrents,
            services.history,
            services.away,
            fast_interval=0.1,
        ).fast_interval
        == MIN_INTERVAL
    )


async def test_qbittorrent_is_polled_through_maindata_deltas(services, qbittorrent_clean, mocker):
    qb = add_server(services, 1, qbittorrent_fields(qbittorrent_clean))
    delta = mocker.spy(QBittorrentClient, "list_active")
    await services.live.start()
    try:
        recorder = Recorder()
        services.live.subscribe(1, recorder)
        torrent = make_torrent("qb-delta.bin")
        await services.torrents.upload(1, qb, torrent.data, start=False)
        await recorder.wait_for(lambda c: c.added, what="added")
        calls = delta.call_count
        await services.torrents.start(1, torrent.info_hash, qb)
        await recorder.wait_for(
            lambda c: any(r["state"] == "downloading" for r in c.updated), what="started"
        )
        assert delta.call_count > calls  # the change came through a delta
        await services.torrents.remove(1, torrent.info_hash, qb)
        await recorder.wait_for(lambda c: f"{qb}:{torrent.info_hash}" in c.removed, what="removal")
    finally:
        await services.live.stop()
