"""What no other manager does (SPEC §11): one add to several servers, add rules, URL adds
fetched by the app, and copying or moving torrents between servers — on real daemons."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time

import httpx
import pytest

from tests.api_fixtures import rtorrent_scgi_fields, transmission_fields
from tests.app_process import start_app
from tests.daemons.common import free_port, http_files, wait_until
from tests.daemons.fakes import closed_port
from tests.daemons.swarm import TRANSFER_TIMEOUT, make_seed
from tests.daemons.transmission import running_transmission
from tests.torrent_factory import PIECE_LENGTH, magnet_for, make_real_torrent, make_torrent
from torrentdesk.torrent_input import parse_magnet


def upload_to(api, headers, server_ids, torrent, **params):
    return api.client.post(
        "/torrents/upload",
        params={"server_ids": server_ids, **params},
        files={"file": ("x.torrent", torrent.data, "application/x-bittorrent")},
        headers=headers,
    )


def torrent_on(api, headers, server_id, info_hash):
    response = api.client.get(
        f"/torrents/{info_hash}", params={"server_id": server_id}, headers=headers
    )
    return response.json() if response.status_code == 200 else None


# -- several servers at once --------------------------------------------------------------------


def test_one_upload_reaches_a_transmission_and_an_rtorrent(api, alice, transmission_clean):
    headers, tr, rt = alice
    torrent = make_torrent("to-both.bin")
    response = upload_to(api, headers, [tr["id"], rt["id"]], torrent, start="false", labels="both")
    assert response.status_code == 201, response.text
    results = response.json()["results"]
    assert [(r["server_id"], r["ok"], r["info_hash"], r["name"], r["error"]) for r in results] == [
        (tr["id"], True, torrent.info_hash, "to-both.bin", None),
        (rt["id"], True, torrent.info_hash, "to-both.bin", None),
    ]
    for server in (tr, rt):
        row = torrent_on(api, headers, server["id"], torrent.info_hash)
        assert row["labels"] == ["both"] and row["state"] in ("stopped", "checking", "queued")
    # The .torrent is kept: a later transfer can use the exact metainfo.
    stored = api.services.torrents.metainfo.find(1, torrent.info_hash)
    assert stored is not None and stored.data == torrent.data


def test_several_servers_one_failing_gives_its_own_result(api, alice):
    headers, tr, _ = alice
    with closed_port() as port:
        dead = api.add_server(
            headers, **transmission_fields(type("D", (), {
                "host": "127.0.0.1", "port": port, "username": None, "password": None
            })(), name="dead")
        )  # fmt: skip
        magnet = magnet_for("ab" * 20, "partly") + "&tr=http%3A%2F%2F127.0.0.1%3A9%2Fa"
        response = api.client.post(
            "/torrents", json={"uri": magnet, "server_ids": [dead["id"], tr["id"]]}, headers=headers
        )
        assert response.status_code == 201, response.text
        first, second = response.json()["results"]
        assert first["server_id"] == dead["id"] and first["ok"] is False
        assert first["error"].startswith("dead: ") and second["ok"] is True
        # Every server failing: 502 with the same body.
        response = api.client.post(
            "/torrents", json={"uri": magnet, "server_ids": [dead["id"]]}, headers=headers
        )
        assert response.status_code == 502
        assert response.json()["results"][0]["ok"] is False


def test_server_id_and_server_ids_together_are_422(api, alice):
    headers, tr, rt = alice
    response = api.client.post(
        "/torrents",
        json={"uri": magnet_for("cd" * 20), "server_id": tr["id"], "server_ids": [rt["id"]]},
        headers=headers,
    )
    assert response.status_code == 422
    assert "not both" in response.text


# -- URL adds are fetched by the app ------------------------------------------------------------


def test_url_add_is_fetched_by_the_app_and_private_addresses_are_refused(api, alice):
    headers, tr, _ = alice
    torrent = make_torrent("fetched.bin")
    big = b"d" + b"x" * (10 * 1024 * 1024 + 10)
    with http_files({"/t.torrent": (200, torrent.data), "/big.torrent": (200, big)}) as base:
        body = {"uri": f"{base}/t.torrent", "server_id": tr["id"], "start": False}
        refused = api.client.post("/torrents", json=body, headers=headers)
        assert refused.status_code == 422
        assert "127.0.0.1" in refused.text and "admin" in refused.text
        api.services.torrents.url_fetch_allows_private = lambda: True
        added = api.client.post("/torrents", json=body, headers=headers)
        assert added.status_code == 201, added.text
        # The hash and name are known at once, from the app's own fetch.
        assert added.json()["info_hash"] == torrent.info_hash
        assert added.json()["name"] == "fetched.bin"
        too_big = api.client.post(
            "/torrents", json={**body, "uri": f"{base}/big.torrent"}, headers=headers
        )
        assert too_big.status_code == 422 and "larger than 10 MiB" in too_big.text
        missing = api.client.post(
            "/torrents", json={**body, "uri": f"{base}/nothing"}, headers=headers
        )
        assert missing.status_code == 502 and "HTTP 404" in missing.text


# -- rules -------------------------------------------------------------------------------------


def test_rules_first_match_wins_and_preview_equals_the_add(api, alice):
    headers, tr, rt = alice
    rules = [
        {"match": {"tracker": "linux.example"}, "target": {"server_ids": [rt["id"]]},
         "labels": ["linux"], "download_dir": "/srv/linux"},
        {"match": {"name_regex": "ubuntu"}, "target": {"server_ids": [tr["id"]]}},
        {"match": {"min_size": 1000}, "target": {"server_ids": [tr["id"], rt["id"]]},
         "labels": ["big"]},
    ]  # fmt: skip
    saved = api.client.put("/rules", json=rules, headers=headers)
    assert saved.status_code == 200, saved.text
    assert api.client.get("/rules", headers=headers).json()[0]["labels"] == ["linux"]

    def preview(uri):
        response = api.client.post("/rules/preview", json={"uri": uri}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    tracked = magnet_for("01" * 20, "ubuntu iso") + "&tr=http%3A%2F%2Ftracker.linux.example%2Fa"
    assert preview(tracked) == {
        "rule": 0, "server_ids": [rt["id"]], "labels": ["linux"], "download_dir": "/srv/linux"
    }  # fmt: skip
    assert preview(magnet_for("02" * 20, "Ubuntu desktop"))["rule"] == 1
    # A magnet's size is unknown: no size condition matches it, so no rule does.
    assert preview(magnet_for("03" * 20, "other")) == {
        "rule": None, "server_ids": [], "labels": [], "download_dir": None
    }  # fmt: skip
    torrent = make_torrent("sized.bin", length=5000)
    files = {"file": ("x.torrent", torrent.data, "application/x-bittorrent")}
    shown = api.client.post("/rules/preview", files=files, headers=headers).json()
    assert shown == {
        "rule": 2, "server_ids": [tr["id"], rt["id"]], "labels": ["big"], "download_dir": None
    }  # fmt: skip
    # The add without a server does exactly what the preview said.
    added = upload_to(api, headers, [], torrent, start="false")
    assert added.status_code == 201, added.text
    assert [r["server_id"] for r in added.json()["results"] if r["ok"]] == shown["server_ids"]
    assert torrent_on(api, headers, rt["id"], torrent.info_hash)["labels"] == ["big"]
    # No rule matches: 422 that says what to do.
    unmatched = api.client.post(
        "/torrents", json={"uri": magnet_for("03" * 20, "other")}, headers=headers
    )
    assert unmatched.status_code == 422 and "rule" in unmatched.text


def test_rules_refuse_servers_of_others_and_bad_patterns(api, alice):
    headers, tr, _ = alice
    bob = api.user("bob")
    mine = [{"match": {}, "target": {"server_ids": [tr["id"]]}}]
    assert api.client.put("/rules", json=mine, headers=bob).status_code == 422
    bad = [{"match": {"name_regex": "(unclosed"}, "target": {"server_ids": [tr["id"]]}}]
    response = api.client.put("/rules", json=bad, headers=headers)
    assert response.status_code == 422 and "name_regex" in response.text
    target = {"server_ids": [tr["id"]]}
    for rule, message in [
        ({"match": {"label": "a,b"}}, "rules[0].match.label: a label may not contain commas"),
        ({"match": {"min_size": 10, "max_size": 5}}, "rules[0].match.min_size is above its"),
        ({"labels": [""]}, "rules[0].labels: a label has 1 to 64 characters"),
        ({"download_dir": "rel/dir"}, "rules[0].download_dir: the download directory must be"),
        ({"match": {"bogus": 1}}, "Extra inputs are not permitted"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
    ]:
        response = api.client.put("/rules", json=[{"target": target, **rule}], headers=headers)
        assert response.status_code == 422, rule
        [detail] = response.json()["detail"]
        assert detail["msg"].startswith(message), (rule, detail)
    assert api.client.get("/rules", headers=headers).json() == []  # nothing was stored


# -- transfers -----------------------------------------------------------------------------------


def seeded_on_transmission(api, headers, tr, transmission_clean, name, size=4 * PIECE_LENGTH):
    data, info_hash = make_real_torrent(
        transmission_clean.download_dir, name, [("data.bin", size, True)]
    )
    response = api.client.post(
        "/torrents/upload",
        params={"server_id": tr["id"], "labels": ["keep-me"]},
        files={"file": ("x.torrent", data, "application/x-bittorrent")},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    wait_until(
        lambda: (torrent_on(api, headers, tr["id"], info_hash) or {}).get("progress") == 1.0,
        timeout=30,
        message="source seeding",
    )
    return info_hash


def finished(api, headers, transfer_id):
    return wait_until(
        lambda: (
            t
            if (t := api.client.get(f"/transfers/{transfer_id}", headers=headers).json())[
                "state"
            ]
            in ("done", "failed", "cancelled")
            else None
        ),
        timeout=60,
        message="transfer finished",
    )


def test_copy_transmission_to_rtorrent_on_shared_storage(api, alice, transmission_clean):
    headers, tr, rt = alice
    api.services.transfers.poll_every = 0.2
    info_hash = seeded_on_transmission(api, headers, tr, transmission_clean, "shared-copy")
    response = api.client.post(
        "/transfers",
        json={"server_id": tr["id"], "info_hash": info_hash, "to_server_id": rt["id"],
              "mode": "copy", "same_storage": True},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 202, response.text
    job = finished(api, headers, response.json()["id"])
    assert (job["state"], job["step"], job["error"]) == ("done", "done", None)
    copied = torrent_on(api, headers, rt["id"], info_hash)
    assert copied["progress"] == 1.0 and copied["labels"] == ["keep-me"]
    assert copied["download_dir"] == str(transmission_clean.download_dir)
    assert torrent_on(api, headers, tr["id"], info_hash) is not None  # a copy keeps the source
    steps = [
        a["action"]
        for a in api.client.get("/actions", params={"limit": 20}, headers=headers).json()
        if a["action"].startswith("transfer.")
    ]
    assert sorted(steps) == sorted(
        ["transfer.preflight", "transfer.add", "transfer.verify", "transfer.finish"]
    )
    # The same again: refused before anything changes.
    again = api.client.post(
        "/transfers",
        json={"server_id": tr["id"], "info_hash": info_hash, "to_server_id": rt["id"],
              "same_storage": True},
        headers=headers,
    )  # fmt: skip
    job = finished(api, headers, again.json()["id"])
    assert job["state"] == "failed" and "already has" in job["error"]


def test_move_rtorrent_to_transmission_keeps_the_data(
    api, alice, transmission_clean, rtorrent_clean
):
    headers, tr, rt = alice
    api.services.transfers.poll_every = 0.2
    data, info_hash = make_real_torrent(
        rtorrent_clean.download_dir, "moving", [("a.bin", 3 * PIECE_LENGTH, True)]
    )
    sentinel = rtorrent_clean.download_dir / "neighbour.txt"
    sentinel.write_text("stays")
    response = api.client.post(
        "/torrents/upload",
        params={"server_id": rt["id"]},
        files={"file": ("x.torrent", data, "application/x-bittorrent")},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    wait_until(
        lambda: (torrent_on(api, headers, rt["id"], info_hash) or {}).get("progress") == 1.0,
        timeout=30,
        message="rTorrent seeding",
    )
    response = api.client.post(
        "/transfers",
        json={"server_id": rt["id"], "info_hash": info_hash, "to_server_id": tr["id"],
              "mode": "move", "same_storage": True},
        headers=headers,
    )  # fmt: skip
    job = finished(api, headers, response.json()["id"])
    assert job["state"] == "done", job
    moved = torrent_on(api, headers, tr["id"], info_hash)
    assert moved["progress"] == 1.0
    assert torrent_on(api, headers, rt["id"], info_hash) is None  # the source is gone …
    assert (rtorrent_clean.download_dir / "moving" / "a.bin").stat().st_size == 3 * PIECE_LENGTH
    assert sentinel.read_text() == "stays"  # … without its data


def test_a_move_without_shared_storage_downloads_from_the_swarm_then_drops_the_source(
    api, alice, transmission_clean, rtorrent_clean, opentracker
):
    """Not the same storage: the target downloads the data from the source over a real swarm
    (opentracker on loopback); only once it is complete is the source removed, its data kept."""
    headers, tr, rt = alice
    api.services.transfers.poll_every = 0.2
    seed = make_seed(transmission_clean.download_dir / "seeds", "td-moved.bin", 1024 * 1024,
                     opentracker.announce)  # fmt: skip
    opentracker.allow(seed.info_hash)
    sentinel = seed.directory / "beside.txt"
    sentinel.write_text("not the torrent's")
    response = api.client.post(
        "/torrents/upload",
        params={"server_id": tr["id"], "labels": ["swarm"], "download_dir": str(seed.directory)},
        files={"file": ("x.torrent", seed.data, "application/x-bittorrent")},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    wait_until(
        lambda: (torrent_on(api, headers, tr["id"], seed.info_hash) or {}).get("state")
        == "seeding",
        timeout=30,
        message="the source seeding",
    )
    opentracker.wait_for(seed.info_hash, seeders=1)
    response = api.client.post(
        "/transfers",
        json={"server_id": tr["id"], "info_hash": seed.info_hash, "to_server_id": rt["id"],
              "mode": "move", "same_storage": False},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 202, response.text
    job = wait_until(
        lambda: (
            j
            if (j := api.client.get(f"/transfers/{response.json()['id']}", headers=headers)
                .json())["state"] in ("done", "failed")
            else None
        ),
        timeout=TRANSFER_TIMEOUT,
        interval=0.5,
        message="the target downloaded it and the move finished",
    )  # fmt: skip
    assert (job["state"], job["error"]) == ("done", None)
    moved = torrent_on(api, headers, rt["id"], seed.info_hash)
    assert (moved["progress"], moved["labels"]) == (1.0, ["swarm"])
    assert moved["download_dir"] == str(rtorrent_clean.download_dir)
    downloaded = rtorrent_clean.download_dir / seed.name
    assert downloaded.read_bytes() == (seed.directory / seed.name).read_bytes()
    # The source is gone from its server; its data and the file beside it are not.
    assert torrent_on(api, headers, tr["id"], seed.info_hash) is None
    assert (seed.directory / seed.name).stat().st_size == seed.size
    assert sentinel.read_text() == "not the torrent's"


def test_private_torrent_without_stored_metainfo_is_refused(
    api, alice, transmission_clean, transmission_client
):
    headers, tr, rt = alice
    data, info_hash = make_real_torrent(
        transmission_clean.download_dir, "private-elsewhere", [("p.bin", PIECE_LENGTH, True)]
    )
    from torrentdesk.torrent_input import parse_torrent_file

    transmission_client.add_torrent(parse_torrent_file(data), start=False)  # not through the app
    response = api.client.post(
        "/transfers",
        json={"server_id": tr["id"], "info_hash": info_hash, "to_server_id": rt["id"]},
        headers=headers,
    )
    job = finished(api, headers, response.json()["id"])
    assert job["state"] == "failed" and "private" in job["error"]
    assert torrent_on(api, headers, rt["id"], info_hash) is None


def test_magnet_of_lists_every_tracker(transmission_client, rtorrent_client):
    torrent = make_torrent("trackers.bin", tracker="http://127.0.0.1:9/first")
    for client in (transmission_client, rtorrent_client):
        client.add_torrent(torrent.meta, start=False)
        uri, private = client.magnet_of(torrent.info_hash)
        # As every client writes it: the daemons refuse an encoded "urn%3Abtih%3A".
        assert uri.startswith(f"magnet:?xt=urn:btih:{torrent.info_hash}&dn=trackers.bin&tr=")
        magnet = parse_magnet(uri)
        assert magnet.info_hash == torrent.info_hash and magnet.name == "trackers.bin"
        assert magnet.trackers == ("http://127.0.0.1:9/first",) and private is True


def test_cancelling_a_transfer_stops_it_and_says_what_stays_on_the_target(api, alice):
    headers, tr, rt = alice
    api.services.transfers.poll_every = 0.2
    torrent = make_torrent("never-complete.bin")  # no data anywhere: the target never finishes
    assert upload_to(api, headers, [tr["id"]], torrent, start="false").status_code == 201
    response = api.client.post(
        "/transfers",
        json={"server_id": tr["id"], "info_hash": torrent.info_hash, "to_server_id": rt["id"],
              "mode": "move"},
        headers=headers,
    )  # fmt: skip
    path = f"/transfers/{response.json()['id']}"
    wait_until(
        lambda: api.client.get(path, headers=headers).json()["step"] == "verify",
        timeout=30,
        message="the target downloading",
    )
    cancelled = api.client.delete(path, headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["state"], body["step"], body["error"]) == ("cancelled", "verify", None)
    assert body["left"] == (
        "never-complete.bin stays on seedbox-rt as it got (checking or downloading it)"
    )
    # The move stopped before its finish: the source keeps the torrent, the target has it too.
    assert torrent_on(api, headers, tr["id"], torrent.info_hash) is not None
    assert torrent_on(api, headers, rt["id"], torrent.info_hash) is not None
    cancel_rows = [
        (a["action"], a["ok"], a["server_id"], a["detail"])
        for a in api.client.get("/actions", params={"limit": 20}, headers=headers).json()
        if a["action"] == "transfer.cancel"
    ]
    assert cancel_rows == [("transfer.cancel", True, rt["id"], body["left"])]
    # Its task is gone: nothing changes the job any more, and it cannot be cancelled twice.
    assert api.services.transfers._tasks == {}
    assert api.client.get(path, headers=headers).json()["state"] == "cancelled"
    again = api.client.delete(path, headers=headers)
    assert again.status_code == 409
    assert again.json()["detail"] == "the transfer is cancelled already: nothing to cancel"


@pytest.mark.parametrize("source", ["transmission", "rtorrent"])
def test_a_torrent_added_elsewhere_travels_as_a_rebuilt_magnet_link(
    api, alice, transmission_client, rtorrent_client, source
):
    """No .torrent in the store, none the source hands out: the target gets a magnet link
    rebuilt with the source's trackers, and fetches the metadata itself."""
    headers, tr, rt = alice
    api.services.transfers.poll_every = 0.2
    torrent = make_torrent(f"elsewhere-{source}.bin", tracker="http://127.0.0.1:9/announce")
    client, (source_id, target_id) = {
        "transmission": (transmission_client, (tr["id"], rt["id"])),
        "rtorrent": (rtorrent_client, (rt["id"], tr["id"])),
    }[source]
    client.add_torrent(torrent.meta, start=False)  # not through the app: nothing stored
    response = api.client.post(
        "/transfers",
        json={"server_id": source_id, "info_hash": torrent.info_hash,
              "to_server_id": target_id, "allow_magnet": True},
        headers=headers,
    )  # fmt: skip
    path = f"/transfers/{response.json()['id']}"


    def added_or_failed():
        job = api.client.get(path, headers=headers).json()
        return job if job["step"] == "verify" or job["state"] == "failed" else None

    job = wait_until(
        added_or_failed,
        timeout=30,
        message="the magnet link added to the target",
    )
    assert job["error"] is None, job["error"]
    copied = torrent_on(api, headers, target_id, torrent.info_hash)
    assert (copied["name"], copied["state"], copied["tracker"]) == (
        torrent.name, "metadata", "127.0.0.1"
    )
    adds = [
        a["detail"]
        for a in api.client.get("/actions", params={"limit": 20}, headers=headers).json()
        if a["action"] == "transfer.preflight"
    ]
    assert adds[0].endswith("from a magnet link")
    assert api.client.delete(path, headers=headers).status_code == 200


