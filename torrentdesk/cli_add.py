"""`torrentdesk add` and `torrentdesk install-desktop`: adding torrents from scripts, file
managers and browsers outside the app.

`add` acts as a user (default: the owner, the first admin, as in the native window). When an app
is running for the data dir (its run file, torrentdesk/runfile.py, names a live process that
answers) it adds through that app's REST API, so open pages see the torrents at once; otherwise
it adds directly through the services. Servers are found by name among the user's servers.

Exit codes: 0 everything was added; 1 some add failed on a server (the others went on);
2 nothing was tried (a file that is not a torrent, no such user or server, no server named among
several); 3 the running app refused or failed the request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .config import Settings
from .runfile import LOCAL_AUTH_PATH, RunInfo, read_run_file
from .torrent_input import MAX_TORRENT_FILE_SIZE, InvalidTorrentInput, parse_torrent_file

OK, FAILED, USAGE, APP_ERROR = 0, 1, 2, 3
HTTP_TIMEOUT = 30.0  # the app answers an add within its per-server timeout (10 s)
DESKTOP_FILE = "torrentdesk-add.desktop"
MIME_TYPES = ("x-scheme-handler/magnet", "application/x-bittorrent")


class UsageError(Exception):
    """Nothing was tried: the message says what to fix."""


class AppError(Exception):
    """The running app refused or failed."""


@dataclass(frozen=True, slots=True)
class Item:
    """One thing to add: a link, or a .torrent file's bytes."""

    text: str  # as given
    link: str | None = None
    data: bytes | None = None
    name: str | None = None  # a .torrent file's own name


@dataclass(frozen=True, slots=True)
class ServerRef:
    id: str
    name: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class Added:
    name: str | None
    info_hash: str | None


