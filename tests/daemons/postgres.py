"""A real PostgreSQL server on loopback for the database tests, and the `db_url` fixture that runs
a test against SQLite and against PostgreSQL (SPEC §14: PostgreSQL is a real, tested backend).

One temporary cluster per test session (Debian's `postgresql`: initdb + pg_ctl on a free port,
its socket in its own temp dir), started the first time a test asks for it and removed at the
end; each test gets a database of its own, dropped after it. The server refuses to run as root:
as root the cluster belongs to the `postgres` user and its commands run through `runuser`.
"""

from __future__ import annotations

import glob
import importlib.util
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from .common import free_port, wait_until

BACKENDS = ("sqlite", "postgres")


@dataclass
class PostgresCluster:
    host: str
    port: int
    user: str
    base: Path  # the cluster's data dir is base/data; its socket lives in base
    _pg_bin: Path
    _as_owner: tuple[str, ...]
    _names = itertools.count(1)

    def url(self, database: str) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one statement as the cluster's superuser; its output (tuples only)."""
        done = subprocess.run(
            [*self._as_owner, str(self._pg_bin / "psql"), "-h", str(self.base), "-p",
             str(self.port), "-U", self.user, "-d", database, "-XAtq", "-v", "ON_ERROR_STOP=1",
             "-c", sql],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {done.stderr.strip()}")
        return done.stdout

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new empty database for one test; its URL. Dropped afterwards, connections and all."""
        name = f"td_{os.getpid()}_{next(self._names)}"
        self.psql(f'CREATE DATABASE "{name}"')
        try:
            yield self.url(name)
        finally:
            self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_bin() -> Path:
    """The newest installed PostgreSQL's programs; a failure under CI, else a skip."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    message = None
    if not found:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
    elif importlib.util.find_spec("psycopg2") is None:
        message = "psycopg2 is not installed (pip install -e '.[postgres]')"
    if message:
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return Path(found[-1]).parent


@contextmanager
def running_postgres() -> Iterator[PostgresCluster]:
    """A temporary PostgreSQL cluster on 127.0.0.1 and a free port, trusting local logins."""
    pg_bin = _pg_bin()
    base = Path(tempfile.mkdtemp(prefix="torrentdesk-pg-"))
    as_owner: tuple[str, ...] = ()
    user = os.environ.get("USER") or "postgres"
    if os.geteuid() == 0:  # postgres refuses root: the cluster is the postgres user's
        shutil.chown(base, "postgres", "postgres")
        as_owner, user = ("runuser", "-u", "postgres", "--"), "postgres"
    data = base / "data"
    port = free_port()

    def run(*argv: str) -> None:
        done = subprocess.run([*as_owner, *argv], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}")

    try:
        run(str(pg_bin / "initdb"), "-D", str(data), "-A", "trust", "-U", user, "-E", "UTF8",
            "--no-sync")  # fmt: skip
        # fsync off: a test cluster's durability does not matter, the suite's time does. Many
        # connections: every Pony thread keeps one per test database until it is dropped.
        options = (
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        run(str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-o",
            options, "-w", "start")  # fmt: skip
        cluster = PostgresCluster("127.0.0.1", port, user, base, pg_bin, as_owner)
        wait_until(lambda: cluster.psql("SELECT 1").strip() == "1", timeout=30)
        yield cluster
    finally:
        if (data / "postmaster.pid").exists():
            with suppress(Exception):
                run(str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    with running_postgres() as cluster:
        yield cluster


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a database on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'torrentdesk.sqlite'}"
        return
    cluster = request.getfixturevalue("postgres_cluster")
    with cluster.database() as url:
        yield url
