"""The real app on PostgreSQL (SPEC §14): `--db-url postgres://...` creates the schema, serves
the API, and its background poll writes each server's snapshot there (raw SQL)."""

from __future__ import annotations

import httpx
import pytest

from tests.api_fixtures import transmission_fields
from tests.app_process import start_app
from tests.daemons.common import free_port, wait_until
from tests.torrent_factory import make_torrent

pytestmark = [pytest.mark.daemon, pytest.mark.slow]


def test_the_served_app_runs_on_postgres(tmp_path, postgres_cluster, transmission_clean):
    with postgres_cluster.database() as url:
        name = url.rsplit("/", 1)[1]
        app = start_app(tmp_path / "data", "--db-url", url, port=free_port())
        try:
            password = app.admin_password()
            with httpx.Client(base_url=app.base, timeout=30) as http:
                body = {"username": "admin", "password": password}
                token = http.post("/auth/token", json=body).json()["token"]
                headers = {"Authorization": f"Bearer {token}"}
                fields = transmission_fields(transmission_clean, name="on-pg")
                server = http.post("/servers", json=fields, headers=headers)
                assert server.status_code == 201, server.text
                torrent = make_torrent("on postgres.bin")
                uploaded = http.post(
                    f"/torrents/upload?server_id={server.json()['id']}&start=false",
                    files={"file": ("x.torrent", torrent.data)},
                    headers=headers,
                )
                assert uploaded.status_code == 201, uploaded.text
                listing = http.get("/torrents", headers=headers).json()
                assert [t["name"] for t in listing["torrents"]] == ["on postgres.bin"]

            def stored():
                return postgres_cluster.psql("SELECT name FROM torrent", name).split("\n")[0]

            assert wait_until(stored, timeout=30) == "on postgres.bin"  # the snapshot, written
            assert postgres_cluster.psql("SELECT version FROM \"SchemaInfo\"", name).strip()
            assert not (tmp_path / "data" / "torrentdesk.sqlite").exists()
        finally:
            assert app.stop() == 0, app.output()