def add_parsers(commands, storage: argparse.ArgumentParser) -> None:
    add = commands.add_parser(
        "add",
        help="add magnet links, .torrent URLs or files, through the running app if any",
        parents=[storage],
    )
    add.add_argument("items", nargs="+", metavar="URI|FILE")
    add.add_argument("--user", metavar="NAME", help="add as this user (default: the owner)")
    add.add_argument(
        "--server",
        metavar="NAME",
        action="append",
        default=[],
        help="a server of that user, by name; repeat for several",
    )
    add.add_argument(
        "--label", metavar="L", action="append", default=[], help="a label; repeat for several"
    )
    add.add_argument("--paused", action="store_true", help="add without starting")
    add.add_argument(
        "--notify",
        action="store_true",
        help="also say the outcome as a desktop notification (notify-send), as the .desktop "
        "handler does",
    )
    commands.add_parser(
        "install-desktop",
        help="make torrentdesk the desktop's magnet: and .torrent handler (Linux)",
        parents=[storage],
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "install-desktop":
        return install_desktop(settings, explicit_data_dir=_explicit_data_dir(args))
    report = Report(notify=args.notify)
    try:
        items = [read_item(text) for text in args.items]
        code = asyncio.run(_add_all(settings, args, items, report))
    except UsageError as exc:
        report.error(str(exc))
        code = USAGE
    except AppError as exc:
        report.error(str(exc))
        code = APP_ERROR
    report.finish()
    return code


# -- what to add --


def read_item(text: str) -> Item:
    """A magnet link or http(s) URL as it is; a path (or file:// URI) read and checked."""
    if text.lower().startswith(("magnet:", "http://", "https://")):
        return Item(text, link=text)
    path = Path(unquote(urlsplit(text).path)) if text.startswith("file://") else Path(text)
    try:
        with path.open("rb") as source:
            data = source.read(MAX_TORRENT_FILE_SIZE + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {text}: {exc.strerror or exc}") from None
    if len(data) > MAX_TORRENT_FILE_SIZE:
        raise UsageError(f"{text} is larger than 10 MiB: not a .torrent file")
    try:
        meta = parse_torrent_file(data)
    except InvalidTorrentInput as exc:
        raise UsageError(f"{text}: {exc}") from None
    return Item(text, data=data, name=meta.name)


BY_RULES = None  # no server named among several: the user's add rules choose (SPEC §11)


def choose_servers(named: list[str], servers: list[ServerRef]) -> list[ServerRef] | None:
    """The servers named (each must be the user's), else the one enabled server, else BY_RULES:
    the add rules choose (and an add no rule matches is a usage error listing the servers)."""
    if named:
        chosen = []
        for name in named:
            matches = [s for s in servers if s.name == name] or [
                s for s in servers if s.name.casefold() == name.casefold()
            ]
            if not matches:
                known = ", ".join(s.name for s in servers) or "none"
                raise UsageError(f"no server named {name!r} (this user's servers: {known})")
            if len(matches) > 1:
                raise UsageError(f"several servers are named {name!r}: rename one in the app")
            chosen.append(matches[0])
        return list({s.id: s for s in chosen}.values())
    enabled = [s for s in servers if s.enabled]
    if len(enabled) == 1:
        return enabled
    if not enabled:
        raise UsageError("this user has no enabled server: add one in the app first")
    return BY_RULES


def no_rule_matches(item: Item, servers: list[ServerRef]) -> UsageError:
    enabled = [s for s in servers if s.enabled]
    names = ", ".join(s.name for s in enabled)
    return UsageError(
        f"{len(enabled)} servers ({names}) and none of your add rules matches "
        f"{_short(item.text)}: say which with --server NAME, or add a rule in the app"
    )


# -- adding --


class Report:
    """Result lines on stdout, errors on stderr; with `notify`, a desktop notification too."""

    def __init__(self, notify: bool = False) -> None:
        self.notify = notify
        self.lines: list[str] = []
        self.failed = False

    def added(self, item: Item, server: ServerRef, added: Added) -> None:
        name = added.name or item.name or _short(item.text)
        line = f"added {name} to {server.name}" + (
            f" ({added.info_hash})" if added.info_hash else ""
        )
        print(line, flush=True)
        self.lines.append(line)

    def error(self, message: str) -> None:
        print(f"torrentdesk: {message}", file=sys.stderr, flush=True)
        self.lines.append(message)
        self.failed = True

    def note(self, message: str) -> None:
        print(f"torrentdesk: {message}", file=sys.stderr, flush=True)

    def finish(self) -> None:
        if not self.notify or not self.lines or not shutil.which("notify-send"):
            return
        title = "torrentdesk: could not add" if self.failed else "torrentdesk: added"
        subprocess.run(
            ["notify-send", "--app-name=torrentdesk", title, "\n".join(self.lines[:10])],
            check=False,
            timeout=10,
        )


async def _add_all(settings: Settings, args, items: list[Item], report: Report) -> int:
    running = await asyncio.to_thread(_running_app, settings.data_dir)
    if running is not None:
        report.note(f"adding through the running app at {running.url}")
        adder = await ApiAdder.open(running, args.user)
    else:
        report.note(f"no app running for {settings.data_dir}: adding directly")
        adder = await asyncio.to_thread(DirectAdder.open, settings, args.user)
    try:
        servers = await adder.servers()
        by_id = {s.id: s for s in servers}
        chosen = choose_servers(args.server, servers)
        code = OK
        for item in items:
            if chosen is BY_RULES:
                outcomes = await adder.add_by_rules(item, not args.paused, args.label)
                if outcomes is None:
                    raise no_rule_matches(item, servers)
            else:
                start = not args.paused
                outcomes = [
                    (server.id, await _outcome(adder.add(server, item, start, args.label)))
                    for server in chosen
                ]
            for server_id, outcome in outcomes:
                server = by_id.get(server_id) or ServerRef(server_id, server_id, True)
                if isinstance(outcome, AddFailed):
                    report.error(f"could not add {_short(item.text)} to {server.name}: {outcome}")
                    code = FAILED
                else:
                    report.added(item, server, outcome)
        return code
    finally:
        await adder.close()


async def _outcome(adding) -> Added | AddFailed:
    try:
        return await adding
    except AddFailed as exc:
        return exc


def _outcomes(results: list[dict]) -> list[tuple[str, Added | AddFailed]]:
    """The API's per-server results of an add to several servers."""
    return [
        (
            r["server_id"],
            Added(r.get("name"), r.get("info_hash")) if r["ok"] else AddFailed(r.get("error")),
        )
        for r in results
    ]


class AddFailed(Exception):
    """One add failed on its server; the message says why."""


def _running_app(data_dir: Path) -> RunInfo | None:
    """The app running for this data dir, when its run file names a live process that answers."""
    import httpx

    info = read_run_file(data_dir)
    if info is None:
        return None
    try:
        reply = httpx.get(f"{info.url}/health", timeout=5.0)
    except httpx.HTTPError:
        return None
    return info if reply.status_code == 200 else None


class ApiAdder:
    """Through the running app's REST API, with a token for the user got with the run key."""

    def __init__(self, http, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers

    @classmethod
    async def open(cls, info: RunInfo, username: str | None) -> ApiAdder:
        import httpx

        http = httpx.AsyncClient(base_url=info.url, timeout=HTTP_TIMEOUT)
        params = {"username": username} if username else {}
        reply = await http.post(
            LOCAL_AUTH_PATH, params=params, headers={"Authorization": f"Bearer {info.key}"}
        )
        if reply.status_code == 404:
            await http.aclose()
            raise UsageError(_detail(reply))
        if reply.status_code != 200:
            await http.aclose()
            raise AppError(f"the running app refused the run file's key: {_detail(reply)}")
        return cls(http, {"Authorization": f"Bearer {reply.json()['token']}"})

    async def servers(self) -> list[ServerRef]:
        reply = await self.http.get("/servers", headers=self.headers)
        if reply.status_code != 200:
            raise AppError(f"listing the servers failed: {_detail(reply)}")
        return [ServerRef(s["id"], s["name"], s["enabled"]) for s in reply.json()]

    async def add(self, server: ServerRef, item: Item, start: bool, labels: list[str]) -> Added:
        if item.link is not None:
            body = {"uri": item.link, "server_id": server.id, "start": start, "labels": labels}
            reply = await self.http.post("/torrents", json=body, headers=self.headers)
        else:
            params = {"server_id": server.id, "start": str(start).lower(), "labels": labels}
            files = {"file": ("file.torrent", item.data, "application/x-bittorrent")}
            reply = await self.http.post(
                "/torrents/upload", params=params, files=files, headers=self.headers
            )
        if reply.status_code != 201:
            raise AddFailed(_detail(reply))
        body = reply.json()
        return Added(body.get("name"), body.get("info_hash"))

    async def add_by_rules(
        self, item: Item, start: bool, labels: list[str]
    ) -> list[tuple[str, Added | AddFailed]] | None:
        """No server named: the app's add rules choose; None when none matches."""
        if item.link is not None:
            body = {"uri": item.link, "start": start, "labels": labels}
            reply = await self.http.post("/torrents", json=body, headers=self.headers)
        else:
            params = {"start": str(start).lower(), "labels": labels}
            files = {"file": ("file.torrent", item.data, "application/x-bittorrent")}
            reply = await self.http.post(
                "/torrents/upload", params=params, files=files, headers=self.headers
            )
        if reply.status_code in (201, 502) and "results" in reply.json():
            return _outcomes(reply.json()["results"])
        if reply.status_code == 422 and "add rules" in reply.text:
            return None
        raise AppError(f"the running app refused the add: {_detail(reply)}")

    async def close(self) -> None:
        await self.http.delete("/auth/token", headers=self.headers)
        await self.http.aclose()


class DirectAdder:
    """Through the services, on the data dir's database (no app is running)."""

    def __init__(self, services, user_id: int) -> None:
        self.services = services
        self.user_id = user_id

    @classmethod
    def open(cls, settings: Settings, username: str | None) -> DirectAdder:
        from .db import open_database
        from .services import build_services
        from .services.errors import NotFound
        from .services.secrets import SecretStore

        services = build_services(open_database(settings.db_url), SecretStore(settings.data_dir))
        try:
            user = services.users.get(username) if username else services.users.owner()
        except NotFound as exc:
            services.close()
            raise UsageError(str(exc)) from None
        if user is None:
            services.close()
            raise UsageError("there is no admin account to act as: name a user with --user")
        return cls(services, user.id)

    async def servers(self) -> list[ServerRef]:
        views = await asyncio.to_thread(self.services.servers.list, self.user_id)
        return [ServerRef(v.id, v.name, v.enabled) for v in views]

    async def add(self, server: ServerRef, item: Item, start: bool, labels: list[str]) -> Added:
        from .services.errors import UserFacingError

        torrents = self.services.torrents
        try:
            if item.link is not None:
                result = await torrents.add(self.user_id, server.id, item.link, start, labels)
            else:
                result = await torrents.upload(self.user_id, server.id, item.data, start, labels)
        except (UserFacingError, InvalidTorrentInput) as exc:
            raise AddFailed(str(exc)) from None
        return Added(result.name, result.info_hash)

    async def add_by_rules(
        self, item: Item, start: bool, labels: list[str]
    ) -> list[tuple[str, Added | AddFailed]] | None:
        """No server named: the add rules choose; None when none matches."""
        from .services.errors import InvalidInput, UserFacingError

        torrents = self.services.torrents
        try:
            if item.link is not None:
                source = await torrents.source_of(item.link)
            else:
                source = await asyncio.to_thread(parse_torrent_file, item.data)
            _, results = await torrents.add_by_rules(self.user_id, source, start, labels)
        except InvalidInput as exc:
            if "add rules" in str(exc):
                return None
            raise AddFailed(str(exc)) from None
        except (UserFacingError, InvalidTorrentInput) as exc:
            raise AddFailed(str(exc)) from None
        return [
            (r.server_id, Added(r.name, r.info_hash) if r.ok else AddFailed(str(r.error)))
            for r in results
        ]

    async def close(self) -> None:
        self.services.close()


def _detail(reply) -> str:
    try:
        detail = reply.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, list):  # FastAPI's validation format
        detail = "; ".join(str(e.get("msg", e)) for e in detail)
    return str(detail or f"HTTP {reply.status_code}")


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the desktop entry --


def _explicit_data_dir(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "data_dir", None) or os.environ.get("TORRENTDESK_DATA_DIR"))


def command_line() -> list[str]:
    """How the desktop runs this torrentdesk: the frozen executable, the `torrentdesk` script
    beside this Python, or this Python with -m."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = Path(sys.executable).parent / "torrentdesk"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "torrentdesk"]


def desktop_quote(arg: str) -> str:
    """An Exec argument as the Desktop Entry spec quotes it."""
    escaped = arg.replace("%", "%%")
    if not any(c in escaped for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return escaped
    for char in ("\\", '"', "`", "$"):
        escaped = escaped.replace(char, "\\" + char)
    return f'"{escaped}"'


def desktop_entry(command: list[str], icon: Path | None) -> str:
    exec_line = " ".join(desktop_quote(a) for a in [*command, "add", "--notify"]) + " %u"
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Name=torrentdesk",
        "GenericName=BitTorrent servers",
        "Comment=Add magnet links and .torrent files to your torrent servers",
        f"Exec={exec_line}",
        "Terminal=false",
        "NoDisplay=true",
        "Categories=Network;FileTransfer;P2P;",
        f"MimeType={';'.join(MIME_TYPES)};",
    ]
    if icon is not None:
        lines.insert(5, f"Icon={icon}")
    return "\n".join(lines) + "\n"


def _icon() -> Path | None:
    package = Path(__file__).resolve().parent
    for folder in (package / "assets", package.parent / "assets"):
        if (folder / "favicon.svg").is_file():
            return folder / "favicon.svg"
    return None


def install_desktop(
    settings: Settings,
    explicit_data_dir: bool = False,
    run_command: Callable[[list[str]], subprocess.CompletedProcess] | None = None,
) -> int:
    """Write the .desktop entry and make it the default handler where xdg-mime is found."""
    if not sys.platform.startswith("linux"):
        print("torrentdesk: install-desktop is for Linux desktops", file=sys.stderr)
        return USAGE
    run_command = run_command or (
        lambda argv: subprocess.run(argv, capture_output=True, text=True, timeout=30)
    )
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    folder = data_home / "applications"
    folder.mkdir(parents=True, exist_ok=True)
    command = command_line()
    if explicit_data_dir:
        command += ["--data-dir", str(settings.data_dir)]
    path = folder / DESKTOP_FILE
    path.write_text(desktop_entry(command, _icon()))
    print(f"wrote {path}")
    print(f"  runs: {shlex.join(command)} add --notify <link or file>")
    code = OK
    if shutil.which("xdg-mime"):
        for mime in MIME_TYPES:
            done = run_command(["xdg-mime", "default", DESKTOP_FILE, mime])
            if done.returncode == 0:
                print(f"set as the default for {mime} (xdg-mime)")
            else:
                message = (done.stderr or done.stdout or "").strip() or f"exit {done.returncode}"
                print(f"torrentdesk: xdg-mime could not set {mime}: {message}", file=sys.stderr)
                code = FAILED
    else:
        print(
            "xdg-mime was not found (Debian: apt install xdg-utils): choose torrentdesk as the "
            "handler of magnet links and .torrent files in your desktop's settings"
        )
    if shutil.which("update-desktop-database"):
        run_command(["update-desktop-database", str(folder)])
        print(f"updated the desktop database of {folder}")
    return code
