"""A fresh torrentdesk API per test: its own data dir, database and services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from torrentdesk.api import install_api
from torrentdesk.db import open_database
from torrentdesk.services import Services, build_services
from torrentdesk.services.secrets import SecretStore

API_TIMEOUT = 2.0  # per-server timeout in these tests: black holes must not slow the suite


@dataclass
class Api:
    client: TestClient
    services: Services
    data_dir: object

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


@pytest.fixture
def api(tmp_path) -> Iterator[Api]:
    data_dir = tmp_path / "data"
    services = build_services(
        open_database(f"sqlite:///{data_dir / 'torrentdesk.sqlite'}"),
        SecretStore(data_dir),
        timeout=API_TIMEOUT,
    )
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)  # as NiceGUI makes its app
    install_api(app, services)
    with TestClient(app) as client:
        yield Api(client, services, data_dir)
    services.close()


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
