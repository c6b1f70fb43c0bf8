"""The logic shared by the REST API, the UI and the CLI. Nothing here imports NiceGUI."""

from __future__ import annotations

from dataclasses import dataclass

from pony.orm import Database

from ..clients import DEFAULT_TIMEOUT
from .audit import AuditService
from .auth import AuthService
from .away import AwayLog
from .history import HistoryService
from .live import LiveTorrents
from .secrets import SecretStore
from .server_admin import ServerAdmin
from .servers import ServerService
from .settings import SettingsService
from .speed import SpeedService
from .torrents import ClientPool, TorrentService
from .transfers import TransferService
from .users import UserService
from .views import ViewService


@dataclass(frozen=True, slots=True)
class Services:
    users: UserService
    auth: AuthService
    servers: ServerService
    server_admin: ServerAdmin
    torrents: TorrentService
    audit: AuditService
    history: HistoryService
    live: LiveTorrents
    speed: SpeedService
    settings: SettingsService
    transfers: TransferService
    views: ViewService
    away: AwayLog

    async def start(self) -> None:
        """Start the background polls and carry on unfinished transfers (when the app
        serves)."""
        await self.live.start()
        await self.transfers.resume()

    async def stop(self) -> None:
        await self.transfers.stop()
        await self.live.stop()
        self.close()

    def close(self) -> None:
        self.torrents.pool.close()


def build_services(
    db: Database, secrets: SecretStore, timeout: float = DEFAULT_TIMEOUT
) -> Services:
    users = UserService(db)
    audit = AuditService(db)
    settings = SettingsService(db, audit)
    servers = ServerService(db, secrets, settings, timeout=timeout)
    torrents = TorrentService(db, servers, audit, ClientPool())
    torrents.url_fetch_allows_private = (
        lambda: settings.current().url_fetch_may_reach_local_networks
    )
    history = HistoryService(db)
    away = AwayLog(db)
    return Services(
        users=users,
        auth=AuthService(db, users),
        servers=servers,
        server_admin=ServerAdmin(servers, audit, torrents.pool),
        torrents=torrents,
        audit=audit,
        history=history,
        live=LiveTorrents(db, servers, torrents, history, away),
        speed=SpeedService(db, servers, audit, torrents.pool),
        settings=settings,
        transfers=TransferService(db, torrents, audit),
        views=ViewService(db),
        away=away,
    )