def test_transfers_of_others_are_404(api, alice):
    headers, tr, rt = alice
    bob = api.user("bob")
    assert api.client.get("/transfers/nope", headers=headers).status_code == 404
    assert api.client.delete("/transfers/" + "x" * 80, headers=bob).status_code == 404
    response = api.client.post(
        "/transfers",
        json={"server_id": tr["id"], "info_hash": "ab" * 20, "to_server_id": rt["id"]},
        headers=bob,
    )
    assert response.status_code == 404


def test_a_transfer_killed_midway_finishes_after_a_restart(
    tmp_path, transmission_clean, rtorrent_clean
):
    """kill -9 while the target downloads (there is no swarm: it waits); after a restart the
    job carries on where it stopped and finishes once the data is there."""
    data_dir = tmp_path / "data"
    port = free_port()
    app = start_app(data_dir, port=port)
    try:
        password = app.admin_password()
        with httpx.Client(base_url=app.base, timeout=30) as http:
            token = http.post("/auth/token", json={"username": "admin", "password": password})
            headers = {"Authorization": f"Bearer {token.json()['token']}"}
            tr_id, rt_id = (
                http.post("/servers", json=fields, headers=headers).json()["id"]
                for fields in (
                    transmission_fields(transmission_clean),
                    rtorrent_scgi_fields(rtorrent_clean),
                )
            )
            data, info_hash = make_real_torrent(
                transmission_clean.download_dir, "survivor", [("s.bin", 2 * PIECE_LENGTH, True)]
            )
            response = http.post(
                "/torrents/upload",
                params={"server_id": tr_id},
                files={"file": ("x.torrent", data)},
                headers=headers,
            )
            assert response.status_code == 201, response.text
            response = http.post(
                "/transfers",
                json={"server_id": tr_id, "info_hash": info_hash, "to_server_id": rt_id},
                headers=headers,
            )
            transfer_id = response.json()["id"]
            wait_until(
                lambda: http.get(f"/transfers/{transfer_id}", headers=headers).json()["step"]
                == "verify",
                timeout=30,
                message="the target downloading",
            )
        app.stop(signal.SIGKILL)

        app = start_app(data_dir, port=port)
        with httpx.Client(base_url=app.base, timeout=30) as http:
            token = http.post("/auth/token", json={"username": "admin", "password": password})
            headers = {"Authorization": f"Bearer {token.json()['token']}"}
            job = http.get(f"/transfers/{transfer_id}", headers=headers).json()
            assert (job["state"], job["step"]) == ("running", "verify")
            # The data arrives (as a swarm would bring it); the target finds it.
            (rtorrent_clean.download_dir / "survivor").mkdir(exist_ok=True)
            shutil.copyfile(
                transmission_clean.download_dir / "survivor" / "s.bin",
                rtorrent_clean.download_dir / "survivor" / "s.bin",
            )
            rtorrent_clean.rpc("d.check_hash", info_hash.upper())
            job = wait_until(
                lambda: (j := http.get(f"/transfers/{transfer_id}", headers=headers).json())[
                    "state"
                ]
                in ("done", "failed")
                and j,
                timeout=60,
                message="the resumed transfer finished",
            )
            assert (job["state"], job["error"]) == ("done", None)
            actions = http.get("/actions", params={"limit": 50}, headers=headers).json()
            adds = [a for a in actions if a["action"] == "transfer.add"]
            assert len(adds) == 1  # the add was not repeated after the restart
    finally:
        app.stop(signal.SIGTERM)


