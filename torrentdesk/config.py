"""Where torrentdesk keeps its data and which database it uses (SPEC §2)."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "torrentdesk"
DATA_DIR_ENV = "TORRENTDESK_DATA_DIR"
DB_URL_ENV = "TORRENTDESK_DB_URL"
ALLOWED_HOSTS_ENV = "TORRENTDESK_ALLOWED_HOSTS"
TRUSTED_PROXIES_ENV = "TORRENTDESK_TRUSTED_PROXIES"
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


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PRIVATE_UMASK = 0o077  # what the app process creates is its user's alone


def ensure_data_dir(settings: Settings) -> Path:
    """Create the data dir private to this user: it holds keys, password hashes and sessions.
    One that exists is made private again (0700, and 0600 / 0700 for what it holds, NiceGUI's
    storage included), as is a SQLite database kept elsewhere."""
    settings.data_dir.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    make_private(settings.data_dir)
    # os.walk follows no symlinks, and make_private changes none.
    for root, dirs, files in os.walk(settings.data_dir):
        for name in dirs:
            make_private(Path(root, name))
        for name in files:
            make_private(Path(root, name))
    if settings.db_path is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            make_private(settings.db_path.with_name(settings.db_path.name + suffix))
    return settings.data_dir


def make_private(path: Path) -> None:
    """0700 for a directory, 0600 for a file: only when it is ours and not a symlink."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        return
    mode = PRIVATE_DIR_MODE if stat.S_ISDIR(info.st_mode) else PRIVATE_FILE_MODE
    if stat.S_IMODE(info.st_mode) & ~mode:
        path.chmod(stat.S_IMODE(info.st_mode) & mode)


def env_list(name: str) -> list[str]:
    """A list in an environment variable: values separated by commas or spaces."""
    return [value for value in re.split(r"[,\s]+", os.environ.get(name, "")) if value]


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
