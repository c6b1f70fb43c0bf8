"""Writes at the same moment never fail each other (SPEC §5 "never a 500"): a token used by many
requests at once, and a server edited while its poller records its status, in real threads
against the services (the served app's concurrency is in test_hostile_requests)."""

from __future__ import annotations

import threading

import pytest
from pony.orm.core import OptimisticCheckError

from torrentdesk.db import WriteConflict, write_retrying
from torrentdesk.services import servers as server_module
from torrentdesk.services.errors import Conflict
from torrentdesk.services.servers import ServerFields

THREADS = 16


def at_once(*work) -> list[str]:
    """Run each callable in its own thread, released together; the errors they raised."""
    barrier = threading.Barrier(len(work))
    errors: list[str] = []

    def run(job) -> None:
        barrier.wait()
        try:
            job()
        except Exception as exc:  # every failure is the finding
            errors.append(repr(exc)[:200])

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_a_token_used_by_many_requests_at_once_signs_each_in(api):
    user = api.services.users.create("alice", "password-123")
    auth = api.services.auth
    found = []
    for _ in range(20):  # a fresh token each round: every use writes its last-used time
        token = auth.issue_token(user.id)
        errors = at_once(*[lambda t=token: found.append(auth.user_for_token(t))] * THREADS)
        assert errors == []
    assert len(found) == 20 * THREADS and all(u.username == "alice" for u in found)
    [view] = auth.list_tokens(user.id)[-1:]
    assert view.last_used_at is not None


def test_edits_and_status_records_of_one_server_at_once_all_land(api):
    user = api.services.users.create("alice", "password-123")
    servers = api.services.servers
    fields = ServerFields(name="s", server_type="transmission", host="127.0.0.1", port=9)
    server_id = servers.create(user.id, fields).id
    edits = [
        lambda i=i: servers.update(user.id, server_id, {"name": f"edit {i}", "port": 1000 + i})
        for i in range(THREADS)
    ]
    polls = [
        lambda i=i: servers.record_status(server_id, f"failure {i}", "3.00 (bb6b5a062e)")
        for i in range(THREADS)
    ]
    assert at_once(*edits, *polls) == []
    final = servers.get(user.id, server_id)
    assert final.port - 1000 == int(final.name.removeprefix("edit "))  # one edit, whole
    # A server deleted while its poller writes: the status has nowhere to go, and that is fine.
    assert at_once(lambda: servers.delete(user.id, server_id), *polls[:4]) == []


def test_a_write_that_keeps_conflicting_gives_up_with_a_conflict(api, monkeypatch):
    attempts = []

    def always_conflicting():
        attempts.append(1)
        raise OptimisticCheckError("changed meanwhile")

    with pytest.raises(WriteConflict):
        write_retrying(always_conflicting, attempts=3)
    assert len(attempts) == 3
    # The service says so as a 409 would: others changed it; try again.
    user = api.services.users.create("alice", "password-123")
    fields = ServerFields(name="s", server_type="transmission", host="127.0.0.1", port=9)
    server_id = api.services.servers.create(user.id, fields).id
    monkeypatch.setattr(
        server_module, "write_retrying", lambda work: write_retrying(always_conflicting)
    )
    with pytest.raises(Conflict, match="others changed this server at the same moment"):
        api.services.servers.update(user.id, server_id, {"name": "x"})
    headers = api.sign_in("alice")
    response = api.client.put(f"/servers/{server_id}", json={"name": "x"}, headers=headers)
    assert response.status_code == 409
    assert response.json()["detail"] == "others changed this server at the same moment; try again"


def test_a_server_deleted_while_its_edit_is_audited_leaves_the_row_without_server(
    api, monkeypatch
):
    """The audit row of an edit is written after the edit; when the server is deleted between
    the row's lookup of it and the insert (seen in CI as a 500 on PUT /servers/{id}), the row is
    written without its server instead of failing the request."""
    user = api.services.users.create("alice", "password-123")
    servers = api.services.servers
    fields = ServerFields(name="s", server_type="transmission", host="127.0.0.1", port=9)
    server_id = servers.create(user.id, fields).id
    lookup = api.db.TorrentServer.get
    deleted = threading.Event()
    deleters: list[threading.Thread] = []

    def delete() -> None:
        servers.delete(user.id, server_id)
        deleted.set()

    def looked_up_then_deleted(**where):
        found = lookup(**where)
        if not deleters:  # the first lookup only: the delete lands right after it
            deleters.append(threading.Thread(target=delete))
            deleters[0].start()
            # SQLite: the audit write holds the write lock, so the delete waits for it (and
            # this wait runs out); PostgreSQL: the delete commits before the row is inserted.
            deleted.wait(30 if api.db.provider_name == "postgres" else 0.5)
        return found

    monkeypatch.setattr(api.db.TorrentServer, "get", looked_up_then_deleted)
    api.services.audit.record(user.id, "server.edit", True, server_id, detail="changed name")
    deleters[0].join(30)
    monkeypatch.undo()
    assert deleted.is_set()
    [row] = [a for a in api.services.audit.latest(user.id) if a.action == "server.edit"]
    assert (row.ok, row.server_id, row.detail) == (True, None, "changed name")
