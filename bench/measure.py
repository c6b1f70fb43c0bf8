"""The measurements. Each is one function registered with `@measurement`: it gets the `Bench`
(servers, rounds, work dir, the running app) and returns its table rows. They run in the order
they are defined; adding a figure is adding a function.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from tests.daemons.common import free_port, wait_for_port
from torrentdesk.clients import ServerConnection, get_client
from torrentdesk.clients.rtorrent import _MULTICALL_FIELDS
from torrentdesk.clients.transmission import LIST_FIELDS
from torrentdesk.db import open_database
from torrentdesk.services import build_services
from torrentdesk.services.secrets import SecretStore
from torrentdesk.services.servers import ServerFields

from .browser import Chromium, Frame
from .report import Goal, Row, Stats
from .servers import BenchServer, RawControl, split
from .wire import CountingRelay

MS = 1000.0
MIB = 1024 * 1024
# The goals are set at two sizes: 10 000 torrents on 5 servers (the quick run) and
# 50 000 on 10 (the default). A run above LARGE_FROM torrents is held to the large ones.
LARGE_FROM = 20_000


@dataclass
class Bench:
    servers: list[BenchServer]
    rounds: int
    workdir: Path
    log: Callable[[str], None] = print
    cpu_window: float = 60.0  # seconds per daemon CPU reading
    _app: AppProcess | None = field(default=None, repr=False)
    _browser: Chromium | None = field(default=None, repr=False)
    _relay: CountingRelay | None = field(default=None, repr=False)
    # the first main page after signing in (cold cache): the probe's marks
    signed_in_marks: dict = field(default_factory=dict, repr=False)

    @property
    def torrents(self) -> int:
        return sum(s.count for s in self.servers)

    @property
    def large(self) -> bool:
        return self.torrents > LARGE_FROM

    def goal(self, small: Goal | None, large: Goal | None) -> Goal | None:
        """The goal for this run's size."""
        return large if self.large else small

    @property
    def per_10k(self) -> float:
        """This run's torrents in units of 10 000 (per-10k figures divide by it)."""
        return self.torrents / 10_000

    def relay(self) -> CountingRelay:
        """The byte-counting relay the browser reaches the app through (started once)."""
        if self._relay is None:
            self._relay = CountingRelay(int(self.app().base.rsplit(":", 1)[1]))
        return self._relay

    def app(self) -> AppProcess:
        """The real torrentdesk process with every bench server added (started once)."""
        if self._app is None:
            self._app = AppProcess.start(self.workdir / "app", self.servers)
        return self._app

    def browser(self) -> Chromium:
        """Headless Chromium signed in to the app (started once; the first page it shows after
        signing in is recorded as the cold-cache load)."""
        if self._browser is None:
            app = self.app()
            self._browser = Chromium(self.workdir)
            try:
                self._browser.sign_in(self.relay().base, "admin", app.password)
                self.signed_in_marks = self._browser.first_rows()
            except BaseException:
                self._browser.close()
                self._browser = None
                raise
        return self._browser

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._relay is not None:
            self._relay.close()
        if self._app is not None:
            self._app.stop()


MEASUREMENTS: list[Callable[[Bench], list[Row]]] = []


def measurement(fn: Callable[[Bench], list[Row]]) -> Callable[[Bench], list[Row]]:
    MEASUREMENTS.append(fn)
    return fn


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


# -- baseline: the raw library call per server ------------------------------------------------


class Baseline:
    """The fastest plain way to get one server's list: no torrentdesk code in the path."""

    def __init__(self, server: BenchServer) -> None:
        self.server = server
        if server.server_type == "transmission":
            self._rpc = server.transmission_rpc()
            self.what = "transmission-rpc get_torrents"
        elif server.server_type == "qbittorrent":
            self._qbt = server.qbittorrent_api()
            self.what = "qbittorrent-api sync_maindata (full)"
        else:
            self._body = xmlrpc.client.dumps(("", "main", *_MULTICALL_FIELDS), "d.multicall2")
            self.what = "d.multicall2 + xmlrpc.client"

    def fetch(self) -> int:
        if self.server.server_type == "transmission":
            return len(self._rpc.get_torrents(arguments=list(LIST_FIELDS)))
        if self.server.server_type == "qbittorrent":
            return len(self._qbt.sync_maindata(rid=0)["torrents"])
        body = self._body.encode()
        headers = b"CONTENT_LENGTH\x00%d\x00SCGI\x001\x00" % len(body)
        with socket.create_connection((self.server.host, self.server.port), timeout=60) as sock:
            sock.sendall(b"%d:%s,%s" % (len(headers), headers, body))
            reply = b"".join(iter(lambda: sock.recv(1 << 20), b""))
        return len(xmlrpc.client.loads(reply.partition(b"\r\n\r\n")[2])[0][0])


