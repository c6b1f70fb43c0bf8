"""Time a same-storage transfer of a real torrent between the two clients (issue: cross-server
powers): `python -m bench.transfer [--mib 100] [--rounds 3]`.

A torrent with MIB of random data seeds on one server; torrentdesk copies it to the other with
`same_storage` (the target verifies the data in place, nothing is downloaded). Reported: the
median seconds from POST to "done", Transmission → rTorrent and rTorrent → Transmission."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from tests.api_fixtures import rtorrent_scgi_fields, transmission_fields
from tests.daemons.rtorrent import running_rtorrent
from tests.daemons.transmission import running_transmission
from tests.torrent_factory import make_real_torrent
from torrentdesk.db import open_database
from torrentdesk.services import build_services
from torrentdesk.services.secrets import SecretStore
from torrentdesk.services.servers import ServerFields


async def _until(predicate, timeout: float = 600.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while not (value := await predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError("the condition was not met")
        await asyncio.sleep(every)
    return value


async def copy_once(services, user: int, source: str, target: str, daemon, name, mib) -> float:
    """Seed a new torrent on `source`, then time its same-storage copy to `target`."""
    data, info_hash = make_real_torrent(daemon.download_dir, name, [("d.bin", mib << 20, True)])
    await services.torrents.upload(user, source, data)
    client = services.torrents.pool.get(services.servers.connection(user, source))

    async def seeding() -> bool:
        return (await client.get_torrent(info_hash)).progress == 1.0

    await _until(seeding)
    started = time.perf_counter()
    job = await services.transfers.create(user, source, info_hash, target, "copy", True)

    async def done() -> bool:
        view = services.transfers.get(user, job.id)
        if view.state == "failed":
            raise RuntimeError(view.error)
        return view.state == "done"

    await _until(done)
    return time.perf_counter() - started


async def measure(workdir: Path, mib: int, rounds: int) -> dict[str, list[float]]:
    with (
        running_transmission(workdir / "tr") as tr_daemon,
        running_rtorrent(workdir / "rt") as rt_daemon,
    ):
        services = build_services(
            open_database(f"sqlite:///{workdir / 'data' / 'bench.sqlite'}"),
            SecretStore(workdir / "data"),
        )
        services.transfers.poll_every = 0.05
        user = services.users.create("bench", "password-123", is_admin=True).id
        tr = services.servers.create(user, ServerFields(**transmission_fields(tr_daemon))).id
        rt = services.servers.create(user, ServerFields(**rtorrent_scgi_fields(rt_daemon))).id
        daemons = {tr: tr_daemon, rt: rt_daemon}
        times: dict[str, list[float]] = {
            "Transmission → rTorrent": [],
            "rTorrent → Transmission": [],
        }
        for n in range(rounds):
            for label, source, target in (
                ("Transmission → rTorrent", tr, rt),
                ("rTorrent → Transmission", rt, tr),
            ):
                name = f"bench-{n}-{source[:4]}"
                seconds = await copy_once(
                    services, user, source, target, daemons[source], name, mib
                )
                times[label].append(seconds)
        await services.transfers.stop()
        services.close()
        return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=100, help="size of the torrent's data")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="td-bench-transfer-") as tmp:
        times = asyncio.run(measure(Path(tmp), args.mib, args.rounds))
    print(f"same-storage copy of a {args.mib} MiB torrent, {args.rounds} rounds (median s):")
    for label, seconds in times.items():
        rounded = ", ".join(f"{s:.2f}" for s in seconds)
        print(f"  {label}: {statistics.median(seconds):.2f} s  ({rounded})")


if __name__ == "__main__":
    main()
