"""Audited changes to a user's servers: what the API's /servers routes and the UI's servers
dialog both do (store, drop the pooled client, write the audit row, test and record status)."""

from __future__ import annotations

import asyncio

from .audit import AuditService
from .servers import ServerFields, ServerService, ServerView, TestResult
from .torrents import ClientPool


class ServerAdmin:
    def __init__(self, servers: ServerService, audit: AuditService, pool: ClientPool) -> None:
        self._servers = servers
        self._audit = audit
        self._pool = pool

    def add(self, user_id: int, new: ServerFields, tested: TestResult | None = None) -> ServerView:
        """`tested`: the result of testing these values just before (its status is kept)."""
        view = self._servers.create(user_id, new)
        view = self._keep_test(user_id, view, tested)
        detail = describe(view) + _unreachable(tested)
        self._audit.record(user_id, "server.add", True, view.id, detail=detail)
        return view

    def update(
        self, user_id: int, server_id: str, changes: dict, tested: TestResult | None = None
    ) -> ServerView:
        """Fields left out keep their value; password None keeps it, "" clears it."""
        changes = {k: v for k, v in changes.items() if v is not None}
        view = self._servers.update(user_id, server_id, changes)
        view = self._keep_test(user_id, view, tested)
        self._pool.discard(server_id)
        changed = ", ".join(sorted(changes)) or "nothing"
        detail = f"changed {changed}" + _unreachable(tested)
        self._audit.record(user_id, "server.edit", True, view.id, detail=detail)
        return view

    def delete(self, user_id: int, server_id: str) -> ServerView:
        view = self._servers.delete(user_id, server_id)
        self._pool.discard(server_id)
        self._audit.record(user_id, "server.remove", True, detail=describe(view))
        return view

    async def test(self, user_id: int, server_id: str) -> TestResult:
        connection = await asyncio.to_thread(self._servers.connection, user_id, server_id)
        result = await self._servers.test(connection)
        await asyncio.to_thread(
            self._servers.record_status, server_id, result.error, result.version
        )
        return result

    async def test_draft(
        self, user_id: int, draft: ServerFields, editing: str | None = None
    ) -> TestResult:
        """Test values before they are saved (a form's); nothing is stored. When `editing`,
        a password of None is that server's stored one."""
        connection = await asyncio.to_thread(
            self._servers.draft_connection, user_id, draft, editing
        )
        return await self._servers.test(connection)

    def _keep_test(self, user_id: int, view: ServerView, tested: TestResult | None) -> ServerView:
        if tested is None:
            return view
        self._servers.record_status(view.id, tested.error, tested.version)
        return self._servers.get(user_id, view.id)


def describe(view: ServerView) -> str:
    return f"{view.name} ({view.server_type} {view.protocol}://{view.host}:{view.port})"


def _unreachable(tested: TestResult | None) -> str:
    return "; saved while unreachable" if tested is not None and not tested.ok else ""
