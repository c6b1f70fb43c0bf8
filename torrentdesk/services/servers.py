"""A user's torrent servers: validation, storage with encrypted passwords, status, testing."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime

from pony.orm import Database, db_session
from pony.orm.core import TransactionError

from ..clients import (
    SERVER_KINDS,
    AsyncTorrentClient,
    Capabilities,
    ClientError,
    ServerConnection,
    ServerKind,
    get_client,
    server_kind,
    server_type_labels,
)

# The server-type registry, for the API and the UI (which import nothing from clients/).
__all__ = ["SERVER_KINDS", "ServerKind", "server_kind", "server_type_labels"]
from ..db import WriteConflict, as_utc, least_used_color, utcnow, write_retrying
from .errors import Conflict, InvalidInput, NotFound, quoted
from .secrets import SecretStore
from .settings import AddressNotAllowed, SettingsService

SERVER_TYPES = tuple(SERVER_KINDS)
PROTOCOLS = tuple(sorted({p for kind in SERVER_KINDS.values() for p in kind.protocol_names}))
MAX_NAME_LENGTH = 100
MAX_VERSION_LENGTH = 200
# The columns' sizes (db/models.py); the password is stored encrypted, so longer, but bounded.
MAX_HOST_LENGTH = 255
MAX_USERNAME_LENGTH = 255
MAX_RPC_PATH_LENGTH = 255
MAX_PASSWORD_LENGTH = 1024
_SERVER_ID = re.compile(r"[0-9A-Za-z-]{1,36}")
_UNSAFE_HOST = re.compile(r"[\s\x00-\x1f\x7f/\\?#@]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidField(InvalidInput):
    """A field's value is not acceptable; `field` names it for forms and API errors."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# Field checks, shared by the API's request models and the UI's forms.


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidField("name", "a server needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidField("name", f"a server name has at most {MAX_NAME_LENGTH} characters")
    if _CONTROL.search(name):  # PostgreSQL cannot store a NUL; no name needs any of them
        raise InvalidField("name", "a server name may not contain control characters")
    return name


def check_server_type(server_type: str) -> str:
    if server_type not in SERVER_KINDS:
        raise InvalidField("server_type", f"server_type must be {_one_of(SERVER_TYPES)}")
    return server_type


def check_protocol(protocol: str, server_type: str | None = None) -> str:
    if protocol not in PROTOCOLS:
        raise InvalidField("protocol", f"protocol must be {_one_of(PROTOCOLS)}")
    kind = SERVER_KINDS.get(server_type) if server_type else None
    if kind is not None and protocol not in kind.protocol_names:
        raise InvalidField(
            "protocol",
            f"{kind.label} speaks {' or '.join(kind.protocol_names)}, not {protocol}",
        )
    return protocol


def _one_of(names: tuple[str, ...]) -> str:
    each = [f"'{name}'" for name in names]
    return each[0] if len(each) == 1 else f"{', '.join(each[:-1])} or {each[-1]}"


def check_host(host: str) -> str:
    host = host.strip()
    if not host:
        raise InvalidField("host", "a server needs a host name or address")
    if "://" in host:
        raise InvalidField("host", "give the host alone, without a scheme such as http://")
    if _UNSAFE_HOST.search(host):
        raise InvalidField(
            "host", "the host may not contain a path, spaces, control characters, @ ? or #"
        )
    if len(host) > MAX_HOST_LENGTH:
        raise InvalidField("host", f"the host has at most {MAX_HOST_LENGTH} characters")
    return host


def check_username(username: str | None) -> str | None:
    if username and len(username) > MAX_USERNAME_LENGTH:
        raise InvalidField(
            "username", f"the username has at most {MAX_USERNAME_LENGTH} characters"
        )
    if username and _CONTROL.search(username):
        raise InvalidField("username", "the username may not contain control characters")
    return username


def check_password(password: str | None) -> str | None:
    if password and len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidField(
            "password", f"the password has at most {MAX_PASSWORD_LENGTH} characters"
        )
    if password and "\x00" in password:
        raise InvalidField("password", "the password may not contain a NUL character")
    return password


def check_port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise InvalidField("port", "the port must be between 1 and 65535")
    return port


def check_rpc_path(rpc_path: str | None) -> str | None:
    """None or "" stand for the type's default path."""
    if not rpc_path:
        return rpc_path
    if not rpc_path.startswith("/"):
        raise InvalidField("rpc_path", "the RPC path must start with '/'")
    if re.search(r"[\s\x00-\x1f\x7f]", rpc_path):
        raise InvalidField("rpc_path", "the RPC path may not contain spaces or control characters")
    if len(rpc_path) > MAX_RPC_PATH_LENGTH:
        raise InvalidField(
            "rpc_path", f"the RPC path has at most {MAX_RPC_PATH_LENGTH} characters"
        )
    return rpc_path


def default_rpc_path(server_type: str, protocol: str) -> str | None:
    return server_kind(server_type).rpc_path_for(protocol)


@dataclass(slots=True)
class ServerFields:
    """What a user gives to add a server."""

    name: str
    server_type: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    rpc_path: str | None = None
    protocol: str = "http"
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ServerView:
    """A server as the API and UI see it: never the password."""

    id: str
    name: str
    server_type: str
    protocol: str
    host: str
    port: int
    username: str | None
    rpc_path: str | None
    enabled: bool
    has_password: bool
    status: str  # connected | error | unknown
    error: str | None
    checked_at: datetime | None
    capabilities: Capabilities
    color: str | None  # "#rrggbb", kept for the server's life


@dataclass(frozen=True, slots=True)
class TestResult:
    ok: bool
    status: str  # connected | error
    version: str | None
    latency_ms: float | None
    error: str | None


class ServerService:
    def __init__(
        self,
        db: Database,
        secrets: SecretStore,
        settings: SettingsService,
        timeout: float = 10.0,
    ) -> None:
        self._db = db
        self._secrets = secrets
        self._settings = settings
        self.timeout = timeout
        # Called with the server id after a server is added, edited or removed (from any
        # thread); the live poller listens here.
        self.listeners: list[Callable[[str], None]] = []

    # Storage: short synchronous sessions; call through a thread from async code.

    def create(self, user_id: int, new: ServerFields) -> ServerView:
        values = _checked(new)
        self._check_address(user_id, values["host"])
        with db_session:
            user = self._db.User.get(id=user_id)
            if user is None:
                raise NotFound("no such user")
            password = values.pop("password")
            color = least_used_color(s.color for s in user.servers)
            server = self._db.TorrentServer(user=user, color=color, **values)
            server.password = self._secrets.encrypt(password) if password else None
            server.flush()
            view = _view(server)
        self._notify(view.id)
        return view

    def list(self, user_id: int) -> list[ServerView]:
        with db_session:
            servers = self._db.TorrentServer.select(lambda s: s.user.id == user_id)
            return [_view(s) for s in servers.order_by(lambda s: (s.name, s.created_at))]

    def get(self, user_id: int, server_id: str) -> ServerView:
        with db_session:
            return _view(self._owned(user_id, server_id))

    def update(self, user_id: int, server_id: str, changes: dict) -> ServerView:
        """Fields left out keep their value; password None keeps it, "" clears it. Concurrent
        edits of one server queue up; Conflict if others still get in between every time."""

        def edit() -> ServerView:
            server = self._owned(user_id, server_id, for_update=True)
            merged = ServerFields(
                **{
                    f.name: getattr(server, f.name)
                    for f in fields(ServerFields)
                    if f.name != "password"
                }
            )
            for key, value in changes.items():
                if key != "password":
                    setattr(merged, key, value)
            if server.rpc_path == default_rpc_path(server.server_type, server.protocol) and (
                "rpc_path" not in changes
            ):
                merged.rpc_path = None  # follow the new type/protocol's default
            values = _checked(merged)
            values.pop("password")
            if values["host"] != server.host:
                self._check_address(user_id, values["host"])
            server.set(**values)
            password = changes.get("password")
            if password is not None:
                server.password = self._secrets.encrypt(password) if password else None
            if changes:
                server.last_status, server.last_error, server.last_checked_at = (
                    "unknown",
                    None,
                    None,
                )
            return _view(server)

        view = _written(edit)
        self._notify(view.id)
        return view

    def delete(self, user_id: int, server_id: str) -> ServerView:
        def remove() -> ServerView:
            server = self._owned(user_id, server_id, for_update=True)
            view = _view(server)
            server.delete()
            return view

        view = _written(remove)
        self._notify(view.id)
        return view

    def connection(self, user_id: int, server_id: str) -> ServerConnection:
        with db_session:
            return self._connection(self._owned(user_id, server_id))

    def draft_connection(
        self, user_id: int, draft: ServerFields, stored_password_of: str | None = None
    ) -> ServerConnection:
        """A connection to values not saved yet (a form's); with `stored_password_of` a
        password of None means that server's stored one, as an edit would keep it."""
        values = _checked(draft)
        self._check_address(user_id, values["host"])
        password = draft.password
        if password is None and stored_password_of is not None:
            with db_session:
                stored = self._owned(user_id, stored_password_of).password
            password = self._secrets.decrypt(stored) if stored else None
        return ServerConnection(
            name=values["name"],
            server_type=values["server_type"],
            host=values["host"],
            port=values["port"],
            protocol=values["protocol"],
            username=values["username"],
            password=password or None,
            rpc_path=values["rpc_path"],
            timeout=self.timeout,
        )

    def connections(self, user_id: int, server_ids: set[str]) -> dict[str, ServerConnection]:
        """The connections of those of `server_ids` that are the user's; others are left out."""
        with db_session:
            owned = {}
            for server_id in server_ids:
                server = self._find(server_id)
                if server is not None and server.user.id == user_id:
                    owned[server_id] = self._connection(server)
            return owned

    def enabled_connections(self, user_id: int) -> list[ServerConnection]:
        with db_session:
            servers = self._db.TorrentServer.select(lambda s: s.user.id == user_id and s.enabled)
            return [self._connection(s) for s in servers.order_by(lambda s: s.name)]

    def all_enabled(self) -> list[tuple[int, ServerConnection]]:
        """(owner id, connection) of every enabled server of every user: what gets polled."""
        with db_session:
            servers = self._db.TorrentServer.select(lambda s: s.enabled)
            return [(s.user.id, self._connection(s)) for s in servers]

    def record_status(
        self, server_id: str, error: str | None, version: str | None = None
    ) -> None:
        """The outcome of the last talk with a server; a `version` it reported is kept, and
        its capabilities follow from it."""
        # Written without Pony's optimistic check (see the model): an edit at the same moment
        # neither fails this nor fails by it. A server deleted meanwhile has no status to keep.
        with contextlib.suppress(TransactionError), db_session:
            server = self._db.TorrentServer.get(id=server_id)
            if server is not None:
                server.last_status = "error" if error else "connected"
                server.last_error = error
                server.last_checked_at = utcnow()
                if version:
                    server.version = version[:MAX_VERSION_LENGTH]

    # Talking to the server.

    async def test(self, connection: ServerConnection) -> TestResult:
        """Connect and ask the version; a failure is a result, not an exception."""
        client = AsyncTorrentClient(get_client(connection))
        started = time.perf_counter()
        try:
            version = await client.version()
        except ClientError as exc:
            return TestResult(False, "error", None, None, str(exc))
        finally:
            client.close()
        latency = round((time.perf_counter() - started) * 1000, 1)
        return TestResult(True, "connected", version, latency, None)

    def _check_address(self, user_id: int, host: str) -> None:
        """Whether this user may add a server on `host` (the admin settings, SPEC §14): checked
        when a server is added, its host changed, or values are tested before saving."""
        try:
            self._settings.check_address(host, "server", self._settings.is_admin(user_id))
        except AddressNotAllowed as exc:
            raise InvalidField("host", str(exc)) from None

    def _notify(self, server_id: str) -> None:
        for listener in self.listeners:
            listener(server_id)

    def _find(self, server_id: str, for_update: bool = False):
        # Ids are UUIDs: anything else (over-long, non-ASCII) is no server, not a query error.
        if not isinstance(server_id, str) or not _SERVER_ID.fullmatch(server_id):
            return None
        servers = self._db.TorrentServer
        # For a write, the row is locked as it is read (PostgreSQL's SELECT … FOR UPDATE;
        # SQLite's write lock is already held): concurrent edits queue instead of colliding.
        return (servers.get_for_update if for_update else servers.get)(id=server_id)

    def _owned(self, user_id: int, server_id: str, for_update: bool = False):
        server = self._find(server_id, for_update)
        # Another user's server is as absent as a missing one: never reveal it exists.
        if server is None or server.user.id != user_id:
            raise NotFound(f"no server with id {quoted(str(server_id))}")
        return server

    def _connection(self, server) -> ServerConnection:
        return ServerConnection(
            id=server.id,
            name=server.name,
            server_type=server.server_type,
            host=server.host,
            port=server.port,
            protocol=server.protocol,
            username=server.username,
            password=self._secrets.decrypt(server.password) if server.password else None,
            rpc_path=server.rpc_path,
            timeout=self.timeout,
            version=server.version,
        )


def _written(work: Callable[[], ServerView]) -> ServerView:
    try:
        return write_retrying(work)
    except WriteConflict:
        raise Conflict("others changed this server at the same moment; try again") from None


def _checked(new: ServerFields) -> dict:
    server_type = check_server_type(new.server_type)
    protocol = check_protocol(new.protocol, server_type)
    rpc_path = check_rpc_path(new.rpc_path)
    if protocol == "scgi":
        rpc_path = None  # SCGI has no path
    return {
        "name": check_name(new.name),
        "server_type": server_type,
        "protocol": protocol,
        "host": check_host(new.host),
        "port": check_port(new.port),
        "username": check_username(new.username) or None,
        "password": check_password(new.password) or None,
        "rpc_path": rpc_path or default_rpc_path(server_type, protocol),
        "enabled": bool(new.enabled),
    }


def _view(server) -> ServerView:
    return ServerView(
        id=server.id,
        name=server.name,
        server_type=server.server_type,
        protocol=server.protocol,
        host=server.host,
        port=server.port,
        username=server.username,
        rpc_path=server.rpc_path,
        enabled=server.enabled,
        has_password=bool(server.password),
        status=server.last_status,
        error=server.last_error,
        checked_at=as_utc(server.last_checked_at),
        capabilities=server_kind(server.server_type).capabilities(server.version),
        color=server.color,
    )
