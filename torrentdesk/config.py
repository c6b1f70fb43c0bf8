"""Where torrentdesk keeps its data and which database it uses (SPEC §2)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "torrentdesk"
DATA_DIR_ENV = "TORRENTDESK_DATA_DIR"
DB_URL_ENV = "TORRENTDESK_DB_URL"
DB_FILENAME = "torrentdesk.sqlite"


@dataclass(frozen=True, slots=True)
class TransmissionDefaults:
    """Pre-fills the add-server form for a server type (Transmission's by default)."""

    host: str = "localhost"
    port: int = 9091
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path  # absolute
    db_url: str

    @property
    def db_path(self) -> Path | None:
        """The SQLite file, or None for another database."""
        return sqlite_path(self.db_url)


def load_settings(data_dir: str | os.PathLike | None = None, db_url: str | None = None) -> Settings:
    """Command-line values win over the environment, which wins over the platform default."""
    chosen_dir = data_dir or os.environ.get(DATA_DIR_ENV) or platformdirs.user_data_dir(APP_NAME)
    resolved_dir = Path(chosen_dir).expanduser().resolve()
    url = db_url or os.environ.get(DB_URL_ENV) or f"sqlite:///{resolved_dir / DB_FILENAME}"
    return Settings(data_dir=resolved_dir, db_url=normalize_db_url(url))


def ensure_data_dir(settings: Settings) -> Path:
    """Create the data dir private to this user: it holds keys and the database."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return settings.data_dir


def normalize_db_url(url: str) -> str:
    """Accept sqlite:///path (made absolute) and postgres(ql)://...; reject anything else."""
    path = sqlite_path(url)
    if path is not None:
        return f"sqlite:///{path}"
    if url.startswith(("postgres://", "postgresql://")):
        return url
    raise ValueError(
        f"unsupported database URL {url!r}: use sqlite:///path/to/file.sqlite "
        "or postgres://user:password@host:port/dbname"
    )


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    # Pony resolves relative SQLite paths against its own module, so always go absolute.
    return Path(url.removeprefix("sqlite:///")).expanduser().resolve()


def server_defaults(prefix: str, port: int) -> TransmissionDefaults:
    """PREFIX_HOST, PREFIX_PORT, PREFIX_USERNAME and PREFIX_PASSWORD from the environment."""
    env_port = os.environ.get(f"{prefix}_PORT", "")
    return TransmissionDefaults(
        host=os.environ.get(f"{prefix}_HOST") or "localhost",
        port=int(env_port) if env_port.isdigit() and 0 < int(env_port) < 65536 else port,
        username=os.environ.get(f"{prefix}_USERNAME") or None,
        password=os.environ.get(f"{prefix}_PASSWORD") or None,
    )


def transmission_defaults() -> TransmissionDefaults:
    return server_defaults("TRANSMISSION", 9091)
