"""GET /torrents reads the warm snapshot (SPEC §13): a server's rows come from the live poller's
snapshot while it is younger than that server's poll interval, and are fetched afresh
otherwise; `fresh_at` says per server when its rows were read."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests.api_fixtures import transmission_fields
from tests.daemons.common import wait_until
from tests.torrent_factory import make_torrent

pytestmark = pytest.mark.daemon


def fresh_at(body: dict, server_id: str) -> float:
    [server] = [s for s in body["servers"] if s["id"] == server_id]
    assert server["status"] == "connected", server
    return datetime.fromisoformat(server["fresh_at"]).timestamp()


def test_the_listing_answers_from_a_young_snapshot_and_fetches_an_old_one(
    api, transmission_clean
) -> None:
    d = transmission_clean
    headers = api.user("alice")
    server_id = api.add_server(headers, **transmission_fields(d))["id"]
    live = api.services.live
    api.client.portal.call(live.start)  # the background polls, in the app's event loop
    try:
        poller = wait_until(
            lambda: (p := live._pollers.get(server_id)) and p.last_read_at and p,
            message="the first poll",
        )
        known = make_torrent("known to the snapshot")
        d.raw().add_torrent(known.data, paused=True)
        api.client.portal.call(live.refresh, server_id)
        read_at = poller.last_read_at

        # Added behind torrentdesk's back: the next poll would see it; the snapshot does not.
        outside = make_torrent("added from outside")
        d.raw().add_torrent(outside.data, paused=True)
        asked = time.time()
        body = api.client.get("/torrents", headers=headers).json()
        assert [t["name"] for t in body["torrents"]] == ["known to the snapshot"]
        assert fresh_at(body, server_id) == pytest.approx(read_at, abs=0.001)
        assert read_at < asked
        # Gzipped as browsers ask, from each server's rows compressed once per snapshot.
        plain = {**headers, "Accept-Encoding": "identity"}
        zipped = {**headers, "Accept-Encoding": "gzip, deflate, br"}
        first, again = (api.client.get("/torrents", headers=zipped) for _ in range(2))
        assert first.headers["content-encoding"] == "gzip" and first.content == again.content
        assert first.json() == api.client.get("/torrents", headers=plain).json() == body
        assert "content-encoding" not in api.client.get("/torrents", headers=plain).headers
        assert set(body["torrents"][0]) == set(
            api.client.get(f"/torrents/{known.info_hash}", headers=headers).json()
        )  # the same row as a fetched one: no page-only fields

        # The snapshot is now older than the poll interval (60 s with no page open): fetched.
        poller.last_poll -= live.interval_for(poller)
        asked = time.time()
        body = api.client.get("/torrents", headers=headers).json()
        names = sorted(t["name"] for t in body["torrents"])
        assert names == ["added from outside", "known to the snapshot"]
        assert fresh_at(body, server_id) >= asked
        assert body["servers"][0]["count"] == 2
    finally:
        api.client.portal.call(live.stop)


def test_a_failing_server_is_fetched_and_has_no_fresh_at(api, transmission_clean) -> None:
    headers = api.user("alice")
    fields = transmission_fields(transmission_clean, name="wrong password", password="nope")
    server_id = api.add_server(headers, **fields)["id"]
    live = api.services.live
    api.client.portal.call(live.start)
    try:
        wait_until(
            lambda: (p := live._pollers.get(server_id)) and p.status == "error",
            message="the failed poll",
        )
        body = api.client.get("/torrents", headers=headers).json()
        [server] = body["servers"]
        assert (server["status"], server["fresh_at"], server["count"]) == ("error", None, 0)
        assert "wrong password" in server["error"]
    finally:
        api.client.portal.call(live.stop)