@dataclass
class ServicesUnderTest:
    """torrentdesk's services on a temp data dir, with the bench servers added for one user."""

    services: object
    user_id: int

    @classmethod
    def create(cls, data_dir: Path, servers: list[BenchServer]) -> ServicesUnderTest:
        services = build_services(
            open_database(f"sqlite:///{data_dir / 'torrentdesk.sqlite'}"), SecretStore(data_dir)
        )
        user = services.users.create("bench", "bench-password-123", is_admin=True)
        for s in servers:
            fields = s.api_fields()
            services.servers.create(user.id, ServerFields(**fields))
        return cls(services, user.id)

    async def list_all(self) -> int:
        listing = await self.services.torrents.list(self.user_id)
        failed = [part.error for part in listing if part.error]
        if failed:
            raise RuntimeError(f"torrentdesk could not list a server: {failed[0]}")
        return sum(len(part.torrents) for part in listing)


@measurement
def fetch(bench: Bench) -> list[Row]:
    """Per round: each server's baseline call alone, then torrentdesk's client for that server
    alone; then all the baseline calls at once (one thread each); then torrentdesk's aggregated
    fetch. Ratios are taken per round (same conditions for both) and summarized over rounds.

    The daemons share this machine's CPUs with torrentdesk, unlike real remote servers: the
    CPU they and torrentdesk burn per aggregated fetch is reported, with the raw calls run all
    at once, to tell torrentdesk's cost from the machine's."""
    servers = bench.servers
    baselines = [Baseline(s) for s in servers]
    # torrentdesk's blocking client per server, as its worker thread runs it
    clients = [get_client(_connection_of(s)) for s in servers]
    under_test = ServicesUnderTest.create(bench.workdir / "services-data", servers)
    pool = ThreadPoolExecutor(len(servers))
    base: dict[str, list[float]] = {s.name: [] for s in servers}
    ours: dict[str, list[float]] = {s.name: [] for s in servers}
    figures: dict[str, list[float]] = {
        k: []
        for k in ("slowest", "together", "aggregated", "ratio", "ratio_together", "cpu", "daemons")
    }
    first: list[float] = []

    def all_at_once() -> None:
        for s, future in zip(servers, [pool.submit(b.fetch) for b in baselines], strict=True):
            _check(future.result(), s)

    async def rounds() -> None:
        for n in range(bench.rounds + 1):  # round 0 warms up (and writes the first snapshot)
            alone = []
            for s, b, c in zip(servers, baselines, clients, strict=True):
                alone.append(timed(lambda b=b, s=s: _check(b.fetch(), s)))
                mine = timed(lambda c=c, s=s: _check(len(c.list_torrents()), s))
                if n:
                    base[s.name].append(alone[-1])
                    ours[s.name].append(mine)
            together = timed(all_at_once)
            daemons_before, cpu_before = _cpu_seconds(servers), time.process_time()
            started = time.perf_counter()
            total = await under_test.list_all()
            elapsed = time.perf_counter() - started
            cpu, daemons = time.process_time() - cpu_before, _cpu_seconds(servers) - daemons_before
            if total != bench.torrents:
                raise RuntimeError(f"listed {total} torrents, expected {bench.torrents}")
            if n == 0:
                first.append(elapsed)
                continue
            for key, value in (
                ("slowest", max(alone)),
                ("together", together),
                ("aggregated", elapsed),
                ("ratio", elapsed / max(alone)),
                ("ratio_together", elapsed / together),
                ("cpu", cpu),
                ("daemons", daemons),
            ):
                figures[key].append(value)

    try:
        asyncio.run(rounds())
    finally:
        pool.shutdown()
        under_test.services.close()
        for c in clients:
            c.close()

    n = len(servers)

    def ms(values) -> Stats:
        return Stats.of(x * MS for x in values)

    rows = [
        Row(f"baseline {s.name}: {b.what} ({s.count})", ms(base[s.name]), "ms")
        for s, b in zip(servers, baselines, strict=True)
    ]
    rows += [
        Row(f"torrentdesk client {s.name}.list_torrents()", ms(ours[s.name]), "ms") for s in servers
    ]
    rows += [
        Row("baseline: slowest server per round", ms(figures["slowest"]), "ms"),
        Row(
            f"aggregated fetch: TorrentService.list, {n} servers, {bench.torrents} torrents",
            ms(figures["aggregated"]),
            "ms",
        ),
        Row(
            "aggregated fetch ÷ slowest baseline",
            Stats.of(figures["ratio"]),
            "x",
            bench.goal(Goal(1.0), None),
            note="concurrency should hide all but the slowest server (goal at 10k; at 50k "
            "the daemons' own CPU on this machine's cores bounds it: see the next ratio)",
        ),
        Row("first aggregated fetch (writes every row's snapshot)", ms(first), "ms"),
        Row(
            f"context: all {n} baseline calls at once ({n} threads)", ms(figures["together"]), "ms"
        ),
        Row(
            f"aggregated fetch ÷ all {n} baseline calls at once",
            Stats.of(figures["ratio_together"]),
            "x",
            bench.goal(None, Goal(0.35)),
        ),
        Row(
            "CPU per aggregated fetch, torrentdesk (all threads)",
            ms(figures["cpu"]),
            "ms",
            bench.goal(None, Goal(250)),
        ),
        Row(
            f"context: CPU per aggregated fetch, the {n} daemons",
            ms(figures["daemons"]),
            "ms",
            note=f"daemons and torrentdesk share {os.cpu_count()} CPUs here; remote ones would not",
        ),
    ]
    return rows


