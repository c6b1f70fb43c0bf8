"""The logic shared by the REST API, the UI and the CLI. Nothing here imports NiceGUI."""

from __future__ import annotations

from dataclasses import dataclass

from pony.orm import Database

from ..clients import DEFAULT_TIMEOUT
from .audit import AuditService
from .auth import AuthService
from .secrets import SecretStore
from .servers import ServerService
from .torrents import ClientPool, TorrentService
from .users import UserService


@dataclass(frozen=True, slots=True)
class Services:
    users: UserService
    auth: AuthService
    servers: ServerService
    torrents: TorrentService
    audit: AuditService

    def close(self) -> None:
        self.torrents.pool.close()


def build_services(
    db: Database, secrets: SecretStore, timeout: float = DEFAULT_TIMEOUT
) -> Services:
    users = UserService(db)
    audit = AuditService(db)
    servers = ServerService(db, secrets, timeout=timeout)
    return Services(
        users=users,
        auth=AuthService(db, users),
        servers=servers,
        torrents=TorrentService(db, servers, audit, ClientPool()),
        audit=audit,
    )
