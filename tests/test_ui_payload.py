"""What a page receives (SPEC §7, §13): the rows packed (one list per field), which the browser's
script unpacks into exactly the grid's fields of every row; per refresh nothing when nothing
changed, and only the changed rows (one AG Grid transaction) when 10 changed."""

import asyncio
import json
import random
import subprocess
from pathlib import Path

import orjson
import pytest
from nicegui.testing import User

from tests.api_fixtures import transmission_fields
from tests.daemons.common import require_tool
from tests.ui_fixtures import eventually, grid_calls, make_row, sign_in, the_grid, unpack_rows
from torrentdesk.services.live import ServerState, TorrentChanges
from torrentdesk.ui import speed as speed_ui
from torrentdesk.ui.torrent_grid import GRID_FIELDS, pack_rows

pytestmark = pytest.mark.daemon

JS = Path(__file__).resolve().parents[1] / "assets" / "torrentdesk.js"
# The page's script as it is (it needs only `window`): unpack each packed message from stdin.
NODE_UNPACK = """
globalThis.window = globalThis;
require(process.argv[1]);
const messages = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(messages.map((m) => window.torrentdesk.unpack(m))));
"""
BROWSER_FIELDS = {"id", "server_id", "server_name", "server_type", *GRID_FIELDS}


def synthetic_rows(server_id: str, count: int) -> list[dict]:
    return [
        make_row(
            server_id,
            i,
            "seeding",
            server_name="bulk",
            name=f"Some.Linux.Distribution.{i}.x86_64.iso",
            size=3_500_000_000 + i,
            downloaded=3_500_000_000 + i,
            uploaded=7_000_000_000,
            ratio=2.0,
            peers=3,
            download_dir="/srv/torrents/complete",
            tracker="tracker.example",
        )
        for i in range(count)
    ]


def odd_rows() -> list[dict]:
    """Rows of three servers with every awkward value the grid meets."""
    rng = random.Random(5)
    rows = []
    for n in range(300):
        server = rng.choice(["a", "b", "c"])
        rows.append(
            make_row(
                server,
                n,
                rng.choice(["downloading", "seeding", "stopped", "checking", "metadata"]),
                server_name=f"Ünï box {server}",
                server_type="rtorrent" if server == "b" else "transmission",
                name=rng.choice([f"plain {n}", f"ΟΔΟΣ “quoted” \\ {n}", '</script><img src=x>']),
                labels=rng.choice([[], ["linux"], ["linux", "iso"], ["$HOME;x", "ünï"]]),
                tracker=rng.choice([None, "tracker.example.org"]),
                error=rng.choice([None, "No data found"]),
                warning=rng.choice([None, "Tracker: [Couldn't connect]"]),
                size=rng.choice([None, 0, 2**53 - 1, 123_456]),
                eta=rng.choice([None, 0, 86_400 * 400]),
                progress=rng.choice([0.0, 1.0, 1 / 3]),
                ratio=rng.choice([0.0, -1.0, 12.5]),
                stale=rng.random() < 0.2,
            )
        )
    return rows


def test_packed_rows_unpack_to_the_grid_fields_of_every_row() -> None:
    rows = odd_rows()
    packed = pack_rows(rows)
    expected = [{k: v for k, v in row.items() if k in BROWSER_FIELDS} for row in rows]
    assert unpack_rows(json.loads(orjson.dumps(packed))) == expected
    # The browser's own script makes the same rows of it (and of an empty batch).
    node = require_tool("node")
    messages = [packed, pack_rows([])]
    done = subprocess.run(
        [node, "-e", NODE_UNPACK, str(JS)],
        input=orjson.dumps(messages),
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert json.loads(done.stdout) == [expected, []]
    # Each server and each distinct state, label set, tracker, error and warning once.
    assert len(packed["servers"]) == 3
    assert sorted(packed["lookups"]["labels"]) == sorted(
        [[], ["linux"], ["linux", "iso"], ["$HOME;x", "ünï"]]
    )


def test_packed_rows_are_a_quarter_of_row_objects_and_grow_linearly() -> None:
    def sizes(n: int) -> tuple[int, int]:
        rows = [
            make_row(f"server-{i % 10}", i, "seeding", name=f"Some.Linux.Distribution.{i}.iso")
            for i in range(n)
        ]
        return len(orjson.dumps(pack_rows(rows))), len(orjson.dumps(rows))

    (small, small_objects), (large, large_objects) = sizes(2_000), sizes(10_000)
    assert small * 4 < small_objects and large * 4 < large_objects
    assert 4.8 < large / small < 5.2  # linear: no per-row part grows with the count
    assert large < 1.5 * 1024 * 1024  # per 10 000 rows


async def test_bytes_per_refresh_with_1000_torrents(
    ui_app, transmission_clean, user: User, monkeypatch
) -> None:
    d = transmission_clean
    # The header's session read (every 10 s) is not the table's: keep it out of the window.
    monkeypatch.setattr(speed_ui, "SESSION_REFRESH", 3600.0)
    user_id = ui_app.add_user("alice")
    ui_app.add_server(user_id, **transmission_fields(d, name="idle"))
    await sign_in(user)
    live = ui_app.services.live
    rows = synthetic_rows("bulk-server", 1000)
    live.publish(user_id, TorrentChanges(added=rows))
    await eventually(lambda: len(ui_app.spy.rows(the_grid(user))) == 1000)
    await asyncio.sleep(2.5)  # let the idle daemon's first polls settle

    sent: list[int] = []
    rows_sent: list[int] = []  # the grid's part
    original = user.client.outbox._emit

    async def measuring(message):
        size = len(json.dumps(message[2], default=str))
        sent.append(size)
        if "torrentdesk.rows(" in str(message[2].get("code")):
            rows_sent.append(size)
        await original(message)

    user.client.outbox._emit = measuring
    # Nothing changes on the real (idle) server for a few polls: nothing is sent.
    await asyncio.sleep(3.5)
    idle_bytes = sum(sent)
    assert idle_bytes == 0, sent

    # The rows went packed, and unpack to the grid's fields only.
    shown = ui_app.spy.rows(the_grid(user))
    assert all(set(row) == BROWSER_FIELDS for row in shown.values())
    assert [c[1] for c in map(grid_calls, ui_app.spy.scripts) if c] == [
        "setGridOption",
        "applyTransaction",
    ]

    # 10 rows change: one transaction with those 10 rows, plus the header and chip texts.
    changed = [
        dict(row, upload_rate=50_000 + i, uploaded=row["uploaded"] + 1)
        for i, row in enumerate(rows[:10])
    ]
    state = ServerState(
        "bulk-server", "bulk", "transmission", "connected", None, 1000, 0, 500_045, False
    )
    live.publish(user_id, TorrentChanges(updated=changed, servers=[state]))
    await eventually(lambda: sum(sent) > 0)
    await asyncio.sleep(0.5)
    changed_bytes = sum(sent)
    print(f"\nbytes per refresh, 1000 torrents: unchanged {idle_bytes}, 10 changed {changed_bytes}")
    assert 1_000 < changed_bytes < 10_000
    assert 1_000 < sum(rows_sent) < 2_500, rows_sent  # ~7 kB as row objects
    [transaction] = ui_app.spy.transactions(the_grid(user))[-1:]
    assert len(transaction["update"]) == 10 and "add" not in transaction