@contextlib.contextmanager
def tmpfs(path, size_mib: int):
    """A small filesystem of its own (root mounts it), so free space differs per server."""
    path.mkdir(parents=True)
    options = ["-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(path)]
    subprocess.run(["mount", *options], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_most_free_space_picks_the_transmission_with_more_room(api, tmp_path):
    headers = api.user("alice")
    with (
        tmpfs(tmp_path / "small" / "downloads", 8),
        tmpfs(tmp_path / "large" / "downloads", 32),
        running_transmission(tmp_path / "small") as small,
        running_transmission(tmp_path / "large") as large,
    ):
        ids = [
            api.add_server(headers, **transmission_fields(d, name=name))["id"]
            for d, name in ((small, "small"), (large, "large"))
        ]
        for order in (ids, ids[::-1]):  # the list's order does not decide
            rules = [{"match": {}, "target": {"most_free_space": order}}]
            assert api.client.put("/rules", json=rules, headers=headers).status_code == 200
            shown = api.client.post(
                "/rules/preview", json={"uri": magnet_for("0a" * 20)}, headers=headers
            ).json()
            assert shown["server_ids"] == [ids[1]], shown
        added = api.client.post(
            "/torrents", json={"uri": magnet_for("0b" * 20), "start": False}, headers=headers
        )
        assert added.status_code == 201, added.text
        assert [r["server_id"] for r in added.json()["results"]] == [ids[1]]


def test_a_pathological_name_pattern_neither_matches_nor_freezes_the_app(api, alice):
    headers, tr, _ = alice
    rules = [
        {"match": {"name_regex": "(a|aa)+$"}, "target": {"server_ids": [tr["id"]]}},
        {"match": {"name_regex": "^a"}, "target": {"server_ids": [tr["id"]]}, "labels": ["2nd"]},
    ]
    assert api.client.put("/rules", json=rules, headers=headers).status_code == 200
    name = "a" * 200 + "!"
    started = time.monotonic()
    shown = api.client.post(
        "/rules/preview", json={"uri": magnet_for("0c" * 20, name)}, headers=headers
    ).json()
    # The first rule's pattern ran out of its time (no match); the second one matched.
    assert shown["rule"] == 1 and shown["labels"] == ["2nd"]
    assert time.monotonic() - started < 5  # `re` would take longer than the universe's age
