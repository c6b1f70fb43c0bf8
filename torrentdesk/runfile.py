"""How a running torrentdesk tells local tools where it is: a run file in its data dir.

At start the app writes `DATA_DIR/run.json` (mode 0600, like the keys beside it) with its pid,
its local URL and a random key made for this run. `torrentdesk add` reads it and trades the key
at `POST /auth/local` for an ordinary API token of the user it adds as; anyone who can read the
file can read the database and the keys too, so it grants nothing more. The file goes when the
app stops; a file left by a killed app is recognised by its dead pid or its silent port.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

RUN_FILE = "run.json"
LOCAL_AUTH_PATH = "/auth/local"


@dataclass(frozen=True, slots=True)
class RunInfo:
    pid: int
    url: str  # http://127.0.0.1:PORT: where a local tool reaches the app
    key: str


def local_url(host: str, port: int) -> str:
    """Where a process on this machine reaches an app serving on `host`."""
    if host in ("", "0.0.0.0", "127.0.0.1", "localhost"):
        return f"http://127.0.0.1:{port}"
    if host in ("::", "::1"):
        return f"http://[::1]:{port}"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class LocalControl:
    """This run's key, and its run file."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / RUN_FILE
        self.key = secrets.token_urlsafe(32)

    def accepts(self, candidate: str) -> bool:
        return hmac.compare_digest(self.key.encode(), candidate.encode())

    def write(self, url: str) -> None:
        info = {"pid": os.getpid(), "url": url, "key": self.key}
        # Created 0600 before the key is written: never readable by anyone else.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            os.fchmod(out.fileno(), 0o600)
            json.dump(info, out)

    def remove(self) -> None:
        """Only our own file: another run on the same data dir may have written its own."""
        found = read_run_file(self.path.parent)
        if found is not None and found.key == self.key:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def read_run_file(data_dir: Path) -> RunInfo | None:
    """The run file's contents when it names a live process; None otherwise."""
    try:
        data = json.loads((Path(data_dir) / RUN_FILE).read_text())
        info = RunInfo(int(data["pid"]), str(data["url"]), str(data["key"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if _alive(info.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not ours, but alive
        return True
    return True