def _cpu_seconds(servers: list[BenchServer]) -> float:
    """User + system CPU seconds the daemons have used so far."""
    return sum(_cpu_of(s.pid) for s in servers)


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds process `pid` has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _connection_of(server: BenchServer) -> ServerConnection:
    return ServerConnection(
        name=server.name,
        server_type=server.server_type,  # type: ignore[arg-type]
        host=server.host,
        port=server.port,
        protocol=server.protocol,  # type: ignore[arg-type]
        username=server.username,
        password=server.password,
        timeout=60,
        id=server.name,
    )


def _check(count: int, server: BenchServer) -> None:
    if count != server.count:
        raise RuntimeError(f"{server.name} listed {count} torrents, expected {server.count}")


# -- the real app process over HTTP -----------------------------------------------------------


@dataclass
class AppProcess:
    process: subprocess.Popen
    base: str
    headers: dict
    output: list[str]
    password: str = field(default="", repr=False)  # the admin's, for signing in a browser

    @classmethod
    def start(cls, workdir: Path, servers: list[BenchServer]) -> AppProcess:
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
        env.pop("TORRENTDESK_DB_URL", None)
        env.pop("TORRENTDESK_DATA_DIR", None)
        # This checkout's torrentdesk, not whichever one is installed (it runs from workdir).
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "torrentdesk", "--no-open", "--port", str(port)]
        process = subprocess.Popen(
            [*command, "--data-dir", str(workdir / "data")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=workdir,
        )
        output: list[str] = []
        app = cls(process, f"http://127.0.0.1:{port}", {}, output)
        try:
            password = app.password = app._admin_password()
            threading.Thread(target=app._drain, daemon=True).start()
            wait_for_port(port, process, timeout=60)
            with httpx.Client(base_url=app.base, timeout=60) as http:
                token = http.post(
                    "/auth/token", json={"username": "admin", "password": password}
                ).raise_for_status()
                app.headers = {"Authorization": f"Bearer {token.json()['token']}"}
                for s in servers:
                    http.post(
                        "/servers", json=s.api_fields(), headers=app.headers
                    ).raise_for_status()
        except BaseException:
            app.stop()
            raise
        return app

    def _admin_password(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                break
            self.output.append(line)
            match = re.search(r"created the first user 'admin' with password: (\S+)", line)
            if match:
                return match.group(1)
        raise RuntimeError("torrentdesk printed no admin password:\n" + "".join(self.output))

    def _drain(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)

    def status(self, key: str) -> int:
        """A /proc/PID/status figure (VmHWM, VmRSS) in bytes."""
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no {key} in /proc/{self.process.pid}/status")
        return int(match.group(1)) * 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@measurement
def get_torrents(bench: Bench) -> list[Row]:
    """GET /torrents end to end: token check, the rows (from each server's live snapshot while
    it is younger than its poll interval, else fetched), serialization, the bytes on loopback;
    as a script asks (no compression) and as a browser asks (gzip accepted). No page is open:
    the snapshots are those of the idle polls (every 60 s), so every answer is warm once each
    server has been polled; `fresh_at` tells which were."""
    app = bench.app()
    encodings = {"identity": "no compression", "gzip": "gzip accepted, as browsers ask"}
    times: dict[str, list[float]] = {e: [] for e in encodings}
    wire: dict[str, list[float]] = {e: [] for e in encodings}
    warm = answered = 0
    with httpx.Client(base_url=app.base, timeout=60, headers=app.headers) as http:
        for n in range(bench.rounds + 1):  # round 0 warms up (and writes the first snapshot)
            for encoding in encodings:
                asked = time.time()
                started = time.perf_counter()
                response = http.get("/torrents", headers={"Accept-Encoding": encoding})
                response.raise_for_status()
                elapsed = time.perf_counter() - started
                listing = response.json()
                if n == 0:
                    _check_listing(listing, bench)
                    continue
                times[encoding].append(elapsed)
                wire[encoding].append(response.num_bytes_downloaded)
                for server in listing["servers"]:
                    answered += 1
                    fresh = server.get("fresh_at")
                    warm += bool(fresh) and datetime.fromisoformat(fresh).timestamp() < asked
    rows = []
    for encoding, what in encodings.items():
        rows += [
            Row(
                f"GET /torrents, {bench.torrents} rows, end to end, {what}",
                Stats.of(x * MS for x in times[encoding]),
                "ms",
                bench.goal(Goal(40), Goal(300)) if encoding == "gzip" else None,
                note=f"{warm} of {answered} server answers came from the warm snapshot"
                if encoding == "gzip"
                else "",
            ),
            Row(
                f"GET /torrents bytes on the wire, {what}",
                Stats.of(x / MIB for x in wire[encoding]),
                "MiB",
            ),
        ]
    return rows


def _check_listing(listing: dict, bench: Bench) -> None:
    bad = [s for s in listing["servers"] if s["status"] != "connected"]
    if bad or len(listing["torrents"]) != bench.torrents:
        raise RuntimeError(
            f"GET /torrents listed {len(listing['torrents'])} of {bench.torrents} torrents; "
            f"failing servers: {bad}"
        )


@measurement
def peak_rss(bench: Bench) -> list[Row]:
    """The app's peak RSS (VmHWM) after its listings of every torrent."""
    app = bench.app()
    return [
        Row(
            f"app process peak RSS with {bench.torrents} torrents (VmHWM)",
            Stats.of([app.status("VmHWM") / MIB]),
            "MiB",
            bench.goal(Goal(300, inclusive=False), Goal(350, inclusive=False)),
        )
    ]


# -- the page in headless Chromium ------------------------------------------------------------

POLL_CYCLE = 2.0  # torrentdesk's poll interval while a page is open (services.live)
QUIET_BYTES = 16  # frames this small are socket.io pings, not page updates
# The daemons' own churn (Transmission verifying, ~9 torrents a second per daemon) must end by
# then: at least 420 s, more for bigger daemons, at most 900 s.
STEADY_TIMEOUT = 420.0
STEADY_TIMEOUT_MAX = 900.0
VERIFIED_PER_SECOND = 8.0


@measurement
def refresh_bytes(bench: Bench) -> list[Row]:
    """What an open page receives over NiceGUI's socket.io websocket, read from headless
    Chromium's DevTools log (`Network.webSocketFrameReceived`, payloads after permessage-
    deflate is undone), against the full table push: what a page load delivers, the main page
    document (decoded) plus the websocket messages until the page is quiet (the rows are sent
    over the websocket once the page connects).

    First the daemons must be still on their own: Transmission verifies every added torrent
    (~9 a second per daemon), which changes their state poll after poll; we wait for that.
    Then: every frame received in each of `rounds` windows of one poll cycle (2 s) with
    nothing changed; and per round, 1 % of the torrents spread over every server (started
    before, let settle) stopped with raw daemon calls: every frame from the stop calls until
    the page has received all of those rows, i.e. the one refresh cycle of every server that
    carries the change (rTorrent: its hot tier; Transmission: the recently-active delta)."""
    bench.app()
    controls = [RawControl(s) for s in bench.servers]
    settled = _wait_steady(bench, controls)
    browser = bench.browser()

    driver = browser.driver
    relay = bench.relay()
    driver.get("about:blank")
    browser.drain()
    relay.reset()
    driver.get(relay.base + "/")
    marks = browser.first_rows()
    loading = _until_quiet(browser)
    on_wire = relay.downstream()  # everything the app sent for the load, as sent
    document, wire = marks["decodedBody"], marks["encodedBody"]
    full = document + _size(loading)
    deflate = any("permessage-deflate" in e for e in browser.handshake_extensions)
    rows_json = browser.grid_rows_json_bytes()
    if browser.websockets < 1 or browser.polling_requests:
        raise RuntimeError(
            f"expected updates over a websocket: {browser.websockets} websockets, "
            f"{browser.polling_requests} long-polling requests"
        )

    idle = [_size(browser.received(POLL_CYCLE)) for _ in range(max(bench.rounds, 5))]

    hashes = {c.server.name: c.hashes() for c in controls}
    per_server = split(max(1, bench.torrents // 100), len(controls))
    changed: list[int] = []
    started: list[int] = []
    for n in range(bench.rounds):
        picks = [
            (c, _spread(hashes[c.server.name], k, offset=n))
            for c, k in zip(controls, per_server, strict=True)
            if k
        ]
        wanted = {h for _, hs in picks for h in hs}
        browser.drain()
        for c, hs in picks:
            c.start(hs)
        _wait_daemons(controls, picks, timeout=60)
        started.append(_size(_until_quiet(browser)))
        browser.drain()
        for c, hs in picks:
            c.stop(hs)
        frames = _until_seen(browser, wanted, timeout=30)
        changed.append(_size(frames))

    count = sum(per_server)
    note = "" if settled else "the daemons were still verifying: not a steady state"
    return [
        Row(
            f"full table push: page document + websocket on load, {bench.torrents} rows",
            Stats.of([full / MIB]),
            "MiB",
            note=f"document {document / MIB:.2f} MiB ({wire / MIB:.2f} MiB gzip on the wire), "
            f"websocket {_size(loading) / MIB:.2f} MiB; the rows alone as JSON "
            f"{rows_json / MIB:.2f} MiB",
        ),
        Row(
            "first push per 10 000 rows, raw (document + websocket payloads)",
            Stats.of([full / MIB / bench.per_10k]),
            "MiB",
            Goal(2.5),
        ),
        Row(
            "first push per 10 000 rows, on the wire (every byte the app sent for the load)",
            Stats.of([on_wire / MIB / bench.per_10k]),
            "MiB",
            Goal(1.0),
            note=f"{on_wire / MIB:.2f} MiB in all, counted by a TCP relay; websocket "
            f"permessage-deflate {'negotiated' if deflate else 'NOT negotiated'}",
        ),
        Row(
            "refresh, nothing changed: bytes per 2 s poll cycle",
            Stats.of(idle),
            "B",
            Goal(1),
            note=note,
        ),
        Row(
            "context: steady-state refresh, nothing changed ÷ full push",
            Stats.of(100 * b / full for b in idle),
            "%",
        ),
        Row(
            f"refresh after 1 % changed ({count} stopped on {len(controls)} servers): bytes",
            Stats.of(b / 1000 for b in changed),
            "kB",
        ),
        Row(
            "steady-state refresh, 1 % changed ÷ full push",
            Stats.of(100 * b / full for b in changed),
            "%",
            Goal(2),
        ),
        Row(
            f"context: starting those {count}, every refresh until settled",
            Stats.of(b / 1000 for b in started),
            "kB",
            note="Transmission verifies each, then queues or downloads: several refreshes",
        ),
    ]


@measurement
def first_rows(bench: Bench) -> list[Row]:
    """Navigation start → the first table rows shown, in headless Chromium signed in (the
    session cookie of an earlier sign-in), over `rounds` loads of the main page from
    about:blank with a warm HTTP cache. A script installed before each navigation (CDP
    Page.addScriptToEvaluateOnNewDocument) marks, in performance.now() ms since navigation
    start, when the first `.ag-row` enters the DOM and the animation frame after it (the one
    that paints it): the figure is the latter. The navigation timing splits it into the
    server's page build (responseStart), the document's transfer (responseEnd), the
    scripts and Vue (DOMContentLoaded) and the grid's first render.

    Then, on the last load, scrolling to the end: AG Grid's `ensureIndexVisible(last)` and the
    last displayed row must be rendered with its name."""
    app = bench.app()
    browser = bench.browser()
    driver = browser.driver
    marks: list[dict] = []
    for _ in range(bench.rounds):
        driver.get("about:blank")
        driver.get(bench.relay().base + "/")
        marks.append(browser.first_rows())
        shown = browser.grid_row_count()
        if shown != bench.torrents:
            raise RuntimeError(f"the grid holds {shown} rows, expected {bench.torrents}")
    browser.drain()
    passed, took, found = browser.scroll_to_end()
    if not passed:
        bench.log(f"scrolling to the end failed: {found}")
    cold = bench.signed_in_marks
    n = bench.torrents
    rss = app.status("VmHWM") / MIB

    def ms(key: str) -> Stats:
        return Stats.of(m[key] for m in marks)

    return [
        Row(
            f"headless Chromium: first rows of {n} shown, signed in, warm cache",
            Stats.of(m["shown"] / MS for m in marks),
            "s",
            Goal(1.5, inclusive=False),
            note="navigation start → the frame after the first .ag-row entered the DOM",
        ),
        Row("  timeline: server's first byte of the page", ms("responseStart"), "ms"),
        Row("  timeline: page document received", ms("responseEnd"), "ms"),
        Row("  timeline: first .ag-row in the DOM", ms("inDom"), "ms"),
        Row("  timeline: DOMContentLoaded done", ms("domContentLoaded"), "ms"),
        Row(
            "first rows shown on a cold cache (the first page after signing in)",
            Stats.of([cold["shown"] / MS]),
            "s",
            Goal(2.5, inclusive=False),
            note=f"server's first byte at {cold['responseStart']:.0f} ms",
        ),
        Row(
            f"scrolling to the end shows row {n} with its name (ensureIndexVisible)",
            Stats.of([took]),
            "ms",
            passed=passed,
            note="" if passed else found,
        ),
        Row(
            "app peak RSS once pages have been open (VmHWM)",
            Stats.of([rss]),
            "MiB",
            bench.goal(None, Goal(450, inclusive=False)),
            note=f"after the {bench.rounds + 2} page loads of {n} rows in this run",
        ),
    ]


SERVER_LABELS = {
    "transmission": "Transmission",
    "rtorrent": "rTorrent",
    "qbittorrent": "qBittorrent",
}
PAGE_GONE = 10.0  # NiceGUI drops a closed page after ~3 s; the polls slow at their next tick


@measurement
def daemon_cpu(bench: Bench) -> list[Row]:
    """Each daemon's own CPU (user + system from /proc/PID/stat) over `--cpu-window`, while one
    page is open (every server polled every 2 s: Transmission's recently-active delta,
    rTorrent's hot tier with a full list every 30 s) and while none is (every 60 s, a full
    list each time), in CPU seconds per minute. The goal row is rTorrent's CPU above idle with
    the page open per 30 s, per 10 000 torrents it holds (the issue measured one rTorrent
    with 10 000 torrents)."""
    browser = bench.browser()
    driver = browser.driver
    driver.get("about:blank")
    driver.get(bench.relay().base + "/")
    browser.first_rows()
    time.sleep(POLL_CYCLE * 2)  # into the page's rhythm
    window = bench.cpu_window
    with_page = _cpu_over(bench.servers, window)
    driver.get("about:blank")
    time.sleep(PAGE_GONE)
    without = _cpu_over(bench.servers, window)
    per_minute = 60.0 / window
    rows = []
    for kind in dict.fromkeys(s.server_type for s in bench.servers):
        label = SERVER_LABELS.get(kind, kind)
        servers = [s for s in bench.servers if s.server_type == kind]
        held = sum(s.count for s in servers)
        for what, reading in (("one page open", with_page), ("no page open", without)):
            total = sum(reading[s.name] for s in servers) * per_minute
            rows.append(
                Row(
                    f"{label} daemons' CPU per minute, {what} ({len(servers)} daemons, "
                    f"{held} torrents)",
                    Stats.of([total]),
                    "s",
                    note=f"per daemon {total / len(servers):.2f} s",
                )
            )
    rtorrents = [s for s in bench.servers if s.server_type == "rtorrent"]
    if rtorrents:
        above = [
            (with_page[s.name] - without[s.name]) * 30.0 / window * 10_000 / s.count
            for s in rtorrents
        ]
        rows.append(
            Row(
                "one rTorrent: CPU above idle with one page open, per 30 s per 10 000 torrents",
                Stats.of(above),
                "s",
                Goal(1.3),
                note=f"each holds {rtorrents[0].count} torrents; idle = no page open",
            )
        )
    return rows


def _cpu_over(servers: list[BenchServer], seconds: float) -> dict[str, float]:
    before = {s.name: _cpu_of(s.pid) for s in servers}
    time.sleep(seconds)
    return {s.name: _cpu_of(s.pid) - before[s.name] for s in servers}


def _size(frames: list[Frame]) -> int:
    return sum(f.size for f in frames)


def _spread(hashes: list[str], k: int, offset: int) -> list[str]:
    """`k` of `hashes` evenly spread, a different set for each offset."""
    if not k:
        return []
    stride = max(1, len(hashes) // k)
    return [hashes[(offset + i * stride) % len(hashes)] for i in range(k)]


def _wait_steady(bench: Bench, controls: list[RawControl]) -> bool:
    """Until no daemon verifies or hashes anything (their own changes), at most the steady
    timeout; whether they got there."""
    biggest = max((s.count for s in bench.servers if s.server_type == "transmission"), default=0)
    timeout = min(STEADY_TIMEOUT_MAX, max(STEADY_TIMEOUT, biggest / VERIFIED_PER_SECOND))
    deadline = time.monotonic() + timeout
    last_log = 0.0
    while True:
        busy = {c.server.name: c.busy() for c in controls}
        left = sum(busy.values())
        if not left:
            return True
        if time.monotonic() > deadline:
            bench.log(f"the daemons are still verifying {left} torrents; measuring anyway")
            return False
        if time.monotonic() - last_log > 20:
            last_log = time.monotonic()
            bench.log(f"waiting for the daemons to finish verifying: {left} torrents left")
        time.sleep(2)


def _wait_daemons(controls, picks, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while sum(c.busy(hs) for c, hs in picks):
        if time.monotonic() > deadline:
            raise RuntimeError("the daemons did not finish checking the started torrents")
        time.sleep(0.25)


def _until_quiet(browser: Chromium, timeout: float = 60) -> list[Frame]:
    """Every frame already logged and until one poll cycle (plus a margin) passes with only
    pings."""
    frames = browser.drain()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        window = browser.received(POLL_CYCLE + 0.5)
        frames += window
        if all(f.size <= QUIET_BYTES for f in window):
            return frames
    raise RuntimeError(f"the page did not settle within {timeout:g} s")


def _until_seen(browser: Chromium, wanted: set[str], timeout: float) -> list[Frame]:
    """Every frame until all of `wanted` (info hashes) have arrived, and a moment more for the
    rest of the last server's update."""
    frames: list[Frame] = []
    missing = set(wanted)
    deadline = time.monotonic() + timeout
    while missing:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the page was not told about {len(missing)} changed torrents")
        time.sleep(0.05)
        for frame in browser.drain():
            frames.append(frame)
            missing = {h for h in missing if h not in frame.text}
    time.sleep(0.3)
    return frames + browser.drain()


@contextmanager
def bench_context(
    servers: list[BenchServer], rounds: int, workdir: Path, log=print, cpu_window: float = 60.0
) -> Iterator[Bench]:
    bench = Bench(servers, rounds, workdir, log, cpu_window=cpu_window)
    try:
        yield bench
    finally:
        bench.close()
