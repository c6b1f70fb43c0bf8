"""A fresh torrentdesk API per test: its own data dir, database and services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pony.orm import Database, db_session

from torrentdesk.api import install_api
from torrentdesk.db import open_database
from torrentdesk.services import Services, build_services
from torrentdesk.services.secrets import SecretStore

API_TIMEOUT = 2.0  # per-server timeout in these tests: black holes must not slow the suite


def query(db: Database, sql: str, params: dict | None = None) -> list[tuple]:
    """Rows of raw SQL on either backend: `$name` parameters; unquoted table names (PostgreSQL
    folds them to Pony's lower-case names); quote "user", a keyword in PostgreSQL."""
    with db_session:
        return [tuple(row) for row in db.execute(sql, params or {}).fetchall()]


@dataclass
class Api:
    client: TestClient
    services: Services
    data_dir: object
    db: Database

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        return query(self.db, sql, params)

    def sign_in(self, username: str, password: str = "password-123") -> dict:
        response = self.client.post(
            "/auth/token", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def user(self, username: str, admin: bool = False) -> dict:
        """Create a user and return the headers of a signed-in session."""
        self.services.users.create(username, "password-123", is_admin=admin)
        return self.sign_in(username)

    def add_server(self, headers: dict, **fields) -> dict:
        response = self.client.post("/servers", json=fields, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()


def allow_loopback_servers(services: Services) -> None:
    """The test daemons listen on 127.0.0.1, which only admins may add by default (SPEC §14):
    the tests' installs let everyone, as an admin can (tests/test_admin_settings.py checks
    the default)."""
    services.settings.save({"users_may_add_loopback_servers": True})


@pytest.fixture
def api(tmp_path, db_url) -> Iterator[Api]:
    """On SQLite and on PostgreSQL (`db_url`)."""
    data_dir = tmp_path / "data"
    db = open_database(db_url)
    services = build_services(db, SecretStore(data_dir), timeout=API_TIMEOUT)
    allow_loopback_servers(services)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)  # as NiceGUI makes its app
    install_api(app, services)
    with TestClient(app) as client:
        yield Api(client, services, data_dir, db)
    services.close()
    release_services(app)


def release_services(app) -> None:
    """Let a test's services and database go: FastAPI's module-level routers keep every app
    they were included in, and through its state the services, the database and one SQLite
    or PostgreSQL connection per thread that used it (~5 descriptors a test, thousands in a
    run)."""
    del app.state.services


def transmission_fields(daemon, name: str = "seedbox-tr", **overrides) -> dict:
    fields = {
        "name": name,
        "server_type": "transmission",
        "host": daemon.host,
        "port": daemon.port,
        "username": daemon.username,
        "password": daemon.password,
    }
    return {**fields, **overrides}


def rtorrent_scgi_fields(daemon, name: str = "seedbox-rt", **overrides) -> dict:
    fields = {
        "name": name,
        "server_type": "rtorrent",
        "protocol": "scgi",
        "host": daemon.host,
        "port": daemon.scgi_port,
    }
    return {**fields, **overrides}


def rtorrent_http_fields(proxy, name: str = "seedbox-rt-http", **overrides) -> dict:
    fields = {
        "name": name,
        "server_type": "rtorrent",
        "protocol": "http",
        "host": proxy.host,
        "port": proxy.port,
        "username": proxy.username,
        "password": proxy.password,
        "rpc_path": proxy.rpc_path,
    }
    return {**fields, **overrides}


def qbittorrent_fields(daemon, name: str = "seedbox-qb", **overrides) -> dict:
    fields = {
        "name": name,
        "server_type": "qbittorrent",
        "host": daemon.host,
        "port": daemon.port,
        "username": daemon.username,
        "password": daemon.password,
    }
    return {**fields, **overrides}


@pytest.fixture
def alice(api, transmission_clean, rtorrent_clean):
    """Alice with a Transmission and an rTorrent server, both clean."""
    headers = api.user("alice")
    tr = api.add_server(headers, **transmission_fields(transmission_clean))
    rt = api.add_server(headers, **rtorrent_scgi_fields(rtorrent_clean))
    return headers, tr, rt
