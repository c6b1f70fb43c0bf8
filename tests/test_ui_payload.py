"""What a page receives per refresh (SPEC §7): with 1 000 torrents shown, nothing when nothing
changed, and only the changed rows (one AG Grid transaction) when 10 changed."""

import asyncio
import json

import pytest
from nicegui.testing import User

from tests.api_fixtures import transmission_fields
from tests.ui_fixtures import eventually, make_row, sign_in, the_grid
from torrentdesk.services.live import ServerState, TorrentChanges

pytestmark = pytest.mark.daemon


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


async def test_bytes_per_refresh_with_1000_torrents(ui_app, transmission_clean, user: User) -> None:
    d = transmission_clean
    user_id = ui_app.add_user("alice")
    ui_app.add_server(user_id, **transmission_fields(d, name="idle"))
    await sign_in(user)
    live = ui_app.services.live
    rows = synthetic_rows("bulk-server", 1000)
    live.publish(user_id, TorrentChanges(added=rows))
    await eventually(lambda: len(ui_app.spy.rows(the_grid(user))) == 1000)
    await asyncio.sleep(2.5)  # let the idle daemon's first polls settle

    sent: list[int] = []
    original = user.client.outbox._emit

    async def measuring(message):
        sent.append(len(json.dumps(message[2], default=str)))
        await original(message)

    user.client.outbox._emit = measuring
    # Nothing changes on the real (idle) server for a few polls: nothing is sent.
    await asyncio.sleep(3.5)
    idle_bytes = sum(sent)
    assert idle_bytes == 0, sent

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
    assert 3_000 < changed_bytes < 12_000
    [transaction] = ui_app.spy.transactions(the_grid(user))[-1:]
    assert len(transaction["update"]) == 10 and "add" not in transaction
