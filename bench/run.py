"""torrentdesk at scale: 50 000 torrents on 10 real servers, side by side with the raw baseline.

    .venv/bin/python -m bench.run [--quick] [--torrents 50000] [--transmission 5] [--rtorrent 5]
                                  [--qbittorrent 0] [--rounds 3] [--cpu-window 60]
                                  [--json results.json] [--keep]

`--quick` is 10 000 torrents on 3 Transmission + 2 rTorrent servers (given values still win).

Starts real `transmission-daemon`s and `rtorrent`s on loopback (the test suite's starters),
loads them with synthetic .torrent files (no data), runs every measurement in
`bench/measure.py`, prints one table and exits 0 when every goal is met, 1 when one is missed,
2 when the benchmark itself could not run. Needs the `test` extra installed and the Debian
daemons (`scripts/run-tests.sh` installs both).

Figures are the median of `--rounds` rounds (after one warm-up round that is reported apart
where it differs: the first listing writes every row's snapshot). "± spread" is the median
absolute deviation of the rounds from their median — the run's own noise.

The pass/fail rule: every goal is "lower is better". A figure meets its goal when its median
does; it is "ok (within noise)" when only median - spread does; it is MISSED (exit 1) only when
even median - spread is past the goal. So a goal is failed only when it is missed by more than
the run's own noise. Single readings (peak RSS) have no spread and are compared as they are.
A check (scrolling to the end of the table) that FAILED fails the run as well.

The page figures wait until the daemons stop changing on their own: Transmission verifies every
added torrent, ~9 a second per daemon, so with 2 000 per daemon that takes ~4 minutes (the
fetch and GET /torrents figures are taken meanwhile); with 5 000 per daemon (the default) the
benchmark measures after at most 7 minutes, still verifying, and says so.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import MEASUREMENTS, bench_context
from bench.report import Row, table
from bench.servers import running_servers

FULL = {"torrents": 50_000, "transmission": 5, "rtorrent": 5, "rounds": 3}
QUICK = {"torrents": 10_000, "transmission": 3, "rtorrent": 2, "rounds": 3}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="10 000 torrents on 3 + 2 servers, 3 rounds"
    )
    parser.add_argument("--torrents", type=int, help="in all (default 50000; quick 10000)")
    parser.add_argument(
        "--transmission", type=int, help="transmission-daemons (default 5; quick 3)"
    )
    parser.add_argument("--rtorrent", type=int, help="rtorrents (default 5; quick 2)")
    parser.add_argument(
        "--qbittorrent", type=int, default=0, help="qbittorrent-noxes (default 0)"
    )
    parser.add_argument("--rounds", type=int, help="rounds per figure (default 3)")
    parser.add_argument(
        "--cpu-window",
        type=float,
        default=60.0,
        help="seconds per daemon CPU reading, with and without a page (default 60)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, data)")
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    counts = (args.transmission, args.rtorrent, args.qbittorrent)
    if min(counts) < 0 or sum(counts) == 0:
        parser.error("need at least one server")
    if args.torrents < 1 or args.rounds < 1 or args.cpu_window <= 0:
        parser.error("--torrents, --rounds and --cpu-window must be positive")
    return args


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="torrentdesk-bench-"))
    started = time.monotonic()
    rows: list[Row] = []
    try:
        with (
            running_servers(
                workdir,
                args.transmission,
                args.rtorrent,
                args.torrents,
                log=log,
                qbittorrents=args.qbittorrent,
            ) as servers,
            bench_context(
                servers, args.rounds, workdir, log=log, cpu_window=args.cpu_window
            ) as bench,
        ):
            for measure in MEASUREMENTS:
                log(f"measuring {measure.__name__}")
                rows += measure(bench)
    except Exception as exc:
        log(f"the benchmark could not run: {type(exc).__name__}: {exc}")
        if rows:
            print(table(rows))
        return 2
    finally:
        if args.keep:
            log(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    print(
        f"torrentdesk benchmark: {args.torrents} torrents on {args.transmission} Transmission + "
        f"{args.rtorrent} rTorrent + {args.qbittorrent} qBittorrent servers, "
        f"{args.rounds} rounds, {elapsed:.0f} s"
    )
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in rows], indent=2))
    missed = [r.name for r in rows if r.missed]
    if missed:
        print(f"\nMISSED beyond noise: {'; '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
